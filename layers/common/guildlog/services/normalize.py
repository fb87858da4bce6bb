"""Gateway dispatch → EventRow. Pure: the same event always gives the same row.

Discord's payloads are read defensively (fields are optional, new ones appear every month); what
cannot be read into a valid row raises NormalizationError and the event goes to quarantine, while
the raw archive keeps it whatever happens here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from guildlog.errors import NormalizationError
from guildlog.models.envelope import ACCEPTED_FROM, ACCEPTED_UNTIL, EnvelopeEvent
from guildlog.models.row import EventRow
from guildlog.services.audit_log import audit_action_name
from guildlog.services.categories import classify
from guildlog.services.timefmt import iso, parse_time, snowflake_time

_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
# Stands for a time that exists in its own offset but not in UTC (year 1 at +01:00): before any
# accepted time, so it is refused like one.
_OFF_CALENDAR = datetime.min.replace(tzinfo=UTC)
_MESSAGE_TYPE_REPLY = 19
# Slash-command option values can be long; the row keeps what a reader needs, raw keeps all.
_MAX_DETAIL_STRING = 1000
_MAX_LIST_ITEMS = 100

Fields = dict[str, Any]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sf(value: Any, where: str) -> str | None:
    """A snowflake as a string, None when absent; a present but invalid one is an error."""
    if value is None or value == "":
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _SNOWFLAKE.match(text):
        raise NormalizationError("invalid snowflake", field=where)
    return text


def _required_sf(data: dict[str, Any], key: str) -> str:
    value = _sf(data.get(key), f"d.{key}")
    if value is None:
        raise NormalizationError("missing required field", field=f"d.{key}")
    return value


def _user_name(user: dict[str, Any]) -> str | None:
    name = user.get("global_name") or user.get("username")
    return name if isinstance(name, str) else None


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_DETAIL_STRING:
        return value[:_MAX_DETAIL_STRING]
    if isinstance(value, list):
        return [_short(v) for v in value[:_MAX_LIST_ITEMS]]
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value


def _pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data and data[k] is not None}


def _attachments(data: dict[str, Any]) -> str | None:
    items = data.get("attachments")
    if not isinstance(items, list) or not items:
        return None
    kept = [_pick(_obj(a), "id", "filename", "size", "url", "content_type") for a in items[:_MAX_LIST_ITEMS]]
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def _emoji(data: dict[str, Any]) -> dict[str, Any]:
    return _pick(_obj(data.get("emoji")), "id", "name", "animated")


# Each extractor reads one dispatch type's `d` into row fields; `action` may be refined.
def _message(data: dict[str, Any], action: str) -> Fields:
    author = _obj(data.get("author"))
    fields: Fields = {
        "message_id": _required_sf(data, "id"),
        "target_id": _sf(data.get("id"), "d.id"),
        "channel_id": _required_sf(data, "channel_id"),
        "user_id": _sf(author.get("id"), "d.author.id"),
        "user_name": _user_name(author),
        "content": data.get("content") if isinstance(data.get("content"), str) else None,
        "attachments": _attachments(data),
    }
    details: dict[str, Any] = _pick(data, "type", "webhook_id", "pinned", "tts", "flags")
    if author.get("bot"):
        details["bot"] = True
    roles = _obj(data.get("member")).get("roles")
    if isinstance(roles, list) and roles:
        # The author's roles when sent: the log's ignored roles apply to their messages.
        details["roles"] = [str(r) for r in roles[:_MAX_LIST_ITEMS]]
    ref = _obj(data.get("message_reference"))
    if ref.get("message_id"):
        # Crossposts, forwards, pins and thread starters carry a reference too: only type 19 is a reply.
        details["reply_to" if data.get("type") == _MESSAGE_TYPE_REPLY else "reference"] = ref.get("message_id")
    if isinstance(data.get("embeds"), list) and data["embeds"]:
        details["embeds"] = len(data["embeds"])
    if isinstance(data.get("sticker_items"), list) and data["sticker_items"]:
        details["stickers"] = [_obj(s).get("id") for s in data["sticker_items"]]
    mentions = data.get("mentions")
    if isinstance(mentions, list) and mentions:
        details["mentions"] = [_obj(m).get("id") for m in mentions[:_MAX_LIST_ITEMS]]
    if action == "update":
        if "content" not in data:
            details["partial"] = True  # an embed-only update: no content in the payload
        if data.get("edited_timestamp"):
            details["edited_timestamp"] = data["edited_timestamp"]
    fields["details"] = details
    return fields


def _message_delete(data: dict[str, Any], action: str) -> Fields:
    message_id = _required_sf(data, "id")
    return {
        "message_id": message_id,
        "target_id": message_id,
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
    }


def _message_delete_bulk(data: dict[str, Any], action: str) -> Fields:
    ids = data.get("ids")
    if not isinstance(ids, list):
        raise NormalizationError("missing required field", field="d.ids")
    checked = [_sf(i, "d.ids[]") for i in ids]
    return {
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
        "details": {"ids": checked, "count": len(checked)},
    }


def _reaction(data: dict[str, Any], action: str) -> Fields:
    member_user = _obj(_obj(data.get("member")).get("user"))
    return {
        "message_id": _sf(data.get("message_id"), "d.message_id"),
        "target_id": _sf(data.get("message_id"), "d.message_id"),
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "user_name": _user_name(member_user),
        "details": {**({"emoji": _emoji(data)} if data.get("emoji") else {}), **_pick(data, "burst", "type")},
    }


def _poll_vote(data: dict[str, Any], action: str) -> Fields:
    return {
        "message_id": _sf(data.get("message_id"), "d.message_id"),
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "details": _pick(data, "answer_id"),
    }


def _pins(data: dict[str, Any], action: str) -> Fields:
    return {"channel_id": _sf(data.get("channel_id"), "d.channel_id"), "details": _pick(data, "last_pin_timestamp")}


def _subject_user(data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(guild_id, user_id, user) of GUILD_MEMBER_* and GUILD_BAN_*: Discord always sends both ids.

    Without them the event says nothing about whom it concerns, so it is quarantined (the raw
    archive keeps it) rather than logged against nobody; a user's fields at the top level of `d`
    are not read as a user, because Discord never sends that shape.
    """
    guild_id = _required_sf(data, "guild_id")
    user = _obj(data.get("user"))
    user_id = _sf(user.get("id"), "d.user.id")
    if user_id is None:
        raise NormalizationError("missing required field", field="d.user.id")
    return guild_id, user_id, user


