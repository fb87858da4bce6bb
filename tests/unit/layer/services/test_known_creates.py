"""guildlog.services.known_creates: a page's messages whose create the hot table holds under an older event id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.services import keys
from guildlog.services.feed_shards import Epoch, ShardPlan
from guildlog.services.known_creates import HotCreates
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import message_id, row

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FOUR = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))


def at(n: int) -> str:
    return iso(START + timedelta(seconds=n))


def page(count: int, channel: str = fx.CHANNEL) -> list[dict[str, Any]]:
    """REST message objects, one a second from START: `timestamp` as Discord writes it."""
    return [
        {"id": message_id(at(n), n), "channel_id": channel, "timestamp": at(n).replace("Z", "+00:00")}
        for n in range(count)
    ]


def create(n: int, event_id: str, **fields: Any) -> Any:
    return row(event_id=event_id, occurred_at=at(n), message_id=message_id(at(n), n), **fields)


def test_stored_elsewhere_names_the_creates_stored_under_session_and_sequence_ids_when_the_relay_logged_them() -> None:
    table = MemoryTable()
    table.add_rows([create(0, "gw:s:1"), create(2, "backfill:x@2026-11-20T09:10:00+00:00")])

    assert HotCreates(table).stored_elsewhere(fx.GUILD, fx.CHANNEL, page(5)) == {
        message_id(at(0), 0),
        message_id(at(2), 2),
    }
    assert [q["index"] for q in table.queries] == ["GSI2"]  # one read for the page


def test_stored_elsewhere_leaves_out_a_create_when_it_is_stored_as_msg_and_its_message_id() -> None:
    table = MemoryTable()
    table.add_rows([create(1, f"msg:{message_id(at(1), 1)}")])

    assert HotCreates(table).stored_elsewhere(fx.GUILD, fx.CHANNEL, page(3)) == set()


def test_stored_elsewhere_ignores_edits_other_channels_and_other_messages_when_they_share_the_range() -> None:
    table = MemoryTable()
    table.add_rows(
        [
            create(0, "gw:s:1", action="update", event_type="MESSAGE_UPDATE"),
            create(1, "gw:s:2", channel_id=fx.OTHER_CHANNEL),
            row(event_id="gw:s:3", occurred_at=at(2), message_id="100000000000000001"),  # not in the page
        ]
    )

    assert HotCreates(table).stored_elsewhere(fx.GUILD, fx.CHANNEL, page(3)) == set()


def test_stored_elsewhere_reads_every_shard_of_the_channel_when_the_guild_feed_is_sharded() -> None:
    table = MemoryTable()
    table.add_rows([create(n, f"gw:s:{n}") for n in range(40)], plan=FOUR)
    table.set_plan(fx.GUILD, FOUR)

    found = HotCreates(table).stored_elsewhere(fx.GUILD, fx.CHANNEL, page(40))

    assert found == {m["id"] for m in page(40)}
    shards = {q["pk"] for q in table.queries if q["index"] == "GSI2"}
    assert shards == {keys.index_shard_pk(keys.channel_index_pk(fx.GUILD, fx.CHANNEL), n) for n in range(4)}


def test_stored_elsewhere_reads_nothing_when_no_message_has_a_readable_timestamp() -> None:
    table = MemoryTable()
    messages = [{**m, "timestamp": "yesterday"} for m in page(3)]

    assert HotCreates(table).stored_elsewhere(fx.GUILD, fx.CHANNEL, messages) == set()
    assert table.queries == []
