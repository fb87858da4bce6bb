"""Attachment copies on the local stack: relay batch → IngestFunction → AttachmentCopyQueue →
AttachmentCopyFunction → the fake Discord's CDN → the archive bucket and the copy's record."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.services import keys
from guildlog.services.attachments import ATTEMPTS, MB, object_key
from guildlog_tools.fakes.discord_rest import Scripted
from guildlog_tools.local.stack import LocalStack
from tests.integration.test_local_stack import post, signed_headers

pytestmark = pytest.mark.integration

CHANNEL = "910000000000000010"
AUTHOR = "910000000000000100"
MOMENT = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
WAIT_S = 120
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        yield running


def snowflake() -> str:
    return str(((int(MOMENT.timestamp() * 1000) - 1_420_070_400_000) << 22) + next(_numbers))


def configure(stack: LocalStack, guild: str, **fields: Any) -> None:
    item = {"PK": {"S": keys.guild_pk(guild)}, "SK": {"S": keys.CONFIG_SK}}
    for name, value in fields.items():
        item[name] = {"BOOL": value} if isinstance(value, bool) else {"N": str(value)}
    stack.client("dynamodb").put_item(TableName=stack.table, Item=item)


def send_message(stack: LocalStack, guild: str, attachment: dict[str, Any]) -> str:
    message = snowflake()
    at = MOMENT.isoformat().replace("+00:00", "Z")
    event = {
        "t": "MESSAGE_CREATE",
        "seq": int(message) % 1_000_000,
        "received_at": at,
        "d": {
            "id": message,
            "channel_id": CHANNEL,
            "guild_id": guild,
            "content": "look at this",
            "author": {"id": AUTHOR, "username": "ada"},
            "timestamp": at,
            "attachments": [attachment],
        },
    }
    envelope = {"v": 1, "batch_id": f"b-{message}", "relay": {"shard": [0, 1], "session_id": "s"}, "events": [event]}
    raw = gzip.compress(json.dumps(envelope).encode("utf-8"))
    assert stack.keys is not None
    status, _ = post(stack.gateway_events_url, raw, signed_headers(stack.keys.relay_private_key, raw))
    assert status == 200
    assert stack.sqs_poller is not None and stack.sqs_poller.wait_idle(WAIT_S)
    return message


def cdn_file(stack: LocalStack, name: str, body: bytes, content_type: str = "image/png") -> dict[str, Any]:
    """A file on the fake CDN, and the attachment object Discord would send for it (a cdn.discordapp.com URL)."""
    assert stack.discord is not None
    attachment_id = snowflake()
    path = f"/attachments/{CHANNEL}/{attachment_id}/{name}"
    stack.discord.add_file(path, body, content_type)
    return {
        "id": attachment_id,
        "filename": name,
        "size": len(body),
        "content_type": content_type,
        "url": f"https://cdn.discordapp.com{path}?ex=1&is=2&hm=3",
        "proxy_url": f"https://media.discordapp.net{path}",
    }


def copy_record(stack: LocalStack, message: str, attachment_id: str) -> dict[str, Any] | None:
    answer = stack.client("dynamodb").get_item(
        TableName=stack.table,
        Key={"PK": {"S": keys.message_pk(message)}, "SK": {"S": keys.attachment_sk(attachment_id)}},
    )
    item = answer.get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def stored(stack: LocalStack, guild: str) -> list[str]:
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix=f"attachments/guild={guild}/")
    return [entry["Key"] for entry in listed.get("Contents", [])]


def cdn_requests(stack: LocalStack, attachment_id: str) -> int:
    assert stack.discord is not None
    return sum(1 for r in stack.discord.requests if attachment_id in r.path)


def test_attachment_copy_stores_the_file_with_its_content_type_when_a_message_arrives(stack: LocalStack) -> None:
    guild = "910000000000000001"
    attachment = cdn_file(stack, "cat.png", PNG)

    message = send_message(stack, guild, attachment)

    key = object_key(guild, message, attachment["id"], "cat.png")
    obj = stack.client("s3").get_object(Bucket=stack.bucket, Key=key)
    assert (obj["ContentType"], obj["Body"].read()) == ("image/png", PNG)
    record = copy_record(stack, message, attachment["id"])
    assert record is not None and (record["status"], record["key"]) == ("copied", key)


def test_attachment_copy_records_the_cap_and_stores_nothing_when_the_file_is_over_it(stack: LocalStack) -> None:
    guild = "910000000000000002"
    configure(stack, guild, attachments_max_mb=1)
    attachment = cdn_file(stack, "big.bin", b"x" * (MB + 1), "application/octet-stream")

    message = send_message(stack, guild, attachment)

    record = copy_record(stack, message, attachment["id"])
    assert record is not None and record["status"] == "failed" and "1 MB cap" in record["reason"]
    assert stored(stack, guild) == [] and cdn_requests(stack, attachment["id"]) == 0


def test_attachment_copy_stops_at_the_cap_when_the_file_is_larger_than_discord_said(stack: LocalStack) -> None:
    guild = "910000000000000003"
    configure(stack, guild, attachments_max_mb=1)
    attachment = {**cdn_file(stack, "liar.bin", b"y" * (MB + 10), "application/octet-stream"), "size": 10}

    message = send_message(stack, guild, attachment)

    record = copy_record(stack, message, attachment["id"])
    assert record is not None and record["status"] == "failed" and "1 MB cap" in record["reason"]
    assert stored(stack, guild) == []


def test_attachment_copy_copies_nothing_when_the_server_switched_copies_off(stack: LocalStack) -> None:
    guild = "910000000000000004"
    configure(stack, guild, attachments_copy=False)
    attachment = cdn_file(stack, "private.png", PNG)

    message = send_message(stack, guild, attachment)

    assert stored(stack, guild) == [] and copy_record(stack, message, attachment["id"]) is None
    assert cdn_requests(stack, attachment["id"]) == 0


@pytest.mark.parametrize("status", [404, 503])
def test_attachment_copy_retries_then_records_the_failure_when_the_cdn_keeps_failing(
    stack: LocalStack, status: int
) -> None:
    assert stack.discord is not None
    guild = "910000000000000005"
    attachment = cdn_file(stack, f"gone-{status}.png", PNG)
    stack.discord.script(Scripted(f"GET /cdn/attachments/.*/{attachment['id']}/.*", status, times=ATTEMPTS))

    message = send_message(stack, guild, attachment)

    record = copy_record(stack, message, attachment["id"])
    assert record is not None and record["status"] == "failed" and f"answered {status}" in record["reason"]
    assert cdn_requests(stack, attachment["id"]) == ATTEMPTS
    assert stored(stack, guild) == []


def test_attachment_copy_succeeds_on_a_retry_when_the_cdn_fails_once(stack: LocalStack) -> None:
    assert stack.discord is not None
    guild = "910000000000000006"
    attachment = cdn_file(stack, "flaky.png", PNG)
    stack.discord.script(Scripted(f"GET /cdn/attachments/.*/{attachment['id']}/.*", 500, times=1))

    message = send_message(stack, guild, attachment)

    record = copy_record(stack, message, attachment["id"])
    assert record is not None and record["status"] == "copied"
    assert cdn_requests(stack, attachment["id"]) == 2
