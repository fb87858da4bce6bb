"""guildlog.services.commands.status: the relay's shards, today's events, the retention in force."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from guildlog.services.commands import status
from guildlog.services.commands.context import Ports
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import NOW, call_of, row


def relay(action: str, event_type: str, at: str, shard: int = 0) -> object:
    return row(
        event_id=f"relay:{action}-{shard}-{at}",
        source="relay",
        event_type=event_type,
        category="relay",
        action=action,
        occurred_at=at,
        shard_id=shard,
        guild_id=None,
        channel_id=None,
        user_id=None,
        message_id=None,
        content=None,
        details=json.dumps({"shard": [shard, 2]}),
    )


def ask(ports: Ports) -> str:
    return status.run(call_of(fx.command("logs", "status")), ports).content


def test_status_reports_each_shard_seen_this_week_when_the_relay_is_running(table: MemoryTable, ports: Ports) -> None:
    table.add_rows(
        [
            relay("connect", "GUILDLOG_CONNECT", iso(NOW - timedelta(hours=20))),
            relay("resume", "GUILDLOG_RESUME", iso(NOW - timedelta(hours=3))),
            relay("gap", "GUILDLOG_GAP", iso(NOW - timedelta(hours=2))),
            relay("heartbeat", "GUILDLOG_HEARTBEAT", iso(NOW - timedelta(minutes=1))),
            relay("heartbeat", "GUILDLOG_HEARTBEAT", iso(NOW - timedelta(days=3)), shard=1),
            relay("resume", "GUILDLOG_RESUME", iso(NOW - timedelta(days=2)), shard=1),
        ]
    )

    content = ask(ports)

    shard0, shard1 = (line for line in content.splitlines() if line.startswith(("shard", "⚠️")) or "shard" in line[:10])
    assert "shard 0:" in shard0 and "(heartbeat)" in shard0 and "1 resume, 1 gap" in shard0
    assert "⚠️" not in shard0.split("·")[0]
    assert "shard 1:" in shard1 and "⚠️ last contact" in shard1 and "0 resumes, 0 gaps" in shard1


def test_status_counts_this_servers_events_of_the_last_hour_when_they_are_in_its_feed(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows(
        [row(event_id=f"gw:s:{n}", occurred_at=iso(NOW - timedelta(minutes=n * 7))) for n in range(12)]
        + [relay("heartbeat", "GUILDLOG_HEARTBEAT", iso(NOW))]
    )

    content = ask(ports)

    # Messages 0..56 minutes old (9); the relay's heartbeat belongs to no server, 63 minutes and
    # older are past the hour.
    assert "**This server** 9 events in the last hour" in content


def test_status_says_the_relay_is_silent_when_no_shard_was_seen_this_week(ports: Ports) -> None:
    assert "No relay contact in the last 7 days" in ask(ports)


def test_status_shows_todays_events_by_category_when_counted(table: MemoryTable, ports: Ports) -> None:
    table.add_rows(
        [
            row(event_id="a", occurred_at=iso(NOW - timedelta(hours=1))),
            row(event_id="b", occurred_at=iso(NOW - timedelta(hours=1, minutes=1))),
            row(
                event_id="c", occurred_at=iso(NOW - timedelta(hours=1)), category="voice", action="state", content=None
            ),
            row(event_id="d", occurred_at=iso(NOW - timedelta(days=1))),
        ]
    )

    assert "message 2 · voice 1" in ask(ports)


def test_status_shows_the_servers_retention_when_configured(table: MemoryTable, ports: Ports) -> None:
    assert "30 days (the stack's default)" in ask(ports)
    table.update_config(fx.GUILD, actor_id=fx.MODERATOR, at=iso(NOW), set_fields={"retention_days": 90})

    assert "90 days (this server's setting)" in ask(ports)


def test_status_says_more_than_a_page_when_the_last_hour_fills_one(
    table: MemoryTable, ports: Ports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status, "LAST_HOUR_LIMIT", 3)
    table.add_rows([row(event_id=f"gw:s:{n}", occurred_at=iso(NOW - timedelta(minutes=n))) for n in range(4)])

    assert "**This server** 3+ events in the last hour" in ask(ports)


def test_status_counts_events_not_recorded_today_when_private_channels_spoke(table: MemoryTable, ports: Ports) -> None:
    from guildlog.services import keys

    day = NOW.date().isoformat()
    table.put({"PK": keys.day_pk(fx.GUILD, day), "SK": "B#b1#unrecorded", "kind": "counter_delta", "unrecorded": 4})

    assert "**Not recorded today** 4 events" in ask(ports)


def test_status_says_what_the_archive_keeps_when_the_server_chose_content_only(
    table: MemoryTable, ports: Ports
) -> None:
    table.update_config(
        fx.GUILD, actor_id=fx.MODERATOR, at=iso(NOW), set_fields={"retention_days": 7, "archive_mode": "content-only"}
    )

    assert "archive: content older than 7 days is removed nightly" in ask(ports)