def _member(data: dict[str, Any], action: str) -> Fields:
    guild_id, user_id, user = _subject_user(data)
    details: dict[str, Any] = _pick(data, "nick", "roles", "communication_disabled_until", "pending", "premium_since")
    if user.get("bot"):
        details["bot"] = True
    if isinstance(user.get("username"), str):
        details["username"] = user["username"]
    nick = data.get("nick") if isinstance(data.get("nick"), str) else None
    fields: Fields = {
        "guild_id": guild_id,
        "user_id": user_id,
        "target_id": user_id,
        "user_name": nick or _user_name(user),
    }
    fields["details"] = details
    return fields


def _timed_out(data: dict[str, Any], at: datetime) -> bool:
    # Discord sends the whole member on every update, and an expired timeout stays as a past time.
    until = parse_time(data.get("communication_disabled_until"))
    return until is not None and until > at


def _ban(data: dict[str, Any], action: str) -> Fields:
    guild_id, user_id, user = _subject_user(data)
    return {"guild_id": guild_id, "user_id": user_id, "target_id": user_id, "user_name": _user_name(user)}


def _audit_log(data: dict[str, Any], action: str) -> Fields:
    name = audit_action_name(data.get("action_type"))
    options = _obj(data.get("options"))
    changes = data.get("changes") if isinstance(data.get("changes"), list) else []
    target = data.get("target_id")
    details: dict[str, Any] = {"action_type": data.get("action_type"), "entry_id": data.get("id")}
    if options:
        details["options"] = options
    if changes:
        details["changes"] = changes
    return {
        "action": name,
        "actor_id": _sf(data.get("user_id"), "d.user_id"),
        "target_id": target if isinstance(target, str) and _SNOWFLAKE.match(target) else None,
        "channel_id": _sf(options.get("channel_id"), "d.options.channel_id"),
        "reason": data.get("reason") if isinstance(data.get("reason"), str) else None,
        "details": details,
    }


