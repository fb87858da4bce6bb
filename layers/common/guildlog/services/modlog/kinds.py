"""Which rows the log posts, as which kind, and the category each kind belongs to.

A kind is what a moderator turns on, off or sends to a channel (`/logs config route`); a category
groups kinds the way the archive does (message, member, moderation, server, voice).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# kind → category. Order is the order `/logs config` lists them in.
KINDS: dict[str, str] = {
    "message_delete": "message",
    "message_edit": "message",
    "message_bulk_delete": "message",
    "member_join": "member",
    "member_leave": "member",
    "member_update": "member",
    "member_ban": "moderation",
    "member_unban": "moderation",
    "member_kick": "moderation",
    "role": "server",
    "channel": "server",
    "thread": "server",
    "emoji": "server",
    "guild": "server",
    "invite": "server",
    "voice": "voice",
}
CATEGORIES: tuple[str, ...] = ("message", "member", "moderation", "server", "voice")
# Member fields whose change is worth a post; others (pending, boosts, flags) are archived only.
MEMBER_FIELDS = ("nick", "roles", "avatar", "communication_disabled_until")

_BY_TYPE: dict[str, str] = {
    "MESSAGE_DELETE": "message_delete",
    "MESSAGE_UPDATE": "message_edit",
    "MESSAGE_DELETE_BULK": "message_bulk_delete",
    "GUILD_MEMBER_ADD": "member_join",
    "GUILD_MEMBER_REMOVE": "member_leave",
    "GUILD_MEMBER_UPDATE": "member_update",
    "GUILD_BAN_ADD": "member_ban",
    "GUILD_BAN_REMOVE": "member_unban",
    "GUILD_ROLE_CREATE": "role",
    "GUILD_ROLE_UPDATE": "role",
    "GUILD_ROLE_DELETE": "role",
    "CHANNEL_CREATE": "channel",
    "CHANNEL_UPDATE": "channel",
    "CHANNEL_DELETE": "channel",
    "THREAD_CREATE": "thread",
    "THREAD_UPDATE": "thread",
    "THREAD_DELETE": "thread",
    "GUILD_EMOJIS_UPDATE": "emoji",
    "GUILD_STICKERS_UPDATE": "emoji",
    "GUILD_UPDATE": "guild",
    "INVITE_CREATE": "invite",
    "INVITE_DELETE": "invite",
    "VOICE_STATE_UPDATE": "voice",
}
# Audit-log entries with no gateway event of their own: the only word of a kick or a prune.
_AUDIT_KINDS = {"member_kick": "member_kick", "member_prune": "member_kick"}
_AUDIT_TYPE = "GUILD_AUDIT_LOG_ENTRY_CREATE"
# Every gateway event type the log may post (kind_of may still pass over a row of one): what the
# relay sends on within --flush-ms instead of holding it with routine events (--linger-ms).
POSTED_EVENT_TYPES: frozenset[str] = frozenset(_BY_TYPE) | {_AUDIT_TYPE}


def details_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's `details` JSON text as a dict; {} when absent, not text, not JSON or not an object."""
    raw = row.get("details")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def changes_of(row: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """(field → {before, after}, fields whose before is unknown) from the row's `changes` column, if any."""
    raw = row.get("changes")
    if not raw:
        return {}, set()
    try:
        found = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}, set()
    if not isinstance(found, dict):
        return {}, set()
    unknown = found.get("unknown")
    fields = {k: v for k, v in found.items() if k != "unknown" and isinstance(v, dict)}
    return fields, {str(u) for u in unknown} if isinstance(unknown, list) else set()


def kind_of(row: Mapping[str, Any]) -> str | None:
    """The log kind of a row, or None when the log does not post it."""
    event_type = str(row.get("event_type") or "")
    if not row.get("guild_id"):
        return None
    if event_type == _AUDIT_TYPE:
        return _AUDIT_KINDS.get(str(row.get("action") or ""))
    kind = _BY_TYPE.get(event_type)
    if kind == "message_edit":
        details = details_of(row)
        # An embed unfurl or a pin is an update without new content: nothing a moderator reads.
        if details.get("partial") or row.get("content") is None or not details.get("edited_timestamp"):
            return None
    if kind == "member_leave":
        removed = details_of(row).get("removed_by")
        # A ban is told by its GUILD_BAN_ADD (with the moderator): one post, not a leave and a ban.
        if isinstance(removed, dict) and removed.get("action") == "ban":
            return None
    if kind == "member_update" and row.get("action") != "timeout":
        changes, _ = changes_of(row)
        if not any(name in changes for name in MEMBER_FIELDS):
            return None
    return kind


def category_of(kind: str) -> str:
    return KINDS[kind]
