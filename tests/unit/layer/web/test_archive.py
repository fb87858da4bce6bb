"""guildlog.web.archive: the pages' archive queries (placeholders, one guild, pruned days) and a channel's
day rebuilt from the archive's rows, as the hot transcript shows it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from guildlog.errors import MalformedRequestError
from guildlog.web.archive import feed_from_rows, feed_query, transcript_from_rows, transcript_query
from guildlog.web.reads import FeedFilters

GUILD = "910000000000000001"
CHANNEL = "910000000000000010"
DAY = date(2026, 10, 1)


def row(n: int, action: str, **fields: Any) -> dict[str, Any]:
    event_type = {"create": "MESSAGE_CREATE", "update": "MESSAGE_UPDATE", "delete": "MESSAGE_DELETE"}.get(action, "X")
    return {
        "event_id": f"gw:{n}", "event_type": event_type, "category": "message", "action": action,
        "occurred_at": f"2026-10-01T10:00:{n:02d}.000Z", "guild_id": GUILD, "channel_id": CHANNEL,
        "message_id": "910000000000000500", "user_id": "910000000000000101", "user_name": "alice", **fields,
    }  # fmt: skip


def test_transcript_query_binds_guild_days_and_channel_when_built() -> None:
    bound = transcript_query(GUILD, CHANNEL, DAY, DAY)
    assert bound.values == (GUILD, "2026-10-01", "2026-10-01", CHANNEL)
    assert bound.sql.count("?") == len(bound.values)
    assert "guild_id = ?" in bound.sql and "concat(year, '-', month, '-', day) BETWEEN ? AND ?" in bound.sql


def test_feed_query_binds_every_filter_and_the_text_lower_cased_when_built() -> None:
    filters = FeedFilters(category="message", kind="delete", channel=CHANNEL, member="910000000000000101",
                          text="Lantern's")  # fmt: skip
    bound = feed_query(GUILD, filters, DAY, date(2026, 10, 3))
    assert bound.sql.count("?") == len(bound.values)
    assert bound.values[:3] == (GUILD, "2026-10-01", "2026-10-03")
    assert "lantern's" in bound.values and "Lantern" not in bound.sql
    assert bound.athena_parameters()[-1] == "'lantern''s'"


@pytest.mark.parametrize(("first", "last"), [(date(2026, 10, 5), DAY), (DAY, date(2026, 11, 1))])
def test_archive_queries_refuse_a_reversed_or_longer_than_a_month_range_when_asked(first: date, last: date) -> None:
    with pytest.raises(MalformedRequestError):
        feed_query(GUILD, FeedFilters(), first, last)
    with pytest.raises(MalformedRequestError):
        transcript_query(GUILD, CHANNEL, first, last)


def test_feed_from_rows_pages_fifty_at_a_time_when_the_range_holds_more() -> None:
    rows = [row(n, "create") for n in range(120)]
    first, last = feed_from_rows(rows, 0, 50), feed_from_rows(rows, 100, 50)
    assert (len(first.items), first.newer, first.older) == (50, None, 50)
    assert (len(last.items), last.newer, last.older) == (20, 50, None)


def test_archive_transcript_keeps_earlier_texts_and_marks_the_deletion_when_the_message_changed() -> None:
    rows = [
        row(1, "create", content="first"),
        row(2, "update", content="second"),
        row(3, "reaction_add", details=json.dumps({"emoji": {"name": "🔥"}})),
        row(4, "delete"),
    ]
    [message], cut = transcript_from_rows(rows, CHANNEL)
    assert message.content == "second" and message.versions == [{"at": "2026-10-01T10:00:01.000Z", "content": "first"}]
    assert message.edited_at == "2026-10-01T10:00:02.000Z" and message.deleted_at == "2026-10-01T10:00:04.000Z"
    assert message.reactions["🔥"] == 1 and not cut


def test_archive_transcript_leaves_out_other_channels_when_the_rows_hold_them() -> None:
    rows = [
        row(1, "create", content="ours"),
        row(3, "create", content="another channel's", channel_id="910000000000000011", message_id="910000000000000501"),
    ]
    messages, cut = transcript_from_rows(rows, CHANNEL)
    assert [m.content for m in messages] == ["ours"] and not cut
