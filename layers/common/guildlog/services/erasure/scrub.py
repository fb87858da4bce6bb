"""What of a payload, a row or a hot item belongs to a member, and its redaction.

A member's *content* is their messages' text, attachments, embeds, stickers and polls; their *names*
are username, global name, nick and avatars (and their banners and decorations). Ids stay: an id is
what lets a later run, the verification and the audit recognise what was erased, and the facts
(who, when, which channel, counts) are not the member's content.

Everything here is pure and deterministic: redacting a redacted value changes nothing, so every pass
can be run again.
"""

from __future__ import annotations

import json
from typing import Any

ERASED = "[erased]"
# A user object's fields that name or picture the member.
NAME_FIELDS = ("username", "global_name", "display_name", "nick")
PICTURE_FIELDS = (
    "avatar",
    "banner",
    "avatar_decoration_data",
    "accent_color",
    "bio",
    "pronouns",
    "primary_guild",
    "clan",
)
# A message's fields that hold what the member wrote or sent.
CONTENT_LISTS = ("attachments", "embeds", "sticker_items", "stickers", "components", "message_snapshots")
# Audit-log change keys that carry a member's names or pictures.
AUDIT_NAME_KEYS = frozenset({"nick", "avatar_hash", "name", "username", "global_name", "banner_hash"})


def _is_user_object(value: dict[str, Any]) -> bool:
    return any(k in value for k in ("username", "global_name", "discriminator", "avatar"))


def _blank_names(value: dict[str, Any]) -> None:
    for name in NAME_FIELDS:
        if isinstance(value.get(name), str):
            value[name] = ERASED
    for name in PICTURE_FIELDS:
        if value.get(name) is not None:
            value[name] = None


def _blank_message(value: dict[str, Any]) -> None:
    if isinstance(value.get("content"), str):
        value["content"] = ""
    for name in CONTENT_LISTS:
        if isinstance(value.get(name), list):
            value[name] = []
    if value.get("poll") is not None:
        value["poll"] = None


def scrub_payload(value: Any, user_id: str, message_ids: frozenset[str] = frozenset()) -> Any:
    """A copy of Discord JSON with the member's names, pictures and messages' content redacted: their
    user objects (author, user, mentions, members), members (nick, avatar), the messages they wrote
    (also a reply's `referenced_message`), messages named in `message_ids` (an update without its
    author), and audit-log changes to their names."""
    if isinstance(value, list):
        return [scrub_payload(v, user_id, message_ids) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: scrub_payload(v, user_id, message_ids) for k, v in value.items()}
    if out.get("id") == user_id and _is_user_object(out):
        _blank_names(out)
    user = out.get("user")
    if isinstance(user, dict) and user.get("id") == user_id:
        _blank_names(out)  # a member object: its nick and guild avatar
    author = out.get("author")
    if (isinstance(author, dict) and author.get("id") == user_id) or (
        "content" in out and out.get("id") in message_ids
    ):
        _blank_message(out)
    if out.get("target_id") == user_id and isinstance(out.get("changes"), list):
        for change in out["changes"]:
            if isinstance(change, dict) and change.get("key") in AUDIT_NAME_KEYS:
                for side in ("old_value", "new_value"):
                    if side in change:
                        change[side] = ERASED
    return out


def involves(value: Any, user_id: str) -> bool:
    """Whether Discord JSON names the member anywhere (as author, user, member, target or user id).
    True before and after `scrub_payload`, which keeps ids: what counts and verifies an erasure."""
    if isinstance(value, list):
        return any(involves(v, user_id) for v in value)
    if not isinstance(value, dict):
        return False
    if value.get("user_id") == user_id or value.get("target_id") == user_id:
        return True
    if value.get("id") == user_id and _is_user_object(value):
        return True
    return any(involves(v, user_id) for v in value.values() if isinstance(v, dict | list))


def event_guild(event: dict[str, Any]) -> str | None:
    """The guild of a raw event (`{"t", "d", …}`): `d.guild_id`, or `d.id` for a guild's own events."""
    data = event.get("d")
    if not isinstance(data, dict):
        return None
    guild = data.get("guild_id")
    if guild is None and str(event.get("t", "")).startswith("GUILD_") and "id" in data:
        guild = data.get("id")
    return str(guild) if guild is not None else None


def scrub_event(
    event: dict[str, Any], guild_id: str, user_id: str, message_ids: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A raw event of `guild_id` with the member's data redacted (events of other guilds unchanged)."""
    if event_guild(event) != guild_id or not isinstance(event.get("d"), dict):
        return event
    return {**event, "d": scrub_payload(event["d"], user_id, message_ids)}


def _scrub_json_text(text: str | None, user_id: str, names: frozenset[str], *, all_names: bool) -> str | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    value = scrub_payload(value, user_id)
    value = _replace_names(value, names, all_names=all_names)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _replace_names(value: Any, names: frozenset[str], *, all_names: bool) -> Any:
    """Strings equal to one of the member's names become ERASED; with `all_names`, every name field too
    (a row or an item about the member: its before → after of a nick, its flattened name state)."""
    if isinstance(value, list):
        return [_replace_names(v, names, all_names=all_names) for v in value]
    if isinstance(value, dict):
        out = {k: _replace_names(v, names, all_names=all_names) for k, v in value.items()}
        if all_names:
            _blank_names(out)
        return out
    if isinstance(value, str) and value in names:
        return ERASED
    return value


def row_is_members(row: dict[str, Any], guild_id: str, user_id: str, message_ids: frozenset[str] = frozenset()) -> bool:
    """Whether a normalized row (as a dict) is the member's in that guild: about them, or one of their messages."""
    if row.get("guild_id") != guild_id:
        return False
    return row.get("user_id") == user_id or row.get("target_id") == user_id or row.get("message_id") in message_ids


def scrub_row(
    row: dict[str, Any],
    guild_id: str,
    user_id: str,
    message_ids: frozenset[str] = frozenset(),
    names: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A normalized row with the member's content and names redacted; rows not the member's unchanged.

    A row about the member (their message, reaction, join, nick change, command) loses its content,
    attachments, name and the names in its details and changes; a row of another member about one of
    the member's messages (a deletion, a reaction) loses only that message's content."""
    if not row_is_members(row, guild_id, user_id, message_ids):
        return row
    out = dict(row)
    about_member = row.get("user_id") == user_id or row.get("target_id") == user_id
    if about_member or row.get("message_id") in message_ids and row.get("user_id") in (None, user_id):
        if out.get("content") is not None:
            out["content"] = None
        if out.get("attachments") is not None:
            out["attachments"] = None
    if about_member:
        if out.get("user_name") is not None:
            out["user_name"] = None
        for field in ("details", "changes"):
            scrubbed = _scrub_json_text(out.get(field), user_id, names, all_names=True)
            if scrubbed is not None:
                out[field] = scrubbed
    return out


def scrub_state_text(text: str, user_id: str, names: frozenset[str]) -> str:
    """A directory item's JSON state (a snapshot, a version, names seen) of the member, names redacted."""
    return _scrub_json_text(text, user_id, names, all_names=True) or text
