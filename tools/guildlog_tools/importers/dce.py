"""DiscordChatExporter JSON exports: one channel or thread per file, streamed message by message.

A DCE file is one JSON document (`guild`, `channel`, `dateRange`, `messages: […]`, `messageCount`)
that can be gigabytes long: it is read with ijson, one message in memory at a time. Each message
becomes a Discord-shaped message object (DCE's camelCase fields back to the API's names), so it
lands where a live message lands. docs/importers.md has the mapping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guildlog_tools.importers.core import Item, NotTheFormat, Skip, message_records, moment, snowflake, stream_json

# DCE writes Discord's message types by their enum names (DiscordChatExporter.Core MessageKind).
MESSAGE_TYPES = {
    "Default": 0,
    "RecipientAdd": 1,
    "RecipientRemove": 2,
    "Call": 3,
    "ChannelNameChange": 4,
    "ChannelIconChange": 5,
    "ChannelPinnedMessage": 6,
    "GuildMemberJoin": 7,
    "ThreadCreated": 18,
    "Reply": 19,
}
_HEADER = ("guild", "channel")


def _user(author: dict[str, Any]) -> dict[str, Any]:
    user: dict[str, Any] = {"id": snowflake(author.get("id")), "username": author.get("name")}
    if author.get("nickname") and author.get("nickname") != author.get("name"):
        user["global_name"] = author["nickname"]
    if author.get("discriminator"):
        user["discriminator"] = author["discriminator"]
    if author.get("isBot"):
        user["bot"] = True
    return {k: v for k, v in user.items() if v is not None}


def to_message(message: dict[str, Any], guild_id: str | None, channel_id: str | None) -> dict[str, Any]:
    """A DCE message as the API's message object."""
    author = message.get("author") if isinstance(message.get("author"), dict) else {}
    kind = message.get("type")
    data: dict[str, Any] = {
        "id": message.get("id"),
        "type": MESSAGE_TYPES.get(kind, 0) if isinstance(kind, str) else kind,
        "channel_id": channel_id,
        "guild_id": guild_id,
        "author": _user(author),
        "content": message.get("content") if isinstance(message.get("content"), str) else "",
        "timestamp": message.get("timestamp"),
        "edited_timestamp": message.get("timestampEdited"),
        "pinned": bool(message.get("isPinned")),
    }
    if isinstance(kind, str) and kind not in MESSAGE_TYPES:
        data["dce_type"] = kind
    attachments = [
        {"id": a.get("id"), "filename": a.get("fileName"), "size": a.get("fileSizeBytes"), "url": a.get("url")}
        for a in message.get("attachments") or []
        if isinstance(a, dict)
    ]
    if attachments:
        data["attachments"] = [{k: v for k, v in a.items() if v is not None} for a in attachments]
    mentions = [_user(m) for m in message.get("mentions") or [] if isinstance(m, dict) and snowflake(m.get("id"))]
    if mentions:
        data["mentions"] = mentions
    reactions = [
        {
            "emoji": {
                "id": snowflake((r.get("emoji") or {}).get("id")),
                "name": (r.get("emoji") or {}).get("name"),
                "animated": bool((r.get("emoji") or {}).get("isAnimated")),
            },
            "count": r.get("count"),
            "users": [u.get("id") for u in r.get("users") or [] if isinstance(u, dict)],
        }
        for r in message.get("reactions") or []
        if isinstance(r, dict)
    ]
    if reactions:
        data["reactions"] = reactions
    reference = message.get("reference")
    if isinstance(reference, dict) and snowflake(reference.get("messageId")):
        data["message_reference"] = {
            "message_id": reference.get("messageId"),
            "channel_id": snowflake(reference.get("channelId")),
            "guild_id": snowflake(reference.get("guildId")),
        }
    stickers = [s for s in message.get("stickers") or [] if isinstance(s, dict)]
    if stickers:
        data["sticker_items"] = [{"id": s.get("id"), "name": s.get("name")} for s in stickers]
    embeds = message.get("embeds")
    if isinstance(embeds, list) and embeds:
        data["embeds"] = embeds
    if message.get("callEndedTimestamp"):
        data["call"] = {"ended_timestamp": message["callEndedTimestamp"]}
    return data


class Reader:
    name = "dce"

    def __init__(self, guild: str | None = None) -> None:
        self.guild = guild

    def files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))

    def read(self, path: Path, root: Path) -> Iterator[Item]:
        header: dict[str, Any] = {}
        number = 0
        exported = None
        for prefix, value in stream_json(path, lambda p: p in _HEADER or p in ("exportedAt", "messages.item")):
            if prefix != "messages.item":
                header[prefix] = value
                if prefix == "exportedAt":
                    exported = moment(value)
                continue
            number += 1
            channel = header.get("channel") if isinstance(header.get("channel"), dict) else None
            if channel is None:
                raise NotTheFormat("no `channel` before `messages`: not a DiscordChatExporter JSON export")
            guild = header.get("guild") if isinstance(header.get("guild"), dict) else {}
            # DCE names direct messages' guild "0": they belong to no server.
            guild_id = snowflake(guild.get("id")) or self.guild
            if not isinstance(value, dict):
                yield Item(number, Skip("message is not a JSON object"))
                continue
            data = to_message(value, guild_id, snowflake(channel.get("id")))
            for result in message_records(data, exported):
                yield Item(number, result)
        if not header.get("channel"):
            raise NotTheFormat("no `channel` and no `messages`: not a DiscordChatExporter JSON export")
