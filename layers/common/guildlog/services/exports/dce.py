"""A channel's logged messages in DiscordChatExporter's JSON layout.

The layout is DiscordChatExporter's JSON export (`guild`, `channel`, `dateRange`, `exportedAt`,
`messages`, `messageCount`, and per message `id`, `type`, `timestamp`, `timestampEdited`, `author`,
`attachments`, `reactions`, `mentions`, …), so the tools made for those files open ours. A message
is one entry with its latest text, as DiscordChatExporter shows it; what only a logger knows rides
in an extra `guildlog` object on the messages it concerns — `deletedAt` for a deleted message
(it stays in the export with its last text) and `previousVersions` for an edited one. Readers of
DiscordChatExporter files ignore keys they do not know.

What the log does not hold is filled the way DiscordChatExporter fills it when Discord does not
say: discriminator `0000`, the default avatar, no roles, no colour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from guildlog.services.modlog.kinds import details_of
from guildlog.services.timefmt import iso, snowflake_time

if TYPE_CHECKING:
    from guildlog.services.exports import Collected, ExportRequest

DEFAULT_AVATAR = "https://cdn.discordapp.com/embed/avatars/0.png"
DEFAULT_GUILD_ICON = "https://cdn.discordapp.com/embed/avatars/0.png"
UNKNOWN_NAME = "Unknown User"
# Discord message types by number, as DiscordChatExporter names them; others are written as numbers.
MESSAGE_KINDS = {
    0: "Default",
    1: "RecipientAdd",
    2: "RecipientRemove",
    3: "Call",
    4: "ChannelNameChange",
    5: "ChannelIconChange",
    6: "ChannelPinnedMessage",
    7: "GuildMemberJoin",
    18: "ThreadCreated",
    19: "Reply",
}
CHANNEL_KINDS = {
    0: "GuildTextChat",
    1: "DirectTextChat",
    2: "GuildVoiceChat",
    3: "DirectGroupTextChat",
    4: "GuildCategory",
    5: "GuildNews",
    10: "GuildNewsThread",
    11: "GuildPublicThread",
    12: "GuildPrivateThread",
    13: "GuildStageVoice",
    14: "GuildDirectory",
    15: "GuildForum",
}
_REACTIONS = frozenset(
    {"MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI"}
)


@dataclass
class _Message:
    message_id: str
    created_at: str
    author_id: str | None = None
    author_name: str | None = None
    bot: bool = False
    kind: int = 0
    pinned: bool = False
    content: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    reply_to: str | None = None
    versions: list[tuple[str, str]] = field(default_factory=list)  # (time, content), oldest first
    edited_at: str | None = None
    deleted_at: str | None = None


@dataclass
class _Reaction:
    emoji: dict[str, Any]
    users: dict[str, str | None] = field(default_factory=dict)  # user id -> name


def to_dce(
    request: ExportRequest, collected: Collected, exported_at: datetime, copy_links: dict[str, str] | None = None
) -> dict[str, Any]:
    """The DiscordChatExporter document for one channel (what collect_rows found, in time order).

    An attachment with a copy in the archive (`copy_links`) points at the copy: Discord's own link
    has expired by the time most exports are read."""
    ordered = collected.rows
    names: dict[str, str] = {}
    channel = collected.channels.get(str(request.channel_id), {})
    parent = collected.channels.get(str(channel.get("parent_id")), {})
    messages: dict[str, _Message] = {}
    reactions: dict[str, dict[str, _Reaction]] = {}
    start = datetime.combine(request.first, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=(request.last - request.first).days + 1)

    for row in ordered:
        if row.get("user_id") and row.get("user_name"):
            names[str(row["user_id"])] = str(row["user_name"])
    for row in ordered:
        kind = row.get("event_type")
        details = details_of(row)
        if kind in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and row.get("message_id"):
            _write(messages, row, details, start, end)
        elif kind == "MESSAGE_DELETE" and row.get("message_id") in messages:
            messages[str(row["message_id"])].deleted_at = str(row["occurred_at"])
        elif kind == "MESSAGE_DELETE_BULK":
            for message_id in details.get("ids") or []:
                if message_id in messages:
                    messages[message_id].deleted_at = str(row["occurred_at"])
        elif kind in _REACTIONS and row.get("message_id"):
            _react(reactions.setdefault(str(row["message_id"]), {}), row, details, names)

    for message in messages.values():
        for attachment in message.attachments:
            attachment["url"] = (copy_links or {}).get(attachment["id"]) or attachment["url"]
    written = [
        _message_json(m, request, names, reactions.get(m.message_id, {}))
        for m in sorted(messages.values(), key=lambda m: int(m.message_id))
    ]
    return {
        "guild": {
            "id": request.guild_id,
            "name": collected.guild_name or request.guild_id,
            "iconUrl": DEFAULT_GUILD_ICON,
        },
        "channel": {
            "id": request.channel_id,
            "type": CHANNEL_KINDS.get(_int(channel.get("type")), "GuildTextChat"),
            "categoryId": channel.get("parent_id"),
            "category": parent.get("name"),
            "name": channel.get("name") or str(request.channel_id),
            "topic": channel.get("topic"),
        },
        "dateRange": {"after": _dce_time(iso(start)), "before": _dce_time(iso(end))},
        "exportedAt": _dce_time(iso(exported_at)),
        "messages": written,
        "messageCount": len(written),
    }


def _write(
    messages: dict[str, _Message], row: dict[str, Any], details: dict[str, Any], start: datetime, end: datetime
) -> None:
    message_id = str(row["message_id"])
    message = messages.get(message_id)
    if message is None:
        created = snowflake_time(message_id)
        # An edit of a message written before the exported days belongs to an earlier export.
        if not start <= created < end and row.get("event_type") != "MESSAGE_CREATE":
            return
        message = _Message(message_id, row["occurred_at"] if row["event_type"] == "MESSAGE_CREATE" else iso(created))
        messages[message_id] = message
    message.author_id = row.get("user_id") or message.author_id
    message.author_name = row.get("user_name") or message.author_name
    message.bot = message.bot or bool(details.get("bot"))
    if "type" in details:
        message.kind = _int(details["type"])
    if "pinned" in details:
        message.pinned = bool(details["pinned"])
    if details.get("mentions"):
        message.mentions = [str(m) for m in details["mentions"] if m]
    reply = details.get("reply_to") or details.get("reference")
    if reply:
        message.reply_to = str(reply)
    if row.get("attachments"):
        message.attachments = _attachments(row["attachments"])
    if row.get("content") is not None and not details.get("partial"):
        message.content = str(row["content"])
        message.versions.append((str(row["occurred_at"]), message.content))
    if row["event_type"] == "MESSAGE_UPDATE":
        message.edited_at = str(details.get("edited_timestamp") or row["occurred_at"])


def _react(by_emoji: dict[str, _Reaction], row: dict[str, Any], details: dict[str, Any], names: dict[str, str]) -> None:
    kind = row["event_type"]
    if kind == "MESSAGE_REACTION_REMOVE_ALL":
        by_emoji.clear()
        return
    emoji = details.get("emoji") or {}
    key = str(emoji.get("id") or emoji.get("name") or "")
    if not key:
        return
    if kind == "MESSAGE_REACTION_REMOVE_EMOJI":
        by_emoji.pop(key, None)
        return
    reaction = by_emoji.setdefault(key, _Reaction(emoji))
    user_id = row.get("user_id")
    if not user_id:
        return
    if kind == "MESSAGE_REACTION_ADD":
        reaction.users[str(user_id)] = row.get("user_name") or names.get(str(user_id))
    else:
        reaction.users.pop(str(user_id), None)
        if not reaction.users:
            by_emoji.pop(key, None)


def _message_json(
    message: _Message, request: ExportRequest, names: dict[str, str], reactions: dict[str, _Reaction]
) -> dict[str, Any]:
    author_name = message.author_name or names.get(message.author_id or "") or UNKNOWN_NAME
    out: dict[str, Any] = {
        "id": message.message_id,
        "type": MESSAGE_KINDS.get(message.kind, str(message.kind)),
        "timestamp": _dce_time(message.created_at),
        "timestampEdited": _dce_time(message.edited_at) if message.edited_at else None,
        "callEndedTimestamp": None,
        "isPinned": message.pinned,
        "content": message.content,
        "author": _user(message.author_id or "0", author_name, bot=message.bot, roles=True),
        "attachments": message.attachments,
        "components": [],
        "embeds": [],
        "stickers": [],
        "reactions": [
            {
                "emoji": _emoji(reaction.emoji),
                "count": len(reaction.users),
                "users": [_user(uid, name or names.get(uid) or uid) for uid, name in reaction.users.items()],
            }
            for reaction in reactions.values()
        ],
        "mentions": [_user(uid, names.get(uid) or uid, roles=True) for uid in message.mentions],
        "inlineEmojis": [],
    }
    if message.reply_to:
        out["reference"] = {
            "type": "Default",
            "messageId": message.reply_to,
            "channelId": request.channel_id,
            "guildId": request.guild_id,
        }
    extra: dict[str, Any] = {}
    if message.deleted_at:
        extra["deletedAt"] = _dce_time(message.deleted_at)
    if len(message.versions) > 1:
        extra["previousVersions"] = [{"timestamp": _dce_time(t), "content": c} for t, c in message.versions[:-1]]
    if extra:
        out["guildlog"] = extra
    return out


def _user(user_id: str, name: str, *, bot: bool = False, roles: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id,
        "name": name,
        "discriminator": "0000",
        "nickname": name,
        "color": None,
        "isBot": bot,
    }
    if roles:
        user["roles"] = []
    user["avatarUrl"] = DEFAULT_AVATAR
    return user


def _emoji(emoji: dict[str, Any]) -> dict[str, Any]:
    emoji_id = str(emoji["id"]) if emoji.get("id") else ""
    name = str(emoji.get("name") or "")
    animated = bool(emoji.get("animated"))
    if emoji_id:
        image = f"https://cdn.discordapp.com/emojis/{emoji_id}.{'gif' if animated else 'png'}"
    else:
        # Twemoji's file name: the code points in hex, without the variation selector.
        points = "-".join(f"{ord(ch):x}" for ch in name if ch != "\ufe0f")
        image = f"https://cdn.jsdelivr.net/gh/twitter/twemoji@latest/assets/svg/{points}.svg"
    return {"id": emoji_id, "name": name, "code": name, "isAnimated": animated, "imageUrl": image}


def _attachments(text: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(text)
    except ValueError:
        return []
    return [
        {
            "id": str(item.get("id", "")),
            "url": str(item.get("url", "")),
            "fileName": str(item.get("filename", "")),
            "fileSizeBytes": int(item.get("size") or 0),
        }
        for item in items
        if isinstance(item, dict)
    ]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _dce_time(value: str) -> str:
    """`2026-11-20T00:10:00.000Z` → `2026-11-20T00:10:00.000+00:00`, as DiscordChatExporter writes times."""
    return value[:-1] + "+00:00" if value.endswith("Z") else value
