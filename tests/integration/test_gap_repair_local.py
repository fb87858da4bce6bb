"""Gap repair and backfill on the local stack: a relay gap → IngestFunction → GapRepairQueue → GapRepairFunction
→ the fake Discord's history → rows and a repair record; and `guildlog backfill --local` into the same stack."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from guildlog.services import keys
from guildlog.services.timefmt import iso
from guildlog_tools.cli import main
from guildlog_tools.local.stack import LocalStack
from tests.fakes.discord_history import history
from tests.integration.test_local_stack import post, signed_headers

pytestmark = pytest.mark.integration

GUILD = "900000000000000001"
CHANNEL = "900000000000000010"
SINCE = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
UNTIL = SINCE + timedelta(minutes=5)
WAIT_S = 120
_deserialize = TypeDeserializer().deserialize


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "state" / "dev.json") as running:
        assert running.discord is not None
        running.discord.history.add_channel(GUILD, CHANNEL)
        # 40 messages a minute apart: 10 before the gap, 6 inside [since, until], the rest after.
        running.discord.history.add_messages(
            CHANNEL, history(CHANNEL, SINCE - timedelta(minutes=10), 40, every=timedelta(minutes=1))
        )
        yield running


def send_gap(stack: LocalStack) -> None:
    gap = {
        "t": "GUILDLOG_GAP",
        "source": "relay",
        "id": "gap-0-sess-7-42",
        "shard": [0, 1],
        "received_at": iso(SINCE),
        "d": {
            "shard": [0, 1],
            "session_id": "sess-7",
            "last_seq": 41,
            "from_seq": 42,
            "to_seq": None,
            "since": iso(SINCE),
            "until": iso(UNTIL),
            "reason": "session_expired",
        },
    }
    envelope = {"v": 1, "batch_id": "relay-gap-1", "relay": {"shard": [0, 1]}, "events": [gap]}
    raw = gzip.compress(json.dumps(envelope).encode("utf-8"))
    assert stack.keys is not None
    status, _ = post(stack.gateway_events_url, raw, signed_headers(stack.keys.relay_private_key, raw))
    assert status == 200


def repair_record(stack: LocalStack) -> dict[str, Any] | None:
    key = {"PK": {"S": keys.relay_pk(0)}, "SK": {"S": keys.repair_sk(iso(SINCE), "relay:gap-0-sess-7-42")}}
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key=key, ConsistentRead=True).get("Item")
    return {k: _deserialize(v) for k, v in item.items()} if item else None


def backfilled_messages(stack: LocalStack) -> list[dict[str, Any]]:
    answer = stack.client("dynamodb").query(
        TableName=stack.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.guild_pk(GUILD)}},
    )
    items = [{k: _deserialize(v) for k, v in item.items()} for item in answer["Items"]]
    return [i for i in items if str(i.get("batch_id", "")).startswith("backfill-")]


def wait_until(condition: Any, timeout: float = WAIT_S) -> Any:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    return condition()


def test_local_stack_repairs_a_gap_when_the_relay_reports_one(stack: LocalStack) -> None:
    send_gap(stack)

    record = wait_until(lambda: (r := repair_record(stack)) is not None and r.get("state") != "open" and r)

    assert record and record["state"] == "repaired" and record["recovered"] == 6
    assert record["recovered_by_guild"] == {GUILD: 6}
    assert "edits and deletions" in record["not_recoverable"]
    rows = backfilled_messages(stack)
    assert len(rows) == 6 and all(
        SINCE <= datetime.fromisoformat(r["occurred_at"].replace("Z", "+00:00")) <= UNTIL for r in rows
    )


def test_backfill_command_writes_the_guilds_history_into_the_local_stack_when_run_twice(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [
        "backfill",
        "--guild",
        GUILD,
        "--local",
        "--dev-file",
        str(stack.dev_file),
        "--state-dir",
        str(tmp_path / "state"),
        "--no-progress",
    ]

    first = main(command)
    printed = capsys.readouterr().out
    again = main(command)

    assert first == 0 and again == 0
    assert "40 messages fetched, 40 new" in printed
    assert "finished by an earlier run" in capsys.readouterr().out
    assert len(backfilled_messages(stack)) == 40
