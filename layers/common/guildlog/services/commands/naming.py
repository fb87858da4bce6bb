"""Names in command answers (`/logs message`, `/logs search`).

An answer keeps Discord's mention (`<@id>`, `<#id>`), which Discord shows as the member or channel
only while it still knows them, and follows it with the name guildlog holds: a member's name as the
event itself logged it (their name at the time), else the directory's; a channel's from the
directory. A departed member or a deleted channel is still named. When neither holds a name, the
answer says so instead of leaving a bare id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guildlog.services.commands.context import HotReader, quote
from guildlog.services.directory import lookup_names

NO_NAME = "no name logged"
_NAME_CHARS = 40


@dataclass
class AnswerNames:
    """User and channel names by id; an id absent here has no name logged."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: object) -> str:
        name = self.users.get(str(user_id))
        return f"<@{user_id}> ({quote(name, _NAME_CHARS) if name else NO_NAME})"

    def channel(self, channel_id: object) -> str:
        name = self.channels.get(str(channel_id))
        return f"<#{channel_id}> ({'#' + quote(name, _NAME_CHARS) if name else NO_NAME})"


class _Snapshots:
    """The directory's SnapshotReader over the command's hot-table reader (BatchGetItem)."""

    def __init__(self, reader: HotReader) -> None:
        self.reader = reader

    def snapshots(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        return self.reader.get_many(keys)


def answer_names(
    reader: HotReader,
    guild_id: str,
    user_ids: Iterable[object] = (),
    channel_ids: Iterable[object] = (),
    at_the_time: Mapping[str, object] | None = None,
) -> AnswerNames:
    """Names for these users and channels: `at_the_time` (user id → the name an event logged) first,
    the directory for the rest, in one BatchGetItem (none when nothing is missing)."""
    names = AnswerNames(users={str(k): str(v) for k, v in (at_the_time or {}).items() if k and v})
    users = sorted({str(u) for u in user_ids if u} - set(names.users))
    channels = sorted({str(c) for c in channel_ids if c})
    if not users and not channels:
        return names
    found = lookup_names(_Snapshots(reader), guild_id, channels, users)
    names.users.update(found.users)
    names.channels.update({c: name for c in channels if (name := found.channel(c))})
    return names
