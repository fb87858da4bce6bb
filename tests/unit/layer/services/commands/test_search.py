"""guildlog.services.commands.search: newest first, ten a page, paging that neither repeats nor skips."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.commands import search
from guildlog.services.commands.context import Ports, Reply
from guildlog.services.feed_shards import Epoch, ShardPlan
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of, name_in_directory, row

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def messages(table: MemoryTable, count: int, *, same_ms_every: int = 0, **fields: Any) -> list[str]:
    """`count` messages a second apart (`same_ms_every` share a millisecond); their event ids, newest first."""
    rows = []
    for n in range(count):
        step = n // same_ms_every if same_ms_every else n
        at = iso(START + timedelta(seconds=step))
        content = f"message {n} {fields.get('content', '')}".strip()
        rows.append(row(**{**fields, "event_id": f"gw:s:{n:04d}", "occurred_at": at, "content": content}))
    table.add_rows(rows)
    return [r.event_id for r in sorted(rows, key=lambda r: (r.occurred_at, r.event_id), reverse=True)]


def shown(reply: Reply) -> list[str]:
    return re.findall(r"message (\d+)", reply.content)


def button(reply: Reply, label: str) -> dict[str, Any]:
    [row_] = reply.components
    [found] = [b for b in row_["components"] if b["label"] == label]
    return found


def click(ports: Ports, reply: Reply, label: str, **kwargs: Any) -> Reply:
    custom_id = button(reply, label)["custom_id"]
    return search.page(call_of(fx.click(custom_id, **kwargs)), ports, custom_id)


def run(ports: Ports, **options: Any) -> Reply:
    kwargs = {k: options.pop(k) for k in ("by", "permissions", "not_members", "channel_guilds") if k in options}
    return search.run(call_of(fx.command("logs", "search", options=options, **kwargs)), ports)


def test_search_shows_the_newest_ten_first_when_more_are_logged(table: MemoryTable, ports: Ports) -> None:
    messages(table, 25)

    reply = run(ports)

    assert shown(reply) == [str(n) for n in range(24, 14, -1)]
    assert button(reply, "Older")["disabled"] is False
    assert button(reply, "Newer")["disabled"] is True
    assert "page 1" in reply.content


@pytest.mark.parametrize("same_ms_every", [0, 3, 7])
def test_older_pages_show_every_event_once_when_clicked_through(
    table: MemoryTable, ports: Ports, same_ms_every: int
) -> None:
    expected = messages(table, 47, same_ms_every=same_ms_every)
    seen: list[str] = []
    reply = run(ports)
    pages = 1
    while True:
        seen.extend(re.findall(r"message (\d+)", reply.content))
        if button(reply, "Older")["disabled"]:
            break
        reply = click(ports, reply, "Older")
        pages += 1
        assert f"page {pages}" in reply.content

    assert seen == [e.rsplit(":", 1)[1].lstrip("0") or "0" for e in expected]
    assert pages == 5


def test_newer_goes_back_to_exactly_the_previous_page_when_clicked(table: MemoryTable, ports: Ports) -> None:
    messages(table, 35, same_ms_every=4)
    first = run(ports)
    second = click(ports, first, "Older")
    third = click(ports, second, "Older")

    back = click(ports, third, "Newer")
    top = click(ports, back, "Newer")

    assert shown(back) == shown(second)
    assert shown(top) == shown(first)
    assert "page 1" in top.content
    assert button(top, "Newer")["disabled"] is True


@pytest.mark.parametrize(
    ("options", "index", "pk"),
    [
        ({"user": fx.MEMBER}, "GSI1", keys.member_index_pk(fx.GUILD, fx.MEMBER)),
        ({"channel": fx.CHANNEL}, "GSI2", keys.channel_index_pk(fx.GUILD, fx.CHANNEL)),
        ({"category": "message"}, None, keys.guild_pk(fx.GUILD)),
        ({"category": "voice"}, "GSI3", keys.category_index_pk(fx.GUILD, "voice")),
        (
            {"user": fx.MEMBER, "channel": fx.CHANNEL, "category": "message"},
            "GSI1",
            keys.member_index_pk(fx.GUILD, fx.MEMBER),
        ),
        ({}, None, keys.guild_pk(fx.GUILD)),
    ],
)
def test_search_queries_the_most_selective_index_when_filters_are_given(
    table: MemoryTable, ports: Ports, options: dict[str, Any], index: str | None, pk: str
) -> None:
    messages(table, 3)

    run(ports, **options)

    assert (table.queries[-1]["index"], table.queries[-1]["pk"]) == (index, pk)


def test_search_keeps_only_matching_events_when_filters_combine(table: MemoryTable, ports: Ports) -> None:
    messages(table, 5)
    messages_elsewhere = [
        row(
            event_id="gw:s:x1",
            occurred_at="2026-11-20T09:30:00.000Z",
            channel_id=fx.OTHER_CHANNEL,
            content="message 900",
        ),
        row(event_id="gw:s:x2", occurred_at="2026-11-20T09:31:00.000Z", content="MESSAGE 901 Needle"),
        row(event_id="gw:s:x3", occurred_at="2026-11-20T09:32:00.000Z", category="member", action="join", content=None),
    ]
    table.add_rows(messages_elsewhere)

    reply = run(ports, user=fx.MEMBER, channel=fx.CHANNEL, category="message", contains="needle")

    assert shown(reply) == []
    assert "901" in reply.content
    assert "900" not in reply.content


def test_search_stops_at_since_when_given(table: MemoryTable, ports: Ports) -> None:
    rows = [
        row(event_id=f"gw:s:{n}", occurred_at=iso(START + timedelta(minutes=n)), content=f"message {n}")
        for n in range(20)
    ]
    table.add_rows(rows)
    later = START + timedelta(minutes=30)

    reply = search.run(call_of(fx.command("logs", "search", options={"since": "15m"}), now=later), ports)

    # `since` counts in whole minutes: 15 minutes before 09:30 is 09:15, message 15.
    assert shown(reply) == [str(n) for n in range(19, 14, -1)]
    assert reply.components == ()  # one page: no buttons


def test_search_answers_from_the_lookback_limit_when_since_falls_off_the_calendar_in_utc(
    table: MemoryTable, ports: Ports
) -> None:
    messages(table, 3)

    reply = run(ports, since="0001-01-01T00:00:00+01:00")

    assert shown(reply) == ["2", "1", "0"]


def test_search_shows_own_events_when_a_member_without_manage_server_gives_no_user(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows(
        [row(event_id="gw:s:mine", user_id=fx.MEMBER, content="mine"), row(user_id=fx.STRANGER, content="theirs")]
    )

    reply = run(ports, by=fx.MEMBER, permissions=fx.EVERYONE)

    assert "mine" in reply.content and "theirs" not in reply.content
    assert "(you)" in reply.content


def test_search_refuses_when_a_member_without_manage_server_asks_for_someone_else(ports: Ports) -> None:
    with pytest.raises(CommandError, match="Manage Server"):
        run(ports, user=fx.STRANGER, by=fx.MEMBER, permissions=fx.EVERYONE)


def test_search_refuses_when_the_user_is_not_a_member_and_never_seen_here(ports: Ports) -> None:
    with pytest.raises(CommandError, match="not a member of this server"):
        run(ports, user=fx.STRANGER, not_members=[fx.STRANGER])


def test_search_finds_a_former_member_when_their_events_are_logged(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(user_id=fx.STRANGER, content="I was here")])

    reply = run(ports, user=fx.STRANGER, not_members=[fx.STRANGER])

    assert "I was here" in reply.content


def test_search_refuses_when_the_channel_is_in_another_server(ports: Ports) -> None:
    with pytest.raises(CommandError, match="not in this server"):
        run(ports, channel=fx.OTHER_CHANNEL, channel_guilds={fx.OTHER_CHANNEL: fx.OTHER_GUILD})


def test_search_never_reads_another_servers_feed_when_filters_name_this_one(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(guild_id=fx.OTHER_GUILD, content="secret elsewhere")])

    reply = run(ports)

    assert "secret" not in reply.content
    assert all(q["pk"].startswith(keys.guild_pk(fx.GUILD)) for q in table.queries)


def test_button_is_refused_when_clicked_by_another_member(table: MemoryTable, ports: Ports) -> None:
    messages(table, 15)
    reply = run(ports)

    with pytest.raises(CommandError, match="no longer works"):
        click(ports, reply, "Older", by=fx.MEMBER)


def test_button_is_refused_when_the_clicker_lost_manage_server_and_the_search_is_of_others(
    table: MemoryTable, ports: Ports
) -> None:
    messages(table, 15, user_id=fx.STRANGER)
    reply = run(ports, user=fx.STRANGER)

    with pytest.raises(CommandError, match="Manage Server"):
        click(ports, reply, "Older", permissions=fx.EVERYONE)


def test_search_says_how_far_it_looked_when_matches_are_sparse(table: MemoryTable, ports: Ports) -> None:
    rows = [
        row(event_id=f"gw:s:{n:05d}", occurred_at=iso(START + timedelta(seconds=n)), content="noise")
        for n in range(900)
    ]
    rows.append(row(event_id="gw:s:needle", occurred_at=iso(START - timedelta(seconds=1)), content="the needle"))
    table.add_rows(rows)

    reply = run(ports, contains="needle")

    assert "Looked through 800 events" in reply.content
    assert "the needle" not in reply.content
    assert "the needle" in click(ports, reply, "Older").content


def test_search_offers_no_paging_when_the_filters_do_not_fit_a_button(table: MemoryTable, ports: Ports) -> None:
    messages(table, 15, content="✓" * 40)

    reply = run(ports, user=fx.MEMBER, channel=fx.CHANNEL, category="message", contains="✓" * 30, since="30d")

    assert reply.components == ()
    assert "too long to page through" in reply.content


def test_search_says_nothing_matches_when_the_server_has_no_events(ports: Ports) -> None:
    reply = run(ports)

    assert "Nothing logged matches" in reply.content
    assert reply.components == ()


# ---------------------------------------------------------------- a sharded feed

FOUR_SHARDS = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))


def sharded(table: MemoryTable, count: int, *, same_ms_every: int = 0, **fields: Any) -> list[str]:
    rows = []
    for n in range(count):
        step = n // same_ms_every if same_ms_every else n
        at = iso(START + timedelta(seconds=step))
        content = f"message {n} {fields.get('content', '')}".strip()
        rows.append(row(**{**fields, "event_id": f"gw:s:{n:04d}", "occurred_at": at, "content": content}))
    table.add_rows(rows, plan=FOUR_SHARDS)
    table.set_plan(fx.GUILD, FOUR_SHARDS)
    return [r.event_id for r in sorted(rows, key=lambda r: (r.occurred_at, r.event_id), reverse=True)]


def test_older_pages_show_every_event_once_when_the_feed_is_sharded(table: MemoryTable, ports: Ports) -> None:
    sharded(table, 47, same_ms_every=3)
    assert len({pk for (pk, sk) in table.items if sk.startswith(keys.FEED_FIRST)}) == 4

    reply, seen = run(ports), []
    seen += shown(reply)
    while not button(reply, "Older")["disabled"]:
        reply = click(ports, reply, "Older")
        seen += shown(reply)

    order = sorted(range(47), key=lambda n: (n // 3, f"gw:s:{n:04d}"), reverse=True)
    assert seen == [str(n) for n in order]


def test_newer_goes_back_to_exactly_the_previous_page_when_the_feed_is_sharded(
    table: MemoryTable, ports: Ports
) -> None:
    sharded(table, 35, same_ms_every=4)
    first = run(ports)
    second = click(ports, first, "Older")

    back = click(ports, second, "Newer")

    assert shown(back) == shown(first)


def test_search_keeps_only_matching_events_when_the_feed_is_sharded(table: MemoryTable, ports: Ports) -> None:
    sharded(table, 40)
    table.add_rows(
        [row(event_id="gw:s:x", occurred_at=iso(START + timedelta(minutes=5)), content="message 99 needle")],
        plan=FOUR_SHARDS,
    )

    reply = run(ports, category="message", contains="NEEDLE")

    assert shown(reply) == ["99"]


# --- a ban and its audit-log entry ------------------------------------------------------------
MODERATOR = "1300000000000000777"


def ban_and_entry(at: datetime, entry_after: timedelta, target: str = fx.MEMBER) -> list[Any]:
    ban = row(
        event_id=f"gw:s:ban{target}",
        event_type="GUILD_BAN_ADD",
        category="moderation",
        action="ban",
        occurred_at=iso(at),
        user_id=target,
        channel_id=None,
        message_id=None,
        content=None,
    )
    entry = row(
        event_id=f"gw:s:audit{target}",
        event_type="GUILD_AUDIT_LOG_ENTRY_CREATE",
        category="moderation",
        action="member_ban_add",
        occurred_at=iso(at + entry_after),
        user_id=None,
        target_id=target,
        actor_id=MODERATOR,
        reason="raid account",
        channel_id=None,
        message_id=None,
        content=None,
    )
    return [ban, entry]


def test_search_shows_a_ban_and_its_audit_entry_on_one_line_naming_the_moderator_when_both_are_logged(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows(ban_and_entry(START, timedelta(seconds=1)))

    reply = run(ports, category="moderation")

    lines = reply.content.splitlines()[1:]
    assert len(lines) == 1
    assert "`moderation/ban`" in lines[0] and f"<@{MODERATOR}> (no name logged) → <@{fx.MEMBER}> (member)" in lines[0]
    assert "raid account" in lines[0]


def test_search_keeps_the_entry_on_its_own_line_when_it_explains_another_members_ban(
    table: MemoryTable, ports: Ports
) -> None:
    other = "1300000000000000555"
    ban, _ = ban_and_entry(START, timedelta(seconds=1))
    _, entry = ban_and_entry(START, timedelta(seconds=1), target=other)
    table.add_rows([ban, entry])

    reply = run(ports, category="moderation")

    assert len(reply.content.splitlines()[1:]) == 2


def test_search_keeps_both_lines_when_the_entry_is_minutes_away_from_the_ban(table: MemoryTable, ports: Ports) -> None:
    table.add_rows(ban_and_entry(START, timedelta(minutes=10)))

    reply = run(ports, category="moderation")

    assert len(reply.content.splitlines()[1:]) == 2


def test_search_names_each_author_as_their_event_logged_them_when_the_page_shows_it(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows([row(user_id=fx.STRANGER, user_name="old-name", content="I was here")])
    name_in_directory(table, {}, {fx.STRANGER: "new-name"})

    reply = run(ports)

    assert f"<@{fx.STRANGER}> (old-name)" in reply.content and "new-name" not in reply.content


def test_search_names_the_channel_and_the_moderator_from_the_directory_when_the_events_do_not(
    table: MemoryTable, ports: Ports
) -> None:
    ban = row(
        event_id="gw:s:ban",
        event_type="GUILD_AUDIT_LOG_ENTRY_CREATE",
        category="moderation",
        action="member_ban_add",
        user_id=None,
        user_name=None,
        actor_id=fx.MODERATOR,
        target_id=fx.MEMBER,
        content=None,
        reason="spam",
    )
    table.add_rows([ban])
    name_in_directory(table, {fx.CHANNEL: "general"}, {fx.MODERATOR: "modmin", fx.MEMBER: "memb"})

    reply = run(ports, channel=fx.CHANNEL)

    assert f"in <#{fx.CHANNEL}> (#general)" in reply.content  # the filter, and the event's channel
    assert f"<@{fx.MODERATOR}> (modmin) → <@{fx.MEMBER}> (memb)" in reply.content


def test_search_says_no_name_is_logged_when_neither_the_events_nor_the_directory_name_the_channel(
    table: MemoryTable, ports: Ports
) -> None:
    table.add_rows([row(content="hello")])

    reply = run(ports)

    assert f"in <#{fx.CHANNEL}> (no name logged)" in reply.content
