"""An erasure's two questions to the archive, asked in SQL over the `events` and `events_csv` tables.

Athena in AWS (the stack's workgroup), DuckDB locally (the local stack's Athena API, or the engine of
`guildlog query --local`): the same text on both, through the `QueryRunner` that `/logs message`'s
archive look-up uses (services/archive_lookup.py).

- **Which days hold the member** (`member_days`): their rows (`user_id` or `target_id`) and the rows of
  their messages (`message_id` of a message they wrote), on any day. This is how a member whose events
  have left the hot table, or who is known only from imported history, is found. The tables are
  partitioned by day, not by guild or member, so the query reads the whole `events` dataset once (twice
  on Athena, for the subquery): see docs/data-rights.md for what that costs.
- **What is left** (`verify`): after the rewrite, the member's rows that still hold content, attachments
  or a name, and the rows of their messages (with no author named) that still hold content, counted in
  `events` and in `events_csv`. The erasure keeps ids, times and channels (the facts), so the rows are
  still there; a clean erasure counts 0 in both. A row redacted at ingest after the tombstone holds
  `[erased]` as its name and `[]` as its attachments, which count as nothing left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guildlog.errors import QueryError
from guildlog.queries import BoundQuery
from guildlog.services.archive_lookup import QueryRunner
from guildlog.services.erasure.scrub import ERASED

# The member's own messages, as services/erasure/planner.is_own_message recognises them.
_OWN_MESSAGES = """SELECT message_id FROM {table}
        WHERE guild_id = ? AND user_id = ? AND category = 'message' AND action IN ('create', 'update')"""

# Placeholders: guild, user, user, guild, user.
MEMBER_DAYS_SQL = """SELECT DISTINCT year, month, day
FROM events
WHERE guild_id = ?
    AND (user_id = ? OR target_id = ? OR message_id IN (
        SELECT message_id FROM events
        WHERE guild_id = ? AND user_id = ? AND category = 'message' AND action IN ('create', 'update')))
ORDER BY year, month, day"""

_HOLDS_TEXT = "coalesce({column}, '') NOT IN ({nothing})"


def _left_in(table: str) -> str:
    """The count of what is left in one table. Every piece of the text is a constant of this module; the
    values are bound as parameters, never written into it."""
    content = _HOLDS_TEXT.format(column="content", nothing="''")
    attachments = _HOLDS_TEXT.format(column="attachments", nothing="'', '[]'")
    name = _HOLDS_TEXT.format(column="user_name", nothing=f"'', '{ERASED}'")
    return f"""SELECT '{table}' AS dataset, count(*) AS rows_left
FROM {table}
WHERE guild_id = ?
    AND (
        ((user_id = ? OR target_id = ?) AND ({content} OR {attachments} OR {name}))
        OR (coalesce(user_id, '') = '' AND ({content} OR {attachments}) AND message_id IN (
        {_OWN_MESSAGES.format(table=table)}))
    )"""  # noqa: S608


# Placeholders: (guild, user, user, guild, user) for events, then the same for events_csv.
VERIFY_SQL = f"{_left_in('events')}\nUNION ALL\n{_left_in('events_csv')}"


@dataclass(frozen=True)
class QueryCheck:
    """The verification query's answer: its text, the engine's id for it, and the rows left per table."""

    sql: str
    query_id: str
    left: dict[str, int]
    bytes_scanned: int = 0

    @property
    def found(self) -> int:
        return sum(self.left.values())


def member_days_query(guild_id: str, user_id: str) -> BoundQuery:
    values = (guild_id, user_id, user_id, guild_id, user_id)
    return BoundQuery("erasure_member_days", MEMBER_DAYS_SQL, values, {"guild": guild_id, "user": user_id})


def verify_query(guild_id: str, user_id: str) -> BoundQuery:
    values = (guild_id, user_id, user_id, guild_id, user_id) * 2
    return BoundQuery("erasure_verification", VERIFY_SQL, values, {"guild": guild_id, "user": user_id})


class ArchiveMemberQueries:
    """The two queries through an injected runner. QueryError when the engine fails or answers oddly."""

    def __init__(self, runner: QueryRunner) -> None:
        self.runner = runner

    def member_days(self, guild_id: str, user_id: str) -> list[date]:
        """Every partition day of `events` holding a row of the member or of one of their messages."""
        result = self.runner.run_bound(member_days_query(guild_id, user_id))
        days = []
        for row in result.rows:
            try:
                days.append(date(int(row[0]), int(row[1]), int(row[2])))
            except (TypeError, ValueError, IndexError):
                raise QueryError("the archive answered a day that is not one", row=repr(row)[:80]) from None
        return sorted(set(days))

    def verify(self, guild_id: str, user_id: str) -> QueryCheck:
        bound = verify_query(guild_id, user_id)
        result = self.runner.run_bound(bound)
        left = {"events": 0, "events_csv": 0}
        for row in result.rows:
            if len(row) < 2 or str(row[0]) not in left:
                raise QueryError("the verification query answered an unknown table", row=repr(row)[:80])
            left[str(row[0])] = int(row[1] or 0)
        return QueryCheck(bound.sql, result.execution_id or "", left, result.bytes_scanned)
