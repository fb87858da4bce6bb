"""Role, channel, thread, emoji, server (guild) and invite changes: what changed, before → after."""

from __future__ import annotations

from typing import Any

from guildlog.services.modlog.common import (
    BEFORE_UNKNOWN,
    BLUE,
    GREEN,
    GREY,
    RED,
    RenderContext,
    Rendered,
    Row,
    add_field,
    change_line,
    channel,
    embed,
    role,
    show,
    user,
    when,
)
from guildlog.services.modlog.kinds import changes_of, details_of

_VERB = {"create": ("created", GREEN), "update": ("updated", BLUE), "delete": ("deleted", RED)}
# What a reader needs of each thing when guildlog cannot say what changed.
_SHOWN = ("name", "topic", "parent_id", "permissions", "color", "hoist", "mentionable", "nsfw", "rate_limit_per_user")


def _verb(row: Row) -> tuple[str, str, int]:
    action = str(row.get("action") or "")
    for suffix, (word, color) in _VERB.items():
        if action.endswith(suffix):
            return suffix, word, color
    return "update", "updated", BLUE


def _changes_text(row: Row) -> str:
    """The row's changes, one line each; without them, the current values and 'before: unknown'."""
    changes, unknown = changes_of(row)
    if changes:
        return "\n".join(change_line(name, change, name in unknown) for name, change in sorted(changes.items()))
    details = details_of(row)
    now = [f"**{name}**: {BEFORE_UNKNOWN} → {show(details[name])}" for name in _SHOWN if name in details]
    return "\n".join(now) or f"_{BEFORE_UNKNOWN}: guildlog has no earlier state to compare_"


def _thing(row: Row, kind: str, mention: str) -> Rendered:
    suffix, word, color = _verb(row)
    details = details_of(row)
    name = details.get("name")
    head = f"{mention} ({show(name)})" if name else mention
    lines = [head]
    if suffix == "update":
        lines.append(_changes_text(row))
    fields: list[dict[str, Any]] = []
    if row.get("actor_id"):
        add_field(fields, "By", user(row.get("actor_id")))
    return Rendered(
        embed(f"{kind} {word}", color if suffix != "update" else GREY, row, description="\n".join(lines), fields=fields)
    )


def role_changed(row: Row, context: RenderContext) -> Rendered:
    return _thing(row, "Role", role(row.get("target_id")) if row.get("target_id") else "a role")


def channel_changed(row: Row, context: RenderContext) -> Rendered:
    return _thing(row, "Channel", channel(row.get("channel_id") or row.get("target_id")))


def thread_changed(row: Row, context: RenderContext) -> Rendered:
    return _thing(row, "Thread", channel(row.get("channel_id") or row.get("target_id")))


def guild_changed(row: Row, context: RenderContext) -> Rendered:
    changes, unknown = changes_of(row)
    text = _changes_text(row) if changes else f"**name**: {BEFORE_UNKNOWN} → {show(details_of(row).get('name'))}"
    return Rendered(embed("Server updated", GREY, row, description=text))


def emoji_changed(row: Row, context: RenderContext) -> Rendered:
    changes, unknown = changes_of(row)
    what = "Stickers" if row.get("event_type") == "GUILD_STICKERS_UPDATE" else "Emojis"
    if changes:
        text = _changes_text(row)
    else:
        items = details_of(row).get("items") or []
        names = ", ".join(f"`{i.get('name')}`" for i in items if isinstance(i, dict))
        text = f"{BEFORE_UNKNOWN} → {len(items)}: {names or 'none'}"
    return Rendered(embed(f"{what} updated", GREY, row, description=text))


def invite_changed(row: Row, context: RenderContext) -> Rendered:
    details = details_of(row)
    code = details.get("code")
    created = row.get("action") == "invite_create"
    fields: list[dict[str, Any]] = []
    add_field(fields, "Channel", channel(row.get("channel_id")))
    if created:
        add_field(fields, "By", user(row.get("actor_id"), row.get("user_name")))
        max_uses = details.get("max_uses")
        add_field(fields, "Uses", f"at most {max_uses}" if max_uses else "unlimited")
        add_field(fields, "Expires", when(details["expires_at"], "R") if details.get("expires_at") else "never")
        if details.get("temporary"):
            add_field(fields, "Temporary membership", "yes")
    title = "Invite created" if created else "Invite deleted"
    return Rendered(embed(title, GREEN if created else RED, row, description=f"`{code or 'unknown'}`", fields=fields))
