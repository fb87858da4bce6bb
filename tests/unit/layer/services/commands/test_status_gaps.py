"""`/logs status`'s gap section (services/commands/status_gaps.py): open and repaired gaps, this server's recovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from guildlog.services import keys
from guildlog.services.commands.context import Ports
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import NOW
from tests.unit.layer.services.commands.test_status import ask, relay

OTHER_GUILD = "300000000000000009"


def record(table: MemoryTable, hours_ago: float, state: str, recovered: dict[str, int], shard: int = 0) -> str:
    since = iso(NOW - timedelta(hours=hours_ago))
    item: dict[str, Any] = {
        "PK": keys.relay_pk(shard),
        "SK": keys.repair_sk(since, f"relay:gap-{shard}-{hours_ago}"),
        "kind": "gap_repair",
        "state": state,
        "since": since,
        "until": iso(NOW - timedelta(hours=hours_ago) + timedelta(minutes=3)),
        "recovered_by_guild": recovered,
    }
    table.put(item)
    return since


def gap_section(content: str) -> list[str]:
    lines = content.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("**Gaps**"))
    return lines[start:]


def test_status_counts_open_and_repaired_gaps_when_the_shards_have_repair_records(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows([relay("heartbeat", "GUILDLOG_HEARTBEAT", iso(NOW - timedelta(minutes=1)))])
    record(table, 2, "repaired", {fx.GUILD: 7, OTHER_GUILD: 40})
    record(table, 5, "open", {})
    record(table, 30, "partly repaired", {fx.GUILD: 1})
    record(table, 24 * 9, "repaired", {fx.GUILD: 99})  # older than the week shown

    section = gap_section(ask(ports))

    assert section[0] == "**Gaps** (last 7 days): 1 open, 2 repaired"
    assert "repaired, 7 messages recovered here" in section[1]
    assert "40" not in section[1]  # another server's count is not this server's business
    assert "open" in section[2] and "partly repaired, 1 message recovered here" in section[3]
    assert "edits, deletions, reactions and member changes" in section[4]


def test_status_shows_no_gap_section_when_no_gap_was_repaired(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([relay("heartbeat", "GUILDLOG_HEARTBEAT", iso(NOW - timedelta(minutes=1)))])

    assert "**Gaps**" not in ask(ports)
