"""Member joined, left (or kicked, or banned), updated (nickname, roles, avatar, timeout), banned, unbanned."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from guildlog.services.modlog.common import (
    BEFORE_UNKNOWN,
    GREEN,
    ORANGE,
    RED,
    RenderContext,
    Rendered,
    Row,
    actor_line,
    add_field,
    change_line,
    embed,
    role,
    show,
    user,
    when,
)
from guildlog.services.modlog.kinds import changes_of, details_of
from guildlog.services.timefmt import parse_time, snowflake_time


def _name(row: Row) -> str:
    return user(row.get("user_id") or row.get("target_id"), row.get("user_name"))


def joined(row: Row, context: RenderContext) -> Rendered:
    details = details_of(row)
    fields: list[dict[str, Any]] = []
    created = snowflake_time(str(row["user_id"])) if row.get("user_id") else None
    joined_at = parse_time(row.get("occurred_at"))
    new = (
        created is not None and joined_at is not None and joined_at - created < timedelta(days=context.new_account_days)
    )
    if created is not None:
        add_field(fields, "Account created", f"<t:{int(created.timestamp())}:R>" + (" ⚠ new account" if new else ""))
    invite = details.get("invite")
    if isinstance(invite, Mapping) and invite.get("code"):
        text = f"`{invite['code']}`"
        if invite.get("inviter_id"):
            text += f" by {user(invite['inviter_id'])}"
        if invite.get("ambiguous"):
            text += " (ambiguous: more than one invite could have been used)"
        add_field(fields, "Invite", text)
    elif isinstance(invite, Mapping) and invite.get("ambiguous"):
        candidates = ", ".join(f"`{c}`" for c in invite.get("candidates") or []) or "several"
        add_field(fields, "Invite", f"one of {candidates} (more than one was used at that moment)")
    if details.get("bot"):
        add_field(fields, "Bot", "yes")
    title = "Member joined" + (" (new account)" if new else "")
    return Rendered(embed(title, GREEN, row, description=f"{_name(row)} joined.", fields=fields))


def left(row: Row, context: RenderContext) -> Rendered:
    details = details_of(row)
    changes, unknown = changes_of(row)
    fields: list[dict[str, Any]] = []
    removed = details.get("removed_by")
    title, description, color = "Member left", f"{_name(row)} left.", ORANGE
    if isinstance(removed, Mapping) and removed.get("action") in ("kick", "ban"):
        verb = "kicked" if removed["action"] == "kick" else "banned"
        who = user(removed.get("actor_id")) if removed.get("actor_id") else "unknown"
        reason = removed.get("reason")
        title, color = f"Member {verb}", RED
        description = f"{_name(row)} was {verb} by {who}" + (f": {reason}" if reason else ".")
    roles = changes.get("roles", {}).get("before") if "roles" not in unknown else None
    if roles is None:
        roles = details.get("roles")
    add_field(fields, "Roles", " ".join(role(r) for r in roles) if roles else ("none" if roles == [] else "unknown"))
    return Rendered(embed(title, color, row, description=description, fields=fields))


_LABELS = {"nick": "Nickname", "roles": "Roles", "avatar": "Server avatar", "communication_disabled_until": "Timeout"}


def updated(row: Row, context: RenderContext) -> Rendered:
    changes, unknown = changes_of(row)
    details = details_of(row)
    lines: list[str] = []
    for name in ("nick", "roles", "avatar", "communication_disabled_until"):
        if name not in changes:
            continue
        change = changes[name]
        if name == "roles":
            lines.append(_roles_line(change, name in unknown))
        elif name == "communication_disabled_until":
            lines.append(change_line("Timeout until", change, name in unknown, lambda v: when(v) if v else "none"))
        elif name == "avatar":
            lines.append(
                "**Server avatar**: changed" if name not in unknown else f"**Server avatar**: {BEFORE_UNKNOWN} → set"
            )
        else:
            lines.append(change_line(_LABELS[name], change, name in unknown))
    title = "Member updated"
    timed_out = row.get("action") == "timeout"
    if timed_out:
        title = "Member timed out"
        if "communication_disabled_until" not in changes:
            until = details.get("communication_disabled_until")
            lines.append(f"**Timeout until**: {BEFORE_UNKNOWN} → {when(until) if until else 'unknown'}")
    fields: list[dict[str, Any]] = []
    if timed_out or context.audit is not None:
        who, reason = actor_line(context.audit)
        add_field(fields, "Moderator", who)
        if reason:
            add_field(fields, "Reason", reason, inline=False)
    description = f"{_name(row)}\n" + "\n".join(lines)
    return Rendered(embed(title, RED if timed_out else ORANGE, row, description=description, fields=fields))


def _roles_line(change: Mapping[str, Any], unknown: bool) -> str:
    after = [str(r) for r in change.get("after") or []]
    if unknown or change.get("before") is None:
        return f"**Roles**: {BEFORE_UNKNOWN} → {' '.join(role(r) for r in after) or 'none'}"
    before = [str(r) for r in change.get("before") or []]
    added = [role(r) for r in after if r not in before]
    removed = [role(r) for r in before if r not in after]
    parts = ([f"added {' '.join(added)}"] if added else []) + ([f"removed {' '.join(removed)}"] if removed else [])
    return f"**Roles**: {'; '.join(parts) or show(after)}"


def banned(row: Row, context: RenderContext) -> Rendered:
    who, reason = actor_line(context.audit, row.get("actor_id"), row.get("reason"))
    fields: list[dict[str, Any]] = []
    add_field(fields, "Moderator", who)
    add_field(fields, "Reason", reason or "none given", inline=False)
    return Rendered(embed("Member banned", RED, row, description=f"{_name(row)} was banned.", fields=fields))


def unbanned(row: Row, context: RenderContext) -> Rendered:
    who, reason = actor_line(context.audit, row.get("actor_id"), row.get("reason"))
    fields: list[dict[str, Any]] = []
    add_field(fields, "Moderator", who)
    if reason:
        add_field(fields, "Reason", reason, inline=False)
    return Rendered(embed("Member unbanned", GREEN, row, description=f"{_name(row)} was unbanned.", fields=fields))


def kicked(row: Row, context: RenderContext) -> Rendered:
    """An audit-log kick (or prune) entry: Discord sends no gateway event that says so."""
    target = user(row.get("target_id"))
    actor = user(row.get("actor_id"))
    reason = row.get("reason")
    if row.get("action") == "member_prune":
        details = details_of(row)
        removed = (details.get("options") or {}).get("members_removed", "some")
        text = f"{actor} pruned {removed} inactive members" + (f": {reason}" if reason else ".")
        return Rendered(embed("Members pruned", RED, row, description=text))
    text = f"{target} was kicked by {actor}" + (f": {reason}" if reason else ".")
    return Rendered(embed("Member kicked", RED, row, description=text))
