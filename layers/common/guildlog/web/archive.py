"""A channel's day that the hot table no longer holds, read from the S3 archive.

The archive's `events/` dataset is partitioned by day, so the read is pruned to the one day shown:
the same read `/logs export` makes (services.exports.collect_rows: each event once, in time order).
Only the channel's rows are kept, and the day is rebuilt as the hot transcript shows it: each
message with its later texts, its deletion and its reactions. A day is bounded like the hot one
(TRANSCRIPT_LIMIT events); the page says so when it holds more, and an export has them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from guildlog.services.exports import ExportRequest, collect_rows
from guildlog.services.modlog.kinds import details_of
from guildlog.web.reads import TRANSCRIPT_LIMIT, Message, attachments


class ArchiveRows(Protocol):
    """adapters.s3_exports.S3ArchiveRows: every normalized row of a day's partition."""

    def rows(self, day: date) -> Iterable[dict[str, Any]]: ...


def archive_transcript(archive: ArchiveRows, guild_id: str, channel_id: str, day: date) -> tuple[list[Message], bool]:
    """(the channel's messages written on `day`, oldest first; whether the day held more than the page shows)."""
    request = ExportRequest(guild_id=guild_id, channel_id=channel_id, first=day, last=day)
    rows = collect_rows(archive, request).rows
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