def _automod(data: dict[str, Any], action: str) -> Fields:
    return {
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
        "message_id": _sf(data.get("message_id"), "d.message_id"),
        "content": data.get("content") if isinstance(data.get("content"), str) else None,
        "details": _pick(data, "rule_id", "rule_trigger_type", "matched_keyword", "matched_content", "action"),
    }


def _automod_rule(data: dict[str, Any], action: str) -> Fields:
    return {
        "target_id": _sf(data.get("id"), "d.id"),
        "actor_id": _sf(data.get("creator_id"), "d.creator_id"),
        "details": _pick(data, "name", "event_type", "trigger_type", "enabled"),
    }


def _guild(data: dict[str, Any], action: str) -> Fields:
    fields: Fields = {
        "target_id": _sf(data.get("id"), "d.id"),
        "details": _pick(data, "name", "member_count", "unavailable"),
    }
    if action == "guild_unavailable" and "unavailable" not in data:
        fields["action"] = "guild_remove"  # no `unavailable` key: the bot was removed, not an outage
    if action == "guild_available":
        channels = data.get("channels")
        fields["details"]["channels"] = len(channels) if isinstance(channels, list) else 0
    return fields


def _channel(data: dict[str, Any], action: str) -> Fields:
    channel_id = _sf(data.get("id"), "d.id")
    return {
        "channel_id": channel_id,
        "target_id": channel_id,
        "actor_id": _sf(data.get("owner_id"), "d.owner_id") if action.startswith("thread") else None,
        "details": _pick(data, "name", "type", "parent_id", "position", "topic", "nsfw", "rate_limit_per_user"),
    }


def _thread_sync(data: dict[str, Any], action: str) -> Fields:
    listed = data.get("threads")
    threads: list[Any] = listed if isinstance(listed, list) else []
    return {"details": {"threads": [_obj(t).get("id") for t in threads[:_MAX_LIST_ITEMS]]}}


def _thread_members(data: dict[str, Any], action: str) -> Fields:
    channel_id = _sf(data.get("id"), "d.id")
    return {
        "channel_id": channel_id,
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "details": _pick(data, "member_count", "removed_member_ids"),
    }


def _role(data: dict[str, Any], action: str) -> Fields:
    role = _obj(data.get("role"))
    role_id = _sf(role.get("id") or data.get("role_id"), "d.role.id")
    return {
        "target_id": role_id,
        "details": _pick(role, "name", "permissions", "color", "hoist", "position", "mentionable"),
    }


def _invite(data: dict[str, Any], action: str) -> Fields:
    inviter = _obj(data.get("inviter"))
    return {
        "channel_id": _sf(data.get("channel_id"), "d.channel_id"),
        "actor_id": _sf(inviter.get("id"), "d.inviter.id"),
        "user_name": _user_name(inviter),
        "details": _pick(data, "code", "max_uses", "max_age", "temporary", "expires_at"),
    }


def _emojis(data: dict[str, Any], action: str) -> Fields:
    items = data.get("emojis") or data.get("stickers") or []
    kept = [_pick(_obj(e), "id", "name") for e in items[:_MAX_LIST_ITEMS]] if isinstance(items, list) else []
    return {"details": {"items": kept}}


def _voice(data: dict[str, Any], action: str) -> Fields:
    member_user = _obj(_obj(data.get("member")).get("user"))
    channel_id = _sf(data.get("channel_id"), "d.channel_id")
    flags = _pick(data, "self_mute", "self_deaf", "mute", "deaf", "self_stream", "self_video", "suppress")
    return {
        "action": "state" if channel_id else "leave",
        "channel_id": channel_id,
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "user_name": _user_name(member_user),
        "details": flags,
    }


def _voice_channel(data: dict[str, Any], action: str) -> Fields:
    return {
        "channel_id": _sf(data.get("id") or data.get("channel_id"), "d.id"),
        "user_id": _sf(data.get("user_id"), "d.user_id"),
        "details": _pick(data, "status", "voice_start_time", "emoji"),
    }


_INTERACTION_KINDS = {1: "ping", 2: "command", 3: "component", 4: "autocomplete", 5: "modal_submit"}


