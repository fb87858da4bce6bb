"""`/logs message` past the hot table: handed to the worker, answered from the archive, or truthfully not found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.archive_lookup import ArchivedMessage, from_rows, lookup_days
from guildlog.services.commands import message
from guildlog.services.commands.context import Ports, Reply
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import NOW, call_of, message_id, row

OLD = (NOW - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
OLD_ID = message_id(OLD)
RECENT = "2026-11-20T10:00:00.000Z"
RECENT_ID = message_id(RECENT)


class Archive:
    """The archive port over rows as the events table holds them; records what it was asked."""

    def __init__(self, rows: list[dict[str, Any]] | None = None, server_events: int = 0) -> None:
        self.rows = rows or []
        self.server_events = server_events
        self.asked: list[tuple[str, str]] = []

    def find(self, guild_id: str, message_id: str) -> ArchivedMessage:
        self.asked.append((guild_id, message_id))
        first, last = lookup_days(message_id)
        mine = [r for r in self.rows if r.get("guild_id") == guild_id and r.get("message_id") == message_id]
        found = from_rows(message_id, first, last, mine)
        if found.found:
            return found
        return ArchivedMessage(message_id, first, last, [], None, server_events=self.server_events)


def archived_row(at: str, content: str | None, event_type: str = "MESSAGE_CREATE", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"imp:{at}",
        "event_type": event_type,
        "occurred_at": at,
        "guild_id": fx.GUILD,
        "channel_id": fx.CHANNEL,
        "user_id": fx.MEMBER,
        "user_name": "member",
        "message_id": OLD_ID,
        "content": content,
        "attachments": "[]",
        "details": "{}",
        **fields,
    }


def ask(ports: Ports, text: str, **kwargs: Any) -> Reply:
    return message.run(call_of(fx.command("logs", "message", options={"message": text}, **kwargs)), ports)


def test_message_hands_over_to_the_worker_when_the_hot_store_lacks_it_and_no_archive_is_at_hand(
    ports: Ports,
) -> None:
    reply = ask(ports, OLD_ID)

    assert reply.handover


def test_message_answers_inline_when_the_hot_store_holds_it(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id="gw:s:1", occurred_at=RECENT, message_id=RECENT_ID, content="fresh")])

    reply = ask(ports, RECENT_ID)

    assert not reply.handover and "fresh" in reply.content


def test_message_shows_the_archived_versions_when_the_hot_store_has_let_it_go(ports: Ports) -> None:
    edited = (NOW - timedelta(days=90, minutes=-5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ports.archive = Archive(
        [archived_row(OLD, "from long ago"), archived_row(edited, "edited long ago", "MESSAGE_UPDATE")]
    )

    content = ask(ports, OLD_ID).content

    assert content.index("from long ago") < content.index("edited long ago")
    assert "from the archive" in content and "1 edit" in content


def test_message_shows_the_archived_deletion_when_the_archive_has_it(ports: Ports) -> None:
    deleted = (NOW - timedelta(days=90, minutes=-1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ports.archive = Archive([archived_row(OLD, "soon gone"), archived_row(deleted, None, "MESSAGE_DELETE")])

    content = ask(ports, OLD_ID).content

    assert "soon gone" in content and "**deleted**" in content


def test_message_asks_the_archive_for_this_server_only_when_it_looks_up(ports: Ports) -> None:
    archive = Archive([archived_row(OLD, "elsewhere", guild_id=fx.OTHER_GUILD)], server_events=3)
    ports.archive = archive

    with pytest.raises(CommandError, match="not in the hot store nor in the archive"):
        ask(ports, OLD_ID)
    assert archive.asked == [(fx.GUILD, OLD_ID)]


def test_message_says_past_retention_and_the_days_read_when_nothing_is_found(ports: Ports) -> None:
    ports.archive = Archive(server_events=5)
    first, last = lookup_days(OLD_ID)

    with pytest.raises(CommandError) as raised:
        ask(ports, OLD_ID)

    text = raised.value.message
    assert "past this server's 30-day hot retention" in text
    assert f"not in the hot store nor in the archive for {first.isoformat()} and {last.isoformat()}" in text
    assert "never logged here" in text


def test_message_says_not_logging_then_when_the_archive_has_nothing_of_the_server_those_days(ports: Ports) -> None:
    ports.archive = Archive(server_events=0)

    with pytest.raises(CommandError, match="archived nothing of this server on those days"):
        ask(ports, OLD_ID)


def test_message_does_not_claim_past_retention_when_the_message_is_recent(ports: Ports) -> None:
    ports.archive = Archive(server_events=5)

    with pytest.raises(CommandError) as raised:
        ask(ports, RECENT_ID)

    assert "retention" not in raised.value.message
    assert "not in the hot store nor in the archive for 2026-11-20 and 2026-11-21" in raised.value.message


def test_message_honours_the_servers_own_retention_when_it_words_the_answer(table: MemoryTable, ports: Ports) -> None:
    table.put({"PK": keys.guild_pk(fx.GUILD), "SK": keys.CONFIG_SK, "retention_days": 120})
    ports.archive = Archive(server_events=5)

    with pytest.raises(CommandError) as raised:
        ask(ports, OLD_ID)

    assert "retention" not in raised.value.message


def test_message_needs_manage_server_when_an_archived_message_is_someone_elses(ports: Ports) -> None:
    ports.archive = Archive([archived_row(OLD, "not yours")])

    with pytest.raises(CommandError, match="Manage Server"):
        ask(ports, OLD_ID, by=fx.STRANGER, permissions=fx.EVERYONE)


def test_message_keeps_the_hot_deletion_and_reads_the_text_from_the_archive_when_only_the_marker_is_hot(
    table: MemoryTable, ports: Ports
) -> None:
    deleted = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    table.add_rows(
        [
            row(
                event_id="gw:s:del",
                event_type="MESSAGE_DELETE",
                action="delete",
                occurred_at=deleted,
                message_id=OLD_ID,
                user_id=None,
                content=None,
            )
        ]
    )
    ports.archive = Archive([archived_row(OLD, "the lost words")])

    content = ask(ports, OLD_ID).content

    assert "the lost words" in content and "**deleted**" in content and "never logged" not in content
