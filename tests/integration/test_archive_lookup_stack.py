"""`/logs message` on the local stack for a message only the archive holds: deferred, looked up by
WorkerFunction through the local Athena API (DuckDB over moto's S3), answered by a follow-up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.signatures import Signer
from guildlog.services.commands import protocol as p
from guildlog_tools.local.stack import LocalStack
from tests.fakes import archive_data as data
from tests.fakes import interactions as fx
from tests.integration.test_local_interactions import post

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        # Only the archive holds this history: the hot table never saw it (as after its retention).
        data.ingest(S3Archive(running.bucket, running.client("s3")))
        yield running


def ask(stack: LocalStack, message_id: str) -> tuple[dict[str, Any], str]:
    assert stack.keys is not None and stack.discord is not None
    payload = fx.command(
        "logs", "message", options={"message": message_id}, guild_id=data.GUILD, interaction_id=fx.snowflake()
    )
    payload["application_id"] = stack.keys.application_id
    body = json.dumps(payload).encode("utf-8")
    before = len(stack.discord.edits)
    headers = {"Content-Type": "application/json", **Signer(stack.keys.discord_private_key).headers(body)}
    _, answer, _ = post(stack.interactions_url, body, headers)
    edits = stack.discord.wait_for_edits(before + 1)
    [edit] = [e for e in edits[before:] if e.token == payload["token"]]
    return answer, str(edit.body["content"])


def test_local_stack_answers_from_the_archive_when_the_hot_table_lacks_the_message(stack: LocalStack) -> None:
    answer, content = ask(stack, data.M1)

    assert answer["type"] == p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert content.index("hello") < content.index("hello, world!")
    assert "from the archive (2026-11-19 and 2026-11-20)" in content and "**deleted**" in content


def test_local_stack_says_where_it_looked_when_the_archive_lacks_the_message_too(stack: LocalStack) -> None:
    unknown = data.snowflake("2026-11-19T12:00:00.000Z", 9)

    _, content = ask(stack, unknown)

    assert "not in the hot store nor in the archive for 2026-11-19 and 2026-11-20" in content
