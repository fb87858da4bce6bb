"""Message deleted, edited and bulk deleted."""

from __future__ import annotations

from guildlog.services.modlog.common import (
    ORANGE,
    RED,
    RenderContext,
    Rendered,
    Row,
    add_field,
    attachment_lines,
    channel,
    embed,
    user,
    when,
)
from guildlog.services.modlog.kinds import changes_of, details_of
from guildlog.services.modlog.limits import DESCRIPTION, cut

_UNLOGGED = "_Content unknown: guildlog has no copy (sent before it was logging, or past retention)._"
UNKNOWN_AUTHOR = "unknown (the message was not logged)"
_COPIES_HEAD = "\n\n**Archived copies** (links work for 15 minutes)\n"
# The two halves of an edit share the description's 4,096 characters.
_HALF = 1950


def deleted(row: Row, context: RenderContext) -> Rendered:
    last = context.versions[-1] if context.versions else None
    fields: list[dict[str, object]] = []
    add_field(fields, "Channel", channel(row.get("channel_id")))
    if last is not None:
        add_field(fields, "Author", user(last.get("user_id"), last.get("user_name")))
        add_field(fields, "Sent", when(context.versions[0].get("occurred_at"), "R"))
        content = str(last.get("content") or "")
        files = attachment_lines(last.get("attachments"))
        description = content or ("_(no text: attachments only)_" if files else "_(no text)_")
        if files:
            add_field(fields, "Attachments", files, inline=False)
    else:
        add_field(fields, "Author", UNKNOWN_AUTHOR)
        description = _UNLOGGED
    if context.deleted_by is not None:
        who = user(context.deleted_by.get("actor_id"))
        reason = context.deleted_by.get("reason")
        add_field(fields, "Deleted by", f"{who}: {reason}" if reason else who, inline=False)
    else:
        add_field(fields, "Deleted by", "its author, or unknown (the audit log names no one)", inline=False)
    # Copies of its files outlive the CDN links Discord revokes with the message. A presigned link is
    # too long for a field (1,024 characters), so the copies share the description's room.
    room = DESCRIPTION - len(description) - len(_COPIES_HEAD)
    copies = []
    for line in context.copies:
        if len(line) + 1 > room:
            break
        copies.append(line)
        room -= len(line) + 1
    if copies:
        description += _COPIES_HEAD + "\n".join(copies)
    return Rendered(embed("Message deleted", RED, row, description=description, fields=fields))


def edited(row: Row, context: RenderContext) -> Rendered:
    changes, unknown = changes_of(row)
    after = str(row.get("content") or "")
    if "content" in changes:
        before_value = changes["content"].get("before")
        before = None if "content" in unknown or before_value is None else str(before_value)
    else:
        earlier = [v for v in context.versions if str(v.get("occurred_at") or "") < str(row.get("occurred_at") or "")]
        before = str(earlier[-1].get("content") or "") if earlier else None
    link = f"https://discord.com/channels/{row.get('guild_id')}/{row.get('channel_id')}/{row.get('message_id')}"
    before_text = "_before: unknown (guildlog has no earlier version)_" if before is None else _half(before)
    description = f"[Jump to message]({link})\n**Before**\n{before_text}\n**After**\n{_half(after)}"
    fields: list[dict[str, object]] = []
    add_field(fields, "Channel", channel(row.get("channel_id")))
    add_field(fields, "Author", user(row.get("user_id"), row.get("user_name")))
    return Rendered(embed("Message edited", ORANGE, row, description=description, fields=fields))


def _half(text: str) -> str:
    return cut(text, _HALF) if text else "_(no text)_"


def bulk_deleted(row: Row, context: RenderContext) -> Rendered:
    details = details_of(row)
    ids = [str(i) for i in details.get("ids") or []]
    count = int(details.get("count") or len(ids))
    fields: list[dict[str, object]] = []
    add_field(fields, "Channel", channel(row.get("channel_id")))
    add_field(fields, "Messages", str(count))
    if context.deleted_by is not None:
        add_field(fields, "Deleted by", user(context.deleted_by.get("actor_id")))
    logged = sum(1 for i in ids if context.bulk.get(i))
    description = f"{count} messages deleted at once; {logged} of them were logged (transcript attached)."
    lines = []
    for message_id in ids:
        versions = context.bulk.get(message_id) or []
        if not versions:
            lines.append(f"[{message_id}] (not logged)")
            continue
        last = versions[-1]
        name = last.get("user_name") or last.get("user_id") or "unknown"
        text = " ".join(str(last.get("content") or "").splitlines())
        lines.append(f"[{versions[0].get('occurred_at')}] {name} ({last.get('user_id')}): {text}")
    transcript = "\n".join(lines) + "\n"
    name = f"deleted-{row.get('channel_id') or 'channel'}-{row.get('occurred_at', '')[:10]}.txt"
    return Rendered(
        embed("Messages bulk deleted", RED, row, description=description, fields=fields), files=((name, transcript),)
    )
