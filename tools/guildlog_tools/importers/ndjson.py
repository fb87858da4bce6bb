"""NDJSON message logs: one message per line, as bots like PigPig keep them.

A line is either a Discord message object as the API gives it (`id`, `channel_id`, `guild_id`,
`author{…}`, `content`, `timestamp`, `edited_timestamp`, `attachments`, …) or a flat record whose
fields have other common names (`message_id`, `channelId`, `author_id`, `author_name`, `created_at`
as ISO or unix time, …). docs/importers.md lists every name read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guildlog.services.timefmt import iso
from guildlog_tools.importers.core import Item, Skip, json_line, message_records, moment, numbered_lines, snowflake

SUFFIXES = (".ndjson", ".jsonl", ".json", ".log", ".ndjson.gz", ".jsonl.gz", ".json.gz", ".log.gz")

# Each Discord field, and the names other loggers give it (first present wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "message_id", "messageId", "msg_id"),
    "channel_id": ("channel_id", "channelId", "channel"),
    "guild_id": ("guild_id", "guildId", "guild", "server_id", "serverId"),
    "content": ("content", "message", "text", "clean_content"),
    "timestamp": ("timestamp", "created_at", "createdAt", "created_timestamp", "createdTimestamp", "time", "date"),
    "edited_timestamp": ("edited_timestamp", "edited_at", "editedAt", "editedTimestamp"),
    "author_id": ("author_id", "authorId", "user_id", "userId"),
    "author_name": ("author_name", "authorName", "username", "user_name", "author_tag"),
}


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return None


def _id_of(value: Any) -> Any:
    """A field that may hold an id or an object with one (`"channel": {"id": …}`)."""
    return value.get("id") if isinstance(value, dict) else value


def to_message(data: dict[str, Any], guild: str | None) -> dict[str, Any]:
    """A line's record as a Discord message object (the line's own fields are kept as they are)."""
    message = dict(data)
    for field in ("id", "channel_id", "guild_id"):
        found = snowflake(_id_of(_first(data, ALIASES[field])))
        if found:
            message[field] = found
    if guild and not snowflake(message.get("guild_id")):
        message["guild_id"] = guild
    content = _first(data, ALIASES["content"])
    if isinstance(content, str):
        message["content"] = content
    for field in ("timestamp", "edited_timestamp"):
        found_time = moment(_first(data, ALIASES[field]))
        message[field] = iso(found_time) if found_time else None
    author = data.get("author")
    if not isinstance(author, dict):
        name = author if isinstance(author, str) else _first(data, ALIASES["author_name"])
        author = {"id": snowflake(_first(data, ALIASES["author_id"])), "username": name}
        message["author"] = {k: v for k, v in author.items() if v is not None}
    return message


class Reader:
    name = "ndjson"

    def __init__(self, guild: str | None = None) -> None:
        self.guild = guild

    def files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))

    def read(self, path: Path, root: Path) -> Iterator[Item]:
        for number, line in numbered_lines(path):
            data, problem = json_line(line)
            if problem:
                yield Item(number, Skip(problem))
                continue
            if not isinstance(data, dict):
                yield Item(number, Skip("line is not a JSON object"))
                continue
            for value in message_records(to_message(data, self.guild)):
                yield Item(number, value)