def _flatten_options(options: Any, prefix: str = "") -> tuple[str, dict[str, Any]]:
    """Sub-command path and leaf option values of an application command."""
    path, values = prefix, {}
    for opt in options if isinstance(options, list) else []:
        opt = _obj(opt)
        if "options" in opt or str(opt.get("type")) in ("1", "2"):
            sub_path, sub_values = _flatten_options(opt.get("options"), f"{prefix} {opt.get('name')}".strip())
            path = sub_path
            values.update(sub_values)
        elif "name" in opt:
            values[str(opt["name"])] = _short(opt.get("value"))
    return path, values


def _interaction(data: dict[str, Any], action: str) -> Fields:
    member = _obj(data.get("member"))
    user = _obj(member.get("user")) or _obj(data.get("user"))
    command = _obj(data.get("data"))
    kind_number = data.get("type")
    kind = _INTERACTION_KINDS.get(kind_number, "interaction") if isinstance(kind_number, int) else "interaction"
    details: dict[str, Any] = {"interaction_id": data.get("id"), "type": data.get("type")}
    if isinstance(command.get("name"), str) and command["name"]:
        sub, values = _flatten_options(command.get("options"))
        details["command"] = "/" + " ".join(p for p in (command["name"], sub) if p)
        if values:
            details["options"] = values
    if command.get("custom_id"):
        details["custom_id"] = _short(command["custom_id"])
    return {
        "action": kind,
        "channel_id": _sf(data.get("channel_id") or _obj(data.get("channel")).get("id"), "d.channel_id"),
        "user_id": _sf(user.get("id"), "d.member.user.id"),
        "user_name": _user_name(user),
        "target_id": _sf(command.get("id"), "d.data.id"),
        "details": details,
    }


def _ready(data: dict[str, Any], action: str) -> Fields:
    user = _obj(data.get("user"))
    listed = data.get("guilds")
    guilds: list[Any] = listed if isinstance(listed, list) else []
    return {
        "user_id": _sf(user.get("id"), "d.user.id"),
        "user_name": _user_name(user),
        "details": {"guilds": len(guilds), **_pick(data, "v", "shard")},
    }


def _relay(data: dict[str, Any], action: str) -> Fields:
    # The relay's own events: `d` is guildlog's, so it goes to details as it is (bounded).
    return {"details": _short(data)}


def _generic(data: dict[str, Any], action: str) -> Fields:
    fields: Fields = {}
    for key in ("channel_id", "user_id", "message_id"):
        if key in data:
            fields[key] = _sf(data.get(key), f"d.{key}")
    return fields


_EXTRACTORS: dict[str, Callable[[dict[str, Any], str], Fields]] = {
    "MESSAGE_CREATE": _message,
    "MESSAGE_UPDATE": _message,
    "MESSAGE_DELETE": _message_delete,
    "MESSAGE_DELETE_BULK": _message_delete_bulk,
    "MESSAGE_REACTION_ADD": _reaction,
    "MESSAGE_REACTION_REMOVE": _reaction,
    "MESSAGE_REACTION_REMOVE_ALL": _reaction,
    "MESSAGE_REACTION_REMOVE_EMOJI": _reaction,
    "MESSAGE_POLL_VOTE_ADD": _poll_vote,
    "MESSAGE_POLL_VOTE_REMOVE": _poll_vote,
    "CHANNEL_PINS_UPDATE": _pins,
    "GUILD_MEMBER_ADD": _member,
    "GUILD_MEMBER_REMOVE": _member,
    "GUILD_MEMBER_UPDATE": _member,
    "GUILD_BAN_ADD": _ban,
    "GUILD_BAN_REMOVE": _ban,
    "GUILD_AUDIT_LOG_ENTRY_CREATE": _audit_log,
    "AUTO_MODERATION_ACTION_EXECUTION": _automod,
    "AUTO_MODERATION_RULE_CREATE": _automod_rule,
    "AUTO_MODERATION_RULE_UPDATE": _automod_rule,
    "AUTO_MODERATION_RULE_DELETE": _automod_rule,
    "GUILD_CREATE": _guild,
    "GUILD_UPDATE": _guild,
    "GUILD_DELETE": _guild,
    "CHANNEL_CREATE": _channel,
    "CHANNEL_UPDATE": _channel,
    "CHANNEL_DELETE": _channel,
    "THREAD_CREATE": _channel,
    "THREAD_UPDATE": _channel,
    "THREAD_DELETE": _channel,
    "THREAD_LIST_SYNC": _thread_sync,
    "THREAD_MEMBERS_UPDATE": _thread_members,
    "THREAD_MEMBER_UPDATE": _thread_members,
    "GUILD_ROLE_CREATE": _role,
    "GUILD_ROLE_UPDATE": _role,
    "GUILD_ROLE_DELETE": _role,
    "INVITE_CREATE": _invite,
    "INVITE_DELETE": _invite,
    "GUILD_EMOJIS_UPDATE": _emojis,
    "GUILD_STICKERS_UPDATE": _emojis,
    "VOICE_STATE_UPDATE": _voice,
    "VOICE_CHANNEL_STATUS_UPDATE": _voice_channel,
    "VOICE_CHANNEL_START_TIME_UPDATE": _voice_channel,
    "INTERACTION_CREATE": _interaction,
    "READY": _ready,
}


