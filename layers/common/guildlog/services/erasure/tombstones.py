"""Tombstones at ingest: a member erased from a guild stays erased from what arrives later.

A late delivery, a relay's replay or an import can bring a member's old events after their erasure.
Ingest redacts them (services/erasure/scrub.py) before the raw line, the row or any hot item is made
from them, so nothing of theirs is written again. The erased members of a guild are read with one
Query (`G#<guild>#ERASE`, `T#…`) per guild per minute per warm container at most, like guild configs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from guildlog.models.envelope import Envelope
from guildlog.services.erasure.guild import bot_back, bot_removed, due_at
from guildlog.services.erasure.scrub import event_guild, scrub_event
from guildlog.services.timefmt import iso, utcnow

# Days a guild's data is kept after it removed the bot (template parameter GuildDeletionGraceDays).
DEFAULT_GRACE_DAYS = 30

# An erasure job waits this long after writing its tombstone before it lists the archive (its queue's
# delay): by then every ingest container has read the tombstone, so no object written after the
# listing holds the member unredacted.
CACHE_SECONDS = 60.0


class TombstoneReader(Protocol):
    def tombstones(self, guild_ids: list[str]) -> dict[str, frozenset[str]]: ...
    def schedule_guild_deletion(self, guild_id: str, due_at: str, removed_at: str) -> None: ...
    def cancel_guild_deletion(self, guild_id: str) -> None: ...


class TombstoneCache:
    def __init__(self, ttl_seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}

    def get_many(
        self, guild_ids: set[str], loader: Callable[[list[str]], dict[str, frozenset[str]]]
    ) -> dict[str, frozenset[str]]:
        now = self.clock()
        missing = [g for g in guild_ids if g not in self._entries or now - self._entries[g][0] > self.ttl]
        if missing:
            loaded = loader(sorted(missing))
            for guild_id in missing:
                self._entries[guild_id] = (now, loaded.get(guild_id, frozenset()))
        return {g: self._entries[g][1] for g in guild_ids}


class TombstoneFilter:
    """Redacts erased members' events in a batch; a batch of guilds with no erased member is returned as is.
    Also schedules the deletion of a guild that removed the bot (services/erasure/guild.py), and cancels
    it when the bot comes back."""

    def __init__(
        self,
        reader: TombstoneReader,
        cache: TombstoneCache | None = None,
        *,
        grace_days: int = DEFAULT_GRACE_DAYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.reader = reader
        self.cache = cache or TombstoneCache()
        self.grace_days = grace_days
        self.clock = clock

    def apply(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> tuple[Envelope, list[dict[str, Any]]]:
        self._guild_membership(raw_events)
        guilds = {g for r in raw_events if (g := event_guild(r))}
        if not guilds:
            return envelope, raw_events
        erased = self.cache.get_many(guilds, self.reader.tombstones)
        if not any(erased.values()):
            return envelope, raw_events
        events, raws = [], []
        for event, raw in zip(envelope.events, raw_events, strict=True):
            guild = event_guild(raw) or ""
            for user_id in sorted(erased.get(guild, ())):
                raw = scrub_event(raw, guild, user_id)
            events.append(event if raw.get("d") is event.d else event.model_copy(update={"d": raw.get("d")}))
            raws.append(raw)
        return envelope.model_copy(update={"events": events}), raws

    def _guild_membership(self, raw_events: list[dict[str, Any]]) -> None:
        """In the batch's order: a removal schedules the guild's deletion, a (re)join cancels it."""
        for raw in raw_events:
            if removed := bot_removed(raw):
                now = self.clock()
                self.reader.schedule_guild_deletion(removed, due_at(now, self.grace_days), iso(now))
            elif back := bot_back(raw):
                self.reader.cancel_guild_deletion(back)
