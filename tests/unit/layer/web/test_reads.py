"""guildlog.web.reads: how much a page reads for what it shows."""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def test_feed_page_lets_the_table_filter_in_larger_steps_when_a_filter_drops_items() -> None:
    table = table_of(200)
    reader = Counting(table)
    page = reads.feed_page(reader, GUILD_A, reads.FeedFilters(text="MESSAGE 2"))
    assert reader.asked == [
        (reads.PAGE_SIZE + 2, reads.FEED_ATTRIBUTES),
        (4 * (reads.PAGE_SIZE + 2), reads.FEED_ATTRIBUTES),
    ]
    [text] = table.queries[-1]["where"]
    assert text.contains and "message 2" in text.values and "MESSAGE 2" in text.values
    assert len(page.items) == 11  # "message 2" and "message 20" to "message 29", all older than the first read


def test_feed_page_stops_at_the_read_budget_and_carries_on_when_a_filter_keeps_little() -> None:
    reader = Counting(table_of(reads.READ_BUDGET + 300))
    filters = reads.FeedFilters(text="message 1")  # 1, 10-19, 100-199, 1000-1299: 1,300 and more items to look at
    first = reads.feed_page(reader, GUILD_A, filters)
    assert len(first.items) == reads.PAGE_SIZE and first.older is not None
    later = reads.feed_page(reader, GUILD_A, reads.FeedFilters(kind="nothing_matches"))
    assert later.items == [] and later.looked_back_to is not None
    assert [limit for limit, _ in reader.asked[-3:]] == [52, 208, 740]  # up to the read budget of 1,000


def test_feed_page_leaves_the_filter_to_the_index_when_the_index_applies_it() -> None:
    table = table_of(10)
    reads.feed_page(table, GUILD_A, reads.FeedFilters(member="910000000000000101", channel=CHANNEL))
    assert table.queries[-1]["index"] == "GSI1"
    assert [c.attributes for c in table.queries[-1]["where"]] == [("channel_id",)]


def test_feed_page_pages_on_from_the_last_item_when_unfiltered_pages_follow() -> None:
    reader = Counting(table_of(80))
    first = reads.feed_page(reader, GUILD_A, reads.FeedFilters())
    second = reads.feed_page(reader, GUILD_A, reads.FeedFilters(), before=first.older)
    shown = [i["SK"] for i in first.items] + [i["SK"] for i in second.items]
    assert len(shown) == 80 and len(set(shown)) == 80


# ---------------------------------------------------------------- a channel's day, page by page

DAY = date(2026, 11, 20)
CHANNEL = "910000000000000010"


def change(n: int, at: str, action: str, message_id: str, **fields: Any) -> EventRow:
    event_type = {"update": "MESSAGE_UPDATE", "delete": "MESSAGE_DELETE"}.get(action, "MESSAGE_REACTION_ADD")
    return EventRow(
        event_id=f"gw:c:{n}", batch_id="b", source="gateway", event_type=event_type, category="message",
        action=action, occurred_at=at, received_at=at, guild_id=GUILD_A, channel_id=CHANNEL,
        user_id="910000000000000101", message_id=message_id, user_name="alice", **fields,
    )  # fmt: skip


def test_transcript_pages_through_the_day_when_it_holds_more_than_a_page() -> None:
    reader = Counting(table_of(120))
    first = reads.transcript(reader, GUILD_A, CHANNEL, DAY)
    second = reads.transcript(reader, GUILD_A, CHANNEL, DAY, after=first.later)
    third = reads.transcript(reader, GUILD_A, CHANNEL, DAY, after=second.later)
    back = reads.transcript(reader, GUILD_A, CHANNEL, DAY, before=second.earlier)
    contents = [[m.content for m in page.messages] for page in (first, second, third)]
    assert contents[0][:2] == ["message 0", "message 1"] and len(contents[0]) == reads.TRANSCRIPT_PAGE
    assert sum(contents, []) == [f"message {n}" for n in range(120)]
    assert first.earlier is None and third.later is None and second.earlier and second.later
    assert [m.content for m in back.messages] == contents[0] and back.later is not None


def test_transcript_shows_later_edits_reactions_and_deletions_when_made_after_the_page() -> None:
    table = table_of(80)
    edited, deleted = str(910000000000001000 + 3), str(910000000000001000 + 4)
    table.add_rows(
        [
            change(1, "2026-11-20T20:00:00.000Z", "update", edited, content="message 3, edited"),
            change(2, "2026-11-20T21:00:00.000Z", "update", edited, content="message 3, edited twice"),
            change(3, "2026-11-20T21:30:00.000Z", "reaction_add", edited, details='{"emoji": {"name": "🔥"}}'),
            change(4, "2026-11-20T22:00:00.000Z", "delete", deleted),
        ],
        batch_id="b2",
    )
    reader = Counting(table)
    page = reads.transcript(reader, GUILD_A, CHANNEL, DAY)
    by_id = {m.message_id: m for m in page.messages}
    assert by_id[edited].content == "message 3, edited twice" and by_id[edited].edited_at == "2026-11-20T21:00:00.000Z"
    assert [v["content"] for v in by_id[edited].versions] == ["message 3", "message 3, edited"]
    assert by_id[edited].reactions["🔥"] == 1
    assert by_id[deleted].deleted_at == "2026-11-20T22:00:00.000Z"
    # One Query of the page, one filtered Query of the later changes (the table sends back only those).
    assert reader.asked == [
        (reads.TRANSCRIPT_PAGE + 1, reads.TRANSCRIPT_ATTRIBUTES),
        (reads.FILTERED_QUERY_LIMIT, reads.CHANGE_ATTRIBUTES),
    ]
    assert table.queries[-1]["where"][0].values == reads.LATER_CHANGES


def test_transcript_reads_a_long_message_whole_from_its_version_when_the_feed_item_holds_part() -> None:
    table = MemoryTable()
    long_text = "lantern " * 9000  # more than a feed item keeps whole
    table.add_rows([row(0).model_copy(update={"content": long_text})])
    [message] = reads.transcript(table, GUILD_A, CHANNEL, DAY).messages
    assert message.content == long_text


def test_overview_reads_only_today_s_counters_again_when_reloaded_within_a_minute() -> None:
    table = table_of(10)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    first = reads.overview(table, GUILD_A, now)
    read_before = len(table.queries)
    again = reads.overview(table, GUILD_A, now)
    day_pks = [q["pk"] for q in table.queries if "#D#" in q["pk"]]
    assert len(day_pks[:-1]) == reads.OVERVIEW_DAYS
    assert [q["pk"] for q in table.queries[read_before:] if "#D#" in q["pk"]] == [f"G#{GUILD_A}#D#2026-11-20"]
    assert again.messages == first.messages and first.messages[-1] == 10 and sum(first.hours) == 10
