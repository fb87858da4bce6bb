"""What the hot store knows that a post needs: a message's versions, and the audit entry of an action.

Reads only (Query), through the commands' reader port. Discord's audit-log entry often arrives a
moment after the event it explains; when it is not there yet the post says so rather than waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from guildlog.services.attachments import Linker, copy_lines
from guildlog.services.commands.context import HotReader, Item
from guildlog.services.commands.message import message_history
from guildlog.services.feed import query_feed
from guildlog.services.keys import category_index_pk
from guildlog.services.modlog.common import RenderContext
from guildlog.services.timefmt import iso, parse_time

AUDIT_WINDOW = timedelta(minutes=2)
# The audit actions that explain a row, by the row's kind (and, for a member update, a timeout).
_AUDIT_FOR = {"member_ban": "member_ban_add", "member_unban": "member_ban_remove", "member_update": "member_update"}


def context_for(
    kind: str, row: Mapping[str, Any], reader: HotReader, *, new_account_days: int, links: Linker | None = None
) -> RenderContext:
    """`links` signs links to a deleted message's attachment copies (none: the post names them only)."""
    guild = str(row.get("guild_id") or "")
    if kind in ("message_delete", "message_edit") and row.get("message_id"):
        history = message_history(reader, str(row["message_id"]), guild)
        if history is None:
            return RenderContext(new_account_days=new_account_days)
        copies = copy_lines(history.copies, links, plain=True) if kind == "message_delete" else []
        return RenderContext(
            versions=history.versions,
            deleted_by=history.deleted_by,
            new_account_days=new_account_days,
            copies=copies,
        )
    if kind == "message_bulk_delete":
        from guildlog.services.modlog.kinds import details_of

        ids = [str(i) for i in details_of(row).get("ids") or []][:100]
        bulk = {}
        for message_id in ids:
            history = message_history(reader, message_id, guild)
            if history is not None and history.versions:
                bulk[message_id] = history.versions
        audit = audit_entry(reader, guild, "message_bulk_delete", None, row.get("occurred_at"), row.get("channel_id"))
        return RenderContext(bulk=bulk, deleted_by=audit, new_account_days=new_account_days)
    action = _AUDIT_FOR.get(kind)
    if action is not None:
        audit = audit_entry(reader, guild, action, row.get("user_id"), row.get("occurred_at"))
        return RenderContext(audit=audit, new_account_days=new_account_days)
    return RenderContext(new_account_days=new_account_days)


def audit_entry(reader: HotReader, guild: str, action: str, target: Any, at: Any, channel: Any = None) -> Item | None:
    """The nearest `action` entry of the guild's moderation feed around `at` for `target` (or `channel`)."""
    moment = parse_time(at)
    if moment is None or not guild:
        return None
    low, high = iso(moment - AUDIT_WINDOW), iso(moment + AUDIT_WINDOW)
    pk = category_index_pk(guild, "moderation")
    page = query_feed(reader, guild, index="GSI3", pk=pk, sk_from=f"E#{low}", sk_to=f"E#{high}~", limit=100)
    matches = [
        e
        for e in page.items
        if e.get("action") == action
        and (target is None or e.get("target_id") == target)
        and (channel is None or (e.get("channel_id") or e.get("target_id")) == channel)
    ]
    return min(matches, key=lambda e: abs(_seconds(e.get("occurred_at"), moment)), default=None)


def _seconds(value: object, moment: datetime) -> float:
    found = parse_time(value)
    return (found - moment).total_seconds() if found else float("inf")


def kick_already_told(row: Mapping[str, Any], reader: HotReader) -> bool:
    """Whether the member's leave row near this kick entry already says "kicked" (its `removed_by`).

    The audit entry of a kick often arrives after GUILD_MEMBER_REMOVE; then the leave was posted as
    "left" and the entry is the only word of the kick. When the entry came first, the leave row
    carries the kick and posting the entry too would tell it twice.
    """
    from guildlog.services.keys import member_index_pk
    from guildlog.services.modlog.kinds import details_of

    moment = parse_time(row.get("occurred_at"))
    guild, target = row.get("guild_id"), row.get("target_id")
    if moment is None or not guild or not target:
        return False
    low, high = iso(moment - AUDIT_WINDOW), iso(moment + AUDIT_WINDOW)
    page = query_feed(
        reader, str(guild), index="GSI1", pk=member_index_pk(str(guild), str(target)), sk_from=f"E#{low}",
        sk_to=f"E#{high}~", limit=100,
    )  # fmt: skip
    for item in page.items:
        if item.get("event_type") != "GUILD_MEMBER_REMOVE":
            continue
        removed = details_of(item).get("removed_by")
        if isinstance(removed, dict) and removed.get("action") == "kick":
            return True
    return False
