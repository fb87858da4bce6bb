"""guildlog.web.reads: how much a page reads for what it shows."""

from __future__ import annotations

from typing import Any

from guildlog.models.row import EventRow
from guildlog.services.commands.context import QueryPage
from guildlog.web import reads
from tests.fakes.memory_table import MemoryTable

GUILD_A = "910000000000000001"


class Counting:
    """A reader that records each Query's limit and projection."""

    def __init__(self, table: MemoryTable) -> None:
        self.table = table
        self.asked: list[tuple[int, tuple[str, ...] | None]] = []

    def query(self, pk: str, **kwargs: Any) -> QueryPage:
        attributes = kwargs.get("attributes")
        self.asked.append((kwargs.get("limit", 100), tuple(attributes) if attributes else None))
        return self.table.query(pk, **kwargs)

    def get(self, pk: str, sk: str) -> Any:
        return self.table.get(pk, sk)

    def get_many(self, keys: Any) -> Any:
        return self.table.get_many(keys)


def row(n: int) -> EventRow:
    return EventRow(
        event_id=f"gw:s:{n}", batch_id="b", source="gateway", event_type="MESSAGE_CREATE", category="message",
        action="create", occurred_at=f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}.000Z",
        received_at="2026-11-20T11:00:00.000Z", guild_id=GUILD_A, channel_id="910000000000000010",
        user_id="910000000000000101", message_id=str(910000000000001000 + n), user_name="alice", content=f"message {n}",
    )  # fmt: skip


def table_of(count: int) -> MemoryTable:
    table = MemoryTable()
    table.add_rows([row(n) for n in range(count)])
    return table


def test_feed_page_reads_just_a_page_when_nothing_is_filtered() -> None:
    reader = Counting(table_of(80))
    page = reads.feed_page(reader, GUILD_A, reads.FeedFilters())
    assert len(page.items) == reads.PAGE_SIZE and page.older is not None
    assert reader.asked == [(reads.PAGE_SIZE + 2, reads.FEED_ATTRIBUTES)]


def test_feed_page_reads_on_in_larger_steps_when_the_filter_drops_items() -> None:
    reader = Counting(table_of(200))
    page = reads.feed_page(reader, GUILD_A, reads.FeedFilters(text="message 2"))
    assert [limit for limit, _ in reader.asked] == [reads.PAGE_SIZE + 2, reads.QUERY_LIMIT, reads.QUERY_LIMIT]
    assert len(page.items) == 11  # "message 2" and "message 20" to "message 29", all older than the first read


def test_feed_page_pages_on_from_the_last_item_when_unfiltered_pages_follow() -> None:
    reader = Counting(table_of(80))
    first = reads.feed_page(reader, GUILD_A, reads.FeedFilters())
    second = reads.feed_page(reader, GUILD_A, reads.FeedFilters(), before=first.older)
    shown = [i["SK"] for i in first.items] + [i["SK"] for i in second.items]
    assert len(shown) == 80 and len(set(shown)) == 80
