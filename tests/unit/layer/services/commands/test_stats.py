"""guildlog.services.commands.stats: activity from the daily counters, never a scan."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from guildlog.errors import CommandError
from guildlog.services.commands import stats
from guildlog.services.commands.context import Ports
from guildlog.services.keys import day_pk
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import NOW, call_of, row


def activity(table: MemoryTable) -> None:
    table.add_rows(
        [
            row(event_id="a", occurred_at="2026-11-20T09:00:00.000Z"),
            row(event_id="b", occurred_at="2026-11-20T09:01:00.000Z"),
            row(event_id="c", occurred_at="2026-11-19T09:00:00.000Z", user_id=fx.STRANGER, channel_id=fx.OTHER_CHANNEL),
            row(event_id="d", occurred_at="2026-11-01T09:00:00.000Z"),
            row(event_id="e", occurred_at="2026-11-20T09:02:00.000Z", category="member", action="join", content=None),
            row(
                event_id="f",
                occurred_at="2026-11-20T09:03:00.000Z",
                event_type="GUILD_AUDIT_LOG_ENTRY_CREATE",
                category="moderation",
                action="member_kick",
                actor_id=fx.MODERATOR,
                user_id=None,
                content=None,
            ),
            row(
                event_id="g",
                occurred_at="2026-11-20T09:04:00.000Z",
                event_type="INTERACTION_CREATE",
                category="command",
                action="command",
                content=None,
                details=json.dumps({"command": "/logs search"}),
            ),
        ]
    )


def ask(ports: Ports, **options: object) -> str:
    kwargs = {k: options.pop(k) for k in ("by", "permissions", "not_members") if k in options}
    return stats.run(call_of(fx.command("stats", options=options, **kwargs)), ports).content


@pytest.mark.parametrize(
    ("period", "first", "count"), [("24h", "2026-11-19", 2), ("7d", "2026-11-14", 7), ("30d", "2026-10-22", 30)]
)
def test_days_of_covers_whole_utc_days_ending_today_when_a_period_is_given(period: str, first: str, count: int) -> None:
    days = stats.days_of(period, datetime(2026, 11, 20, 23, 59, tzinfo=UTC))
    assert (days[0], days[-1], len(days)) == (first, "2026-11-20", count)


def test_stats_sums_the_periods_counters_when_asked_for_the_server(table: MemoryTable, ports: Ports) -> None:
    activity(table)

    content = ask(ports, period="7d")

    assert "**Messages** 3" in content
    assert f"<#{fx.CHANNEL}> 2 · <#{fx.OTHER_CHANNEL}> 1" in content
    assert f"<@{fx.MEMBER}> 2 · <@{fx.STRANGER}> 1" in content
    assert "1 joined" in content
    assert f"1 actions · by <@{fx.MODERATOR}> 1" in content
    assert "`/logs search` 1" in content


def test_stats_reads_one_query_per_day_and_nothing_else_when_summing(table: MemoryTable, ports: Ports) -> None:
    activity(table)

    ask(ports, period="30d")

    assert table.gets == 0
    assert sorted(q["pk"] for q in table.queries) == [day_pk(fx.GUILD, day) for day in stats.days_of("30d", NOW)]


def test_stats_sums_every_batchs_delta_when_a_day_has_several(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id="a", occurred_at="2026-11-20T09:00:00.000Z")], batch_id="b1")
    table.add_rows([row(event_id="b", occurred_at="2026-11-20T09:01:00.000Z")], batch_id="b2")

    content = ask(ports, period="24h")

    assert "**Messages** 2" in content
    assert f"<@{fx.MEMBER}> 2" in content


def test_stats_counts_a_day_kept_in_the_older_total_and_member_items_when_the_stack_predates_deltas(
    table: MemoryTable, ports: Ports
) -> None:
    pk = day_pk(fx.GUILD, "2026-11-20")
    table.put({"PK": pk, "SK": "TOTAL", "messages": 3, f"c#{fx.CHANNEL}": 3, "k#message": 3})
    table.put({"PK": pk, "SK": f"U#{fx.MEMBER}", "messages": 3})

    content = ask(ports, period="24h")

    assert "**Messages** 3" in content
    assert f"<@{fx.MEMBER}> 3" in content


def test_stats_leaves_out_days_before_the_period_when_summing(table: MemoryTable, ports: Ports) -> None:
    activity(table)

    assert "**Messages** 3" in ask(ports, period="24h")
    assert "**Messages** 4" in ask(ports, period="30d")


def test_stats_shows_one_members_messages_when_a_user_is_given(table: MemoryTable, ports: Ports) -> None:
    activity(table)

    content = ask(ports, period="7d", user=fx.MEMBER)

    assert "**Messages** 2" in content
    assert "11-20: 2" in content


def test_stats_counts_a_moderators_actions_when_the_user_moderates(table: MemoryTable, ports: Ports) -> None:
    activity(table)

    assert "Moderation actions taken** 1" in ask(ports, user=fx.MODERATOR)


def test_stats_needs_manage_server_when_the_user_is_someone_else(ports: Ports) -> None:
    with pytest.raises(CommandError, match="Manage Server"):
        ask(ports, user=fx.STRANGER, by=fx.MEMBER, permissions=fx.EVERYONE)


def test_stats_refuses_when_the_user_is_not_a_member_and_never_counted_here(ports: Ports) -> None:
    with pytest.raises(CommandError, match="not a member"):
        ask(ports, user=fx.STRANGER, not_members=[fx.STRANGER])


def test_stats_says_nothing_was_logged_when_the_counters_are_empty(ports: Ports) -> None:
    assert "Nothing was logged" in ask(ports)


def test_stats_defaults_to_seven_days_when_no_period_is_given(table: MemoryTable, ports: Ports) -> None:
    assert "Activity · 7d" in ask(ports)
    assert NOW.date().isoformat() in ask(ports)
