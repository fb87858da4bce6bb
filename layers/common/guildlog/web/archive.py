"""Pages older than the hot table: the archive's queries and how their rows become the pages' data.

A channel's day or range (transcript) and the feed or search over a time range are read from the
archive's `events` table with one query each (Athena in AWS, DuckDB behind the local stack's
Athena API: both run this Athena SQL). Every query:

- binds every value as a `?` placeholder (guild, days, channel, filters, search text): nothing a
  reader types is ever part of the SQL text;
- is held to the one guild the page is for (`guild_id = ?`, the guild the session was checked for);
- is pruned to the days shown (`concat(year, '-', month, '-', day) BETWEEN ? AND ?`, the partition
  filter every named query uses), at most MAX_ARCHIVE_DAYS of them;
- keeps one row per `event_id` (an event archived again under another batch counts once) and a
  bounded number of rows, like the hot pages.

The rows are turned into what the hot pages render (web.reads.Message, feed items), so both read alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from guildlog.errors import MalformedRequestError
from guildlog.queries import BoundQuery
from guildlog.services.modlog.kinds import details_of
from guildlog.web.reads import TRANSCRIPT_LIMIT, FeedFilters, Message, attachments

# Days one page may read from the archive at once (Athena bills by bytes scanned); exports read more.
MAX_ARCHIVE_DAYS = 31
# Rows a feed or search page keeps from the archive; the page pages through them.
FEED_ROWS_LIMIT = 500

_ONE_COPY = "row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy"
_GUILD_AND_DAYS = "guild_id = ?\n        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?"

# Placeholders: guild, from, to, channel.
TRANSCRIPT_SQL = f"""SELECT event_id, category, action, occurred_at, channel_id, message_id, user_id, user_name,
    content, attachments, details
FROM (
    SELECT event_id, category, action, occurred_at, channel_id, message_id, user_id, user_name, content,
        attachments, details, {_ONE_COPY}
    FROM events
    WHERE {_GUILD_AND_DAYS}
        AND category = 'message'
        AND channel_id = ?
) AS e
WHERE event_copy = 1
ORDER BY occurred_at, event_id
LIMIT {TRANSCRIPT_LIMIT + 1}"""  # noqa: S608 - constants only; every value is a placeholder

# Placeholders: guild, from, to, then each filter twice (empty text: no filter), the member four times.
FEED_SQL = f"""SELECT event_id, category, action, event_type, occurred_at, user_id, user_name, actor_id, target_id,
    channel_id, message_id, content, reason
