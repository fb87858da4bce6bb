"""The moderation log on the local stack: relay batch → IngestFunction → SQS FIFO → NotifyFunction → fake Discord."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from guildlog.errors import ConfigurationError
from guildlog_tools.fakes.discord_rest import FakeDiscordRest, Posted
from guildlog_tools.local.stack import LocalStack
from tests.integration.test_local_stack import post, signed_headers

pytestmark = pytest.mark.integration

GUILD = "900000000000000001"
LOG = "900000000000000020"
CHAT = "900000000000000010"
AUTHOR = "900000000000000100"
MOMENT = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
WAIT_S = 120  # an upper bound on a busy machine, never a wait


def configure(stack: LocalStack) -> None:
    stack.client("dynamodb").put_item(
        TableName=stack.table,
        Item={"PK": {"S": f"G#{GUILD}"}, "SK": {"S": "CONFIG"}, "log_channel_id": {"S": LOG}},
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "state" / "dev.json") as running:
        configure(running)
        yield running


def at(seconds: int) -> str:
    return (MOMENT + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def message_id(n: int) -> str:
    return str(((int(MOMENT.timestamp() * 1000) - 1_420_070_400_000) << 22) + n)


def events() -> list[dict[str, Any]]:
    created = {
        "t": "MESSAGE_CREATE",
        "seq": 1,
        "received_at": at(0),
        "d": {
            "id": message_id(1),
            "channel_id": CHAT,
            "guild_id": GUILD,
            "content": "rude words @everyone",
            "author": {"id": AUTHOR, "username": "ada"},
            "timestamp": at(0),
        },
    }
    deleted = {
        "t": "MESSAGE_DELETE",
        "seq": 2,
        "received_at": at(5),
        "d": {"id": message_id(1), "channel_id": CHAT, "guild_id": GUILD},
    }
    joins = [
        {
            "t": "GUILD_MEMBER_ADD",
            "seq": 3 + n,
            "received_at": at(6 + n),
            "d": {
                "guild_id": GUILD,
                "joined_at": at(6 + n),
                "user": {"id": str(int(AUTHOR) + 1 + n), "username": f"m{n}"},
            },
        }
        for n in range(3)
    ]
    return [created, deleted, *joins]


# What the log posts for events(), in one message or more: the queue may hand a batch's rows over
# in two receives (one while ingest is still queueing the rest), and each receive is a message.
POSTED = [(LOG, "Message deleted")] + [(LOG, "Member joined")] * 3


def leave() -> dict[str, Any]:
    """A later event of the guild: once its post is out, the log has dealt with everything queued before it."""
    return {
        "t": "GUILD_MEMBER_REMOVE",
        "seq": 10,
        "received_at": at(30),
        "d": {"guild_id": GUILD, "user": {"id": str(int(AUTHOR) + 1), "username": "m0"}},
    }


def send(stack: LocalStack, batch_id: str, batch: list[dict[str, Any]] | None = None) -> None:
    envelope = {
        "v": 1,
        "batch_id": batch_id,
        "relay": {"shard": [0, 1], "session_id": "sess-log"},
        "events": events() if batch is None else batch,
    }
    raw = gzip.compress(json.dumps(envelope).encode("utf-8"))
    assert stack.keys is not None
    status, _ = post(stack.gateway_events_url, raw, signed_headers(stack.keys.relay_private_key, raw))
    assert status == 200


def entries(messages: list[Posted]) -> list[tuple[str, str]]:
    """(channel, title) of every post, in order, however the posts were grouped into messages."""
    return [(m.channel_id, e["title"]) for m in messages for e in m.body["embeds"]]


def test_local_stack_posts_the_log_once_in_order_when_a_batch_is_sent_twice(stack: LocalStack) -> None:
    assert stack.discord is not None and stack.sqs_poller is not None

    send(stack, "log-batch-1")
    stack.discord.wait_for_embeds(len(POSTED), timeout=WAIT_S)
    assert stack.sqs_poller.wait_idle(WAIT_S)  # the first delivery is over before the retry
    send(stack, "log-batch-1")  # the relay's retry of the same batch
    send(stack, "log-batch-2", [leave()])  # queued behind the retry, in the guild's FIFO group
    stack.discord.wait_for_embeds(len(POSTED) + 1, timeout=WAIT_S)
    assert stack.sqs_poller.wait_idle(WAIT_S)

    messages = stack.discord.messages
    assert entries(messages) == [*POSTED, (LOG, "Member left")]
    assert messages[0].body["embeds"][0]["description"] == "rude words @everyone"
    assert all(m.body["allowed_mentions"] == {"parse": []} for m in messages)


def test_local_stack_posts_to_the_given_discord_when_discord_api_base_is_set(tmp_path: Path) -> None:
    with (
        FakeDiscordRest(bot_token=None, application_id=None) as elsewhere,
        LocalStack(dev_file=tmp_path / "dev.json", discord_api_base=elsewhere.api_base) as stack,
    ):
        configure(stack)
        send(stack, "log-batch-elsewhere")

        assert entries(elsewhere.wait_for_embeds(len(POSTED), timeout=WAIT_S)) == POSTED
        assert stack.discord is None


def test_local_stack_reads_discord_api_base_from_the_dev_file_when_no_argument_is_given(tmp_path: Path) -> None:
    dev_file = tmp_path / "dev.json"
    with LocalStack(dev_file=dev_file):
        pass  # the first start writes the dev keys
    with FakeDiscordRest(bot_token=None, application_id=None) as elsewhere:
        data = json.loads(dev_file.read_text())
        dev_file.write_text(json.dumps({**data, "discord_api_base": elsewhere.api_base}))
        with LocalStack(dev_file=dev_file) as stack:
            configure(stack)
            send(stack, "log-batch-from-file")

            assert entries(elsewhere.wait_for_embeds(len(POSTED), timeout=WAIT_S)) == POSTED
        assert json.loads(dev_file.read_text())["discord_api_base"] == elsewhere.api_base


def test_local_stack_refuses_to_start_when_the_discord_api_base_is_not_a_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        LocalStack(dev_file=tmp_path / "dev.json", discord_api_base="discord.example").start()
