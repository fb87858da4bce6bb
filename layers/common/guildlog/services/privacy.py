"""Channels never recorded: which events of a batch happened in a channel a guild keeps out of the record.

A guild lists channels and categories in its config (`unrecorded_channels`, set by `/logs config
privacy`). An event happened in such a place when the channel it names (`channel_id`; a thread
event's thread and its parent), the channel's parent, or the parent's parent (thread → channel →
category) is listed. Ingest drops those events before anything is written and only counts them.

The channels' own create, update and delete events are kept: they are the server's structure (a
name, a position, a parent), and the directory learns each channel's parent from them. A thread
created in a private channel is dropped, so ingest remembers its parent in the directory
(`thread_parent_items`) for the messages in it that follow.

Parents are looked up only for guilds that list something, and only for channels the batch itself
does not place: one BatchGetItem of directory snapshots per level, at most two levels.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from guildlog.services.directory import dir_pk, snapshot_sk

# Events whose `d.id` is a thread (and `d.parent_id`, where present, its channel).
THREAD_EVENTS = frozenset(
    {"THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE", "THREAD_MEMBER_UPDATE", "THREAD_MEMBERS_UPDATE"}
)
# Events whose `d.id` is a channel and that may carry its parent: what places a channel within a batch.
_PLACING_EVENTS = frozenset({"CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"})
# Thread → channel → category: no deeper nesting exists on Discord.
_LEVELS = 2

ParentLookup = Callable[[list[tuple[str, str]]], dict[tuple[str, str], Any]]


def _id(value: Any) -> str | None:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return text if isinstance(text, str) and text.isascii() and text.isdigit() else None


def guild_of(data: Any) -> str | None:
    return _id(data.get("guild_id")) if isinstance(data, dict) else None


def places(event_type: str, data: Any) -> list[str]:
    """The channels an event happened in, innermost first (its own channel or thread, then any parent
    it names). A channel's own structure event names none: it is kept whatever its place."""
    if not isinstance(data, dict) or event_type in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"):
        return []
    if event_type in THREAD_EVENTS:
        found = [data.get("id"), data.get("parent_id")]
    else:
        channel = data.get("channel")
        found = [data.get("channel_id"), channel.get("parent_id") if isinstance(channel, dict) else None]
    return [c for c in (_id(v) for v in found) if c]


@dataclass
class Verdict:
    """Which events of the batch (by position) are dropped, and the threads found to be private."""

    dropped: set[int] = field(default_factory=set)
    private_threads: dict[int, tuple[str, str]] = field(default_factory=dict)


def unrecorded(
    events: list[tuple[str, Any]], private_by_guild: dict[str, frozenset[str]], lookup: ParentLookup | None
) -> Verdict:
    """The events (type, data) to drop, given each guild's unrecorded channels and categories.

    `lookup` reads directory snapshots by key (None: only what the batch itself says is known)."""
    verdict = Verdict()
    if not private_by_guild:
        return verdict
    parents: dict[tuple[str, str], str | None] = {}
    for event_type, data in events:
        guild_id = guild_of(data)
        if guild_id in private_by_guild and event_type in _PLACING_EVENTS:
            channel_id, parent_id = _id(data.get("id")), _id(data.get("parent_id"))
            if channel_id and parent_id:
                parents[(guild_id, channel_id)] = parent_id
    wanted = [(i, guild_of(d), places(t, d)) for i, (t, d) in enumerate(events)]
    wanted = [(i, g, p) for i, g, p in wanted if g in private_by_guild and p]
    if not wanted:
        return verdict
    _look_up_parents({(g, c) for _, g, chain in wanted for c in chain if g}, parents, private_by_guild, lookup)
    for index, guild_id, chain in wanted:
        assert guild_id is not None
        if any(place in private_by_guild[guild_id] for place in _ancestry(guild_id, chain, parents)):
            verdict.dropped.add(index)
            event_type, data = events[index]
            thread_id, parent_id = _id(data.get("id")), _id(data.get("parent_id"))
            if event_type == "THREAD_CREATE" and thread_id and parent_id:
                verdict.private_threads[index] = (thread_id, parent_id)
    return verdict


def _ancestry(guild_id: str, chain: list[str], parents: dict[tuple[str, str], str | None]) -> Iterable[str]:
    seen: set[str] = set()
    todo = list(chain)
    while todo:
        place = todo.pop()
        if place in seen:
            continue
        seen.add(place)
        yield place
        parent = parents.get((guild_id, place))
        if parent:
            todo.append(parent)


def _look_up_parents(
    channels: set[tuple[str, str]],
    parents: dict[tuple[str, str], str | None],
    private_by_guild: dict[str, frozenset[str]],
    lookup: ParentLookup | None,
) -> None:
    """Fill `parents` up the tree from each channel: what the batch placed is followed, what it did
    not is read from the directory, one BatchGetItem per level."""
    if lookup is None:
        return
    for _ in range(_LEVELS + 1):
        todo = {_top(key, parents) for key in channels}
        todo = {key for key in todo if key not in parents and key[1] not in private_by_guild[key[0]]}
        if not todo:
            return
        keys = sorted(todo)
        found = lookup([(dir_pk(g), snapshot_sk("channel", c)) for g, c in keys])
        for guild_id, channel_id in keys:
            parents[(guild_id, channel_id)] = _parent_of(
                found.get((dir_pk(guild_id), snapshot_sk("channel", channel_id)))
            )


def _top(key: tuple[str, str], parents: dict[tuple[str, str], str | None]) -> tuple[str, str]:
    """The highest place known above `key` (itself when its parent is unknown or it has none)."""
    seen = {key}
    while parents.get(key):
        parent = (key[0], str(parents[key]))
        if parent in seen:
            return key
        seen.add(parent)
        key = parent
    return key


def _parent_of(item: Any) -> str | None:
    if not isinstance(item, dict) or not item.get("state"):
        return None
    try:
        state = json.loads(str(item["state"]))
    except ValueError:
        return None
    return _id(state.get("parent_id")) if isinstance(state, dict) else None


def thread_parent_items(guild_id: str, thread_id: str, parent_id: str, at: str, event_id: str) -> dict[str, Any]:
    """The directory snapshot of a thread created in a private channel: its parent only, nothing it said."""
    return {
        "PK": dir_pk(guild_id),
        "SK": snapshot_sk("channel", thread_id),
        "kind": "dir_channel",
        "id": thread_id,
        "state": json.dumps({"parent_id": parent_id}, separators=(",", ":")),
        "at": at,
        "event_id": event_id,
    }
