"""A message's versions and deletion from the S3 archive, for `/logs message` once the hot table has let it go.

The hot table keeps a message for the server's retention (30 days by default); the archive keeps
it for as long as the bucket does, and imported history is only there. One query over the `events`
table (Athena in AWS, DuckDB locally: both run the same Athena SQL) reads the rows of the message,
pruned to the partitions where they can be:

- A message's create is filed under the UTC day of its `timestamp`, which is its snowflake's time
  (`(id >> 22) + 1420070400000` ms), so the create is always in that day's partition.
- Its edits are filed under their `edited_timestamp` and its deletion under the moment ingest heard
  of it. Most edits and deletions follow within hours; reading the next day as well catches those
  that cross midnight. Reading further would multiply what every look-up scans (Athena bills by
  bytes, and a busy server's day is large) for the rare edit days later, which the answer then
  does not show: it names the days it read, so it never claims more than it looked at.

The query keeps one row per `event_id`, like every reader of the archive (an event archived again
under another batch counts once).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from guildlog.queries import BoundQuery
from guildlog.queries.result import QueryResult
from guildlog.services.timefmt import snowflake_time

# The create's own day, and the next one for an edit or a deletion that crossed midnight (see above).
DAYS_AFTER = 1

# Placeholders: guild, from, to, message id, the message id quoted as JSON (for a bulk delete's ids).
LOOKUP_SQL = """SELECT event_id, event_type, action, occurred_at, channel_id, user_id, user_name, content, attachments,
    details
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND event_type IN ('MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK')
        AND (message_id = ? OR (event_type = 'MESSAGE_DELETE_BULK' AND strpos(details, ?) > 0))
) AS e
WHERE event_copy = 1
ORDER BY occurred_at, event_id"""

# Placeholders: guild, from, to. Whether guildlog archived anything of the server on those days:
# what tells "never logged" from "not logged while guildlog was logging".
ACTIVITY_SQL = """SELECT count(*) AS events
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?"""


class QueryRunner(Protocol):
    """adapters.athena.AthenaQueryRunner in AWS; the local stack's DuckDB engine behind the same API."""

    def run_bound(self, bound: BoundQuery) -> QueryResult: ...


@dataclass(frozen=True)
class ArchivedMessage:
    """What the archive holds of one message over `first`..`last` (UTC days).

    `versions` and `deletion` are shaped like the hot table's items (`V#<time>` versions with
    `version` create or edit, a `DEL` marker), so `/logs message` renders both alike.
    `server_events`: how many events of the server the archive holds over those days (only counted
    when the message itself was not found; None otherwise).
    """

    message_id: str
    first: date
    last: date
    versions: list[dict[str, Any]]
    deletion: dict[str, Any] | None
    server_events: int | None = None

    @property
    def found(self) -> bool:
        return bool(self.versions or self.deletion)

    @property
    def days(self) -> str:
        """The days read, in words: `2026-11-20 and 2026-11-21`."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} and {self.last.isoformat()}"


def lookup_days(message_id: str) -> tuple[date, date]:
    """The partition days a message's rows can be in: its id's UTC day and the next (see the module)."""
    created = snowflake_time(message_id).date()
    return created, created + timedelta(days=DAYS_AFTER)


def lookup_query(guild_id: str, message_id: str) -> BoundQuery:
    first, last = lookup_days(message_id)
    values = (guild_id, first.isoformat(), last.isoformat(), message_id, json.dumps(message_id))
    parameters = {"guild": guild_id, "from": first.isoformat(), "to": last.isoformat(), "message": message_id}
    return BoundQuery("archive_message_lookup", LOOKUP_SQL, values, parameters)


def activity_query(guild_id: str, first: date, last: date) -> BoundQuery:
    values = (guild_id, first.isoformat(), last.isoformat())
    return BoundQuery(
        "archive_server_activity", ACTIVITY_SQL, values, {"guild": guild_id, "from": values[1], "to": values[2]}
    )


class ArchiveLookup:
    """Finds a message in the archive through an injected query runner."""

    def __init__(self, runner: QueryRunner) -> None:
        self.runner = runner

    def find(self, guild_id: str, message_id: str) -> ArchivedMessage:
        """The message's archived versions and deletion. QueryError when the engine fails."""
        first, last = lookup_days(message_id)
        result = self.runner.run_bound(lookup_query(guild_id, message_id))
        archived = from_rows(message_id, first, last, result.records())
        if archived.found:
            return archived
        counted = self.runner.run_bound(activity_query(guild_id, first, last)).rows
        events = int(counted[0][0] or 0) if counted else 0
        return ArchivedMessage(message_id, first, last, [], None, server_events=events)


def from_rows(message_id: str, first: date, last: date, rows: Sequence[dict[str, Any]]) -> ArchivedMessage:
    """Archive rows (oldest first) → versions and deletion shaped like the hot table's items."""
    versions: list[dict[str, Any]] = []
    deletion: dict[str, Any] | None = None
    for row in sorted(rows, key=lambda r: (str(r.get("occurred_at") or ""), str(r.get("event_id") or ""))):
        kind = row.get("event_type")
        at = str(row.get("occurred_at") or "")
        if kind in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            if kind == "MESSAGE_UPDATE" and row.get("content") is None:
                continue  # an embed unfurled or a pin: no new text, not a version
            versions.append(
                {
                    "SK": f"V#{at}",
                    "version": "create" if kind == "MESSAGE_CREATE" else "edit",
                    "occurred_at": at,
                    "content": row.get("content") or "",
                    "attachments": row.get("attachments") or "[]",
                    "user_id": row.get("user_id"),
                    "user_name": row.get("user_name"),
                    "channel_id": row.get("channel_id"),
                    "message_id": message_id,
                    "event_id": row.get("event_id"),
                }
            )
        elif kind in ("MESSAGE_DELETE", "MESSAGE_DELETE_BULK") and deletion is None:
            deletion = {
                "SK": "DEL",
                "deleted_at": at,
                "channel_id": row.get("channel_id"),
                "bulk": kind == "MESSAGE_DELETE_BULK",
                "event_id": row.get("event_id"),
            }
    # A create archived after an edit of it (out of order) still comes first.
    versions.sort(key=lambda v: (v["version"] != "create", v["SK"]))
    return ArchivedMessage(message_id, first, last, versions, deletion)


def past_retention(message_id: str, now: datetime, retention_days: int) -> bool:
    """Whether the hot table has let the message's create go (its id's time is older than the retention)."""
    return now - snowflake_time(message_id) > timedelta(days=retention_days)
