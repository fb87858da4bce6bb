"""/logs forget end to end on the local stack: the code, the queued job run by ForgetFunction (moto's SQS,
polled in-process; its archive queries on the local Athena API), the archive rewritten, the receipt by DM on
the fake Discord and in /logs forget receipts."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.adapters.signatures import Signer
from guildlog_tools.local.stack import LocalStack
from tests.fakes import archive_data as data
from tests.fakes import interactions as fx
from tests.fakes.web_guild import post_events
from tests.integration.test_local_interactions import post

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        assert running.keys is not None
        events = [{"t": t, "d": d} for _, batch in data.BATCHES for t, d, _ in batch]
        post_events(running.gateway_events_url, running.keys.relay_private_key, events, datetime.now(UTC))
        # ArchiveFunction writes the accepted batches' archive objects from its queue.
        assert running.drain(timeout=300)
        yield running


def command(stack: LocalStack, *path: str, **options: Any) -> str:
    assert stack.keys is not None
    payload = fx.command(*path, options=options, guild_id=data.GUILD)
    payload["application_id"] = stack.keys.application_id
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", **Signer(stack.keys.discord_private_key).headers(body)}
    status, answer, _ = post(stack.interactions_url, body, headers)
    assert status == 200, answer
    return str(answer["data"]["content"])


def archive_text(stack: LocalStack) -> str:
    s3 = stack.client("s3")
    texts = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=stack.bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            texts.append(gzip.decompress(body).decode() if version["Key"].endswith(".gz") else body.decode())
    return "".join(texts)


def test_forget_erases_the_member_and_sends_the_receipt_when_confirmed_on_the_local_stack(stack: LocalStack) -> None:
    assert stack.discord is not None
    assert "line one" in archive_text(stack)
    first = command(stack, "logs", "forget", "user", member=data.ALICE)
    code = first.split("code:")[1].split("`")[0].strip()

    started = command(stack, "logs", "forget", "user", member=data.ALICE, code=code)
    # ForgetQueue holds the job for 90 s (ingest's tombstone cache), then ForgetFunction runs it: the
    # local archive poller writes at once, so the deployed stack's wait for ArchiveFunction is left out.
    [interactions] = [r for r in stack.routes if r.function_id == "InteractionsFunction"]
    assert interactions.environment["GUILDLOG_ARCHIVE_SETTLE_SECONDS"] == "0"
    messages = stack.discord.wait_for_messages(1, timeout=600)

    assert "Erasure started" in started
    [receipt] = [m for m in messages if m.channel_id == stack.discord.dm_channels.get(fx.MODERATOR)]
    assert "nothing of the member's content or names is left" in receipt.body["content"]
    # ForgetFunction asked the local stack's Athena API (DuckDB) for the days and the verification.
    assert "Archive query over events and events_csv (query " in receipt.body["content"]
    assert "0 of the member's rows still hold content or a name" in receipt.body["content"]
    text = archive_text(stack)
    assert "line one" not in text and "old news" not in text and "spam spam" in text
    assert "archive lines" in command(stack, "logs", "forget", "receipts")