def event_time(event: EnvelopeEvent) -> datetime:
    """When the event happened (ARCHITECTURE.md, S3 layout): the payload's own time, else received_at.

    A guild's or a channel's snowflake is its creation, not the event's, so only types whose
    payload time *is* the event's are read here.

    NormalizationError when the payload's time lies outside the accepted years (models.envelope):
    such an event is quarantined, and archived raw under its `received_at` day. (Ingest also
    quarantines a time too far ahead of its own clock: services.ingest.MAX_AHEAD.)
    """
    data = _obj(event.d)
    found: datetime | None = None
    if event.t == "MESSAGE_CREATE":
        found = _payload_time(data.get("timestamp"))
    elif event.t == "MESSAGE_UPDATE":
        found = _payload_time(data.get("edited_timestamp"))
    elif event.t == "GUILD_MEMBER_ADD":
        found = _payload_time(data.get("joined_at"))
    elif event.t in ("GUILD_AUDIT_LOG_ENTRY_CREATE", "INTERACTION_CREATE"):
        entry_id = data.get("id")
        if isinstance(entry_id, str | int) and _SNOWFLAKE.match(str(entry_id)):
            found = snowflake_time(entry_id)
    if found is None:
        return event.received_at
    if not ACCEPTED_FROM <= found < ACCEPTED_UNTIL:
        raise NormalizationError(
            f"event time outside the accepted range ({iso(ACCEPTED_FROM)} up to {iso(ACCEPTED_UNTIL)})",
            field="occurred_at",
        )
    return found


def _payload_time(value: Any) -> datetime | None:
    """A payload's ISO time as aware UTC; None when absent or unreadable (received_at stands in),
    `_OFF_CALENDAR` when its offset carries it past year 1 or 9999 in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            return _OFF_CALENDAR
    return parse_time(value)


def normalize(event: EnvelopeEvent, *, event_id: str, batch_id: str, shard_id: int | None = None) -> EventRow:
    """The one normalized row of an event; NormalizationError (with a reason) when `d` cannot be read."""
    category, action = classify(event.t)
    data = event.d
    if data is not None and not isinstance(data, dict):
        raise NormalizationError("d is not an object", field="d")
    data = data or {}
    extractor = _EXTRACTORS.get(event.t)
    if extractor is None:
        extractor = _relay if category == "relay" else _generic
    fields = extractor(data, action)
    occurred = event_time(event)
    if event.t == "GUILD_MEMBER_UPDATE" and _timed_out(data, occurred):
        fields["action"] = "timeout"
    details = fields.pop("details", None) or {}
    shard = event.shard or None
    row_fields: dict[str, Any] = {
        "event_id": event_id,
        "batch_id": batch_id,
        "source": event.source,
        "event_type": event.t,
        "category": category,
        "action": action,
        "occurred_at": iso(occurred),
        "received_at": iso(event.received_at),
        "seq": event.seq,
        "shard_id": shard[0] if shard else shard_id,
        "guild_id": _sf(data.get("guild_id"), "d.guild_id")
        if event.t not in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")
        else _sf(data.get("id"), "d.id"),
        **fields,
        "details": json.dumps(_short(details), separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str),
    }
    try:
        return EventRow.model_validate(row_fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise NormalizationError("row does not validate", field=".".join(str(p) for p in first["loc"])) from None