FROM (
    SELECT event_id, category, action, event_type, occurred_at, user_id, user_name, actor_id, target_id,
        channel_id, message_id, content, reason, {_ONE_COPY}
    FROM events
    WHERE {_GUILD_AND_DAYS}
        AND (? = '' OR category = ?)
        AND (? = '' OR action = ? OR lower(event_type) = ?)
        AND (? = '' OR channel_id = ?)
        AND (? = '' OR user_id = ? OR actor_id = ? OR target_id = ?)
        AND (? = '' OR strpos(lower(concat(coalesce(content, ''), ' ', coalesce(reason, ''), ' ',
            coalesce(user_name, ''))), ?) > 0)
) AS e
WHERE event_copy = 1
ORDER BY occurred_at DESC, event_id DESC
LIMIT {FEED_ROWS_LIMIT + 1}"""  # noqa: S608 - constants only; every value is a placeholder


def checked_days(first: date, last: date) -> tuple[date, date]:
    """The days a page reads from the archive; MalformedRequestError for a reversed or too long range."""
    if last < first:
        raise MalformedRequestError("The range ends before it starts.")
    if (last - first).days + 1 > MAX_ARCHIVE_DAYS:
        raise MalformedRequestError(
            f"A page reads at most {MAX_ARCHIVE_DAYS} days of the archive: narrow the range, or export it."
        )
    return first, last


def transcript_query(guild_id: str, channel_id: str, first: date, last: date) -> BoundQuery:
    first, last = checked_days(first, last)
    values = (guild_id, first.isoformat(), last.isoformat(), channel_id)
    parameters = {"guild": guild_id, "from": values[1], "to": values[2], "channel": channel_id}
    return BoundQuery("web_archive_transcript", TRANSCRIPT_SQL, values, parameters)


def feed_query(guild_id: str, filters: FeedFilters, first: date, last: date) -> BoundQuery:
    first, last = checked_days(first, last)
    category, kind = filters.category or "", filters.kind or ""
    channel, member = filters.channel or "", filters.member or ""
    text = (filters.text or "").lower()
    values = (
        guild_id, first.isoformat(), last.isoformat(), category, category, kind, kind, kind, channel, channel,
        member, member, member, member, text, text,
    )  # fmt: skip
    parameters = {"guild": guild_id, "from": values[1], "to": values[2], "category": category, "kind": kind,
                  "channel": channel, "member": member, "text": text}  # fmt: skip
    return BoundQuery("web_archive_feed", FEED_SQL, values, parameters)


def transcript_from_rows(rows: Iterable[dict[str, Any]], channel_id: str) -> tuple[list[Message], bool]:
    """(the channel's messages written in the rows' days, oldest first; whether there were more rows than shown).

    The rows are the archive's, oldest first. A message is rebuilt as the hot transcript shows it:
    its later texts, its deletion and its reactions. An edit or a reaction of a message written
    before the first day is left out: that day's page shows it.
    """
    rows = list(rows)
    cut = len(rows) > TRANSCRIPT_LIMIT
    messages: dict[str, Message] = {}
    for row in rows[:TRANSCRIPT_LIMIT]:
        if row.get("category") != "message" or row.get("channel_id") != channel_id:
            continue
        action = row.get("action")
        details = details_of(row)
        if action == "bulk_delete":
            for mid in details.get("ids") or []:
                if str(mid) in messages:
                    messages[str(mid)].deleted_at = str(row.get("occurred_at"))
            continue
        mid = str(row.get("message_id") or "")
        if action == "create" and mid:
            messages[mid] = Message(
                message_id=mid,
                author_id=row.get("user_id"),
                author=str(row.get("user_name") or row.get("user_id") or "unknown"),
                created_at=str(row.get("occurred_at")),
                content=row.get("content"),
                attachments=attachments(row.get("attachments")),
                reply_to=details.get("reply_to"),
            )
            continue
        message = messages.get(mid)
        if message is None:
            continue  # written on an earlier day: that day's page shows it
        if action == "update" and row.get("content") is not None and row.get("content") != message.content:
            message.versions.append({"at": message.edited_at or message.created_at, "content": message.content})
            message.content = row.get("content")
            message.edited_at = str(row.get("occurred_at"))
        elif action == "delete":
            message.deleted_at = str(row.get("occurred_at"))
        elif action in ("reaction_add", "reaction_remove"):
            name = str((details.get("emoji") or {}).get("name") or "?")
            step = 1 if action == "reaction_add" else -1
            message.reactions[name] = max(0, message.reactions[name] + step)
    return sorted(messages.values(), key=lambda m: (m.created_at, m.message_id)), cut


@dataclass
class ArchiveFeedPage:
    """One page of archive rows (newest first), shaped like the hot feed's items."""

    items: list[dict[str, Any]]
    offset: int
    total: int
    cut: bool  # the range held more than FEED_ROWS_LIMIT rows
    page_size: int

    @property
    def older(self) -> int | None:
        following = self.offset + self.page_size
        return following if following < self.total else None

    @property
    def newer(self) -> int | None:
        return max(0, self.offset - self.page_size) if self.offset > 0 else None


def feed_from_rows(rows: Iterable[dict[str, Any]], offset: int, page_size: int) -> ArchiveFeedPage:
    kept = list(rows)
    cut = len(kept) > FEED_ROWS_LIMIT
    kept = kept[:FEED_ROWS_LIMIT]
    offset = max(0, min(offset, max(0, len(kept) - 1)))
    return ArchiveFeedPage(kept[offset : offset + page_size], offset, len(kept), cut, page_size)
