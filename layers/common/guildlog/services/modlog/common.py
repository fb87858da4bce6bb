"""What every renderer shares: the render context, the embed shape, mentions, times, before → after."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guildlog.services.timefmt import parse_time

Row = Mapping[str, Any]
Embed = dict[str, Any]

RED, ORANGE, GREEN, BLUE, GREY, PURPLE = 0xED4245, 0xF0B232, 0x57F287, 0x5865F2, 0x99AAB5, 0x9B59B6
UNKNOWN = "unknown"
BEFORE_UNKNOWN = "before: unknown"
NEW_ACCOUNT_DAYS = 7


@dataclass(frozen=True)
class RenderContext:
    """What the hot store knew when the post was made; every part may be missing.

    `versions`: the message's stored versions, oldest first (deletes, edits). `deleted_by`: the
    audit-log feed item of a deletion. `audit`: the audit-log feed item of a ban, unban or timeout
    (moderator and reason). `bulk`: message id → its versions, for a bulk delete's transcript.
    """

    versions: Sequence[Mapping[str, Any]] = ()
    deleted_by: Mapping[str, Any] | None = None
    audit: Mapping[str, Any] | None = None
    bulk: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    new_account_days: int = NEW_ACCOUNT_DAYS
    # Markdown lines for the message's attachment copies: a short-lived link each, or why there is none.
    copies: Sequence[str] = ()


@dataclass(frozen=True)
class Rendered:
    """One embed, and files to attach to its message (name, text)."""

    embed: Embed
    files: tuple[tuple[str, str], ...] = ()


def user(user_id: Any, name: Any = None) -> str:
    """A member as a mention (never pings: every post sends empty `allowed_mentions`) and a name."""
    if not user_id:
        return f"{name}" if name else UNKNOWN
    return f"<@{user_id}> ({name})" if name else f"<@{user_id}>"


def channel(channel_id: Any) -> str:
    return f"<#{channel_id}>" if channel_id else UNKNOWN


def role(role_id: Any) -> str:
    return f"<@&{role_id}>"


def when(iso_time: Any, style: str = "f") -> str:
    moment = parse_time(iso_time)
    return f"<t:{int(moment.timestamp())}:{style}>" if moment else str(iso_time or UNKNOWN)


def show(value: Any) -> str:
    """A before or after value as a reader wants it: text plain, lists joined, nothing as 'none'."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def change_line(name: str, change: Mapping[str, Any], unknown: bool, render: Any = show) -> str:
    """`name: before → after`, with `before: unknown` when guildlog did not know the previous state."""
    before = BEFORE_UNKNOWN if unknown else render(change.get("before"))
    return f"**{name}**: {before} → {render(change.get('after'))}"


def embed(
    title: str, color: int, row: Row, *, description: str = "", fields: list[dict[str, Any]] | None = None
) -> Embed:
    """The common shape: title, colour, text, fields, the event's time, and the ids a moderator searches by."""
    built: Embed = {"title": title, "color": color}
    if description:
        built["description"] = description
    if fields:
        built["fields"] = fields
    ids = [f"{label} {row.get(key)}" for label, key in (("user", "user_id"), ("message", "message_id")) if row.get(key)]
    built["footer"] = {"text": " · ".join(ids) if ids else str(row.get("event_type") or "")}
    if row.get("occurred_at"):
        built["timestamp"] = str(row["occurred_at"])
    return built


def add_field(fields: list[dict[str, Any]], name: str, value: Any, inline: bool = True) -> None:
    fields.append({"name": name, "value": str(value) if value not in (None, "") else UNKNOWN, "inline": inline})


def attachments(raw: Any) -> list[dict[str, Any]]:
    try:
        found = json.loads(raw) if isinstance(raw, str) and raw else raw
    except ValueError:
        return []
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def attachment_lines(raw: Any) -> str:
    items = attachments(raw)
    lines = []
    for item in items:
        name = str(item.get("filename") or item.get("id") or "file")
        lines.append(f"[{name}]({item['url']})" if item.get("url") else name)
    return "\n".join(lines)


def actor_line(audit: Mapping[str, Any] | None, actor_id: Any = None, reason: Any = None) -> tuple[str, str | None]:
    """(who, reason) from the matching audit-log item, else from the row itself."""
    if audit is not None:
        return user(audit.get("actor_id")), audit.get("reason") or reason
    return (user(actor_id), reason) if actor_id else ("unknown (no audit-log entry)", reason)
