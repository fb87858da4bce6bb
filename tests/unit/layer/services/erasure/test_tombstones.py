"""services/erasure/tombstones.py: erased members' late events redacted at ingest; a guild's removal scheduled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guildlog.models.envelope import Envelope
from guildlog.services.erasure.tombstones import TombstoneCache, TombstoneFilter
from tests.fakes import archive_data as data


@dataclass
class Reader:
    erased: dict[str, frozenset[str]] = field(default_factory=dict)
    loads: int = 0
    scheduled: list[tuple[str, str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def tombstones(self, guild_ids: list[str]) -> dict[str, frozenset[str]]:
        self.loads += 1
        return {g: self.erased.get(g, frozenset()) for g in guild_ids}

    def schedule_guild_deletion(self, guild_id: str, due_at: str, removed_at: str) -> None:
        self.scheduled.append((guild_id, due_at))

    def cancel_guild_deletion(self, guild_id: str) -> None:
        self.cancelled.append(guild_id)


def batch(*events: tuple[str, dict[str, Any]]) -> tuple[Envelope, list[dict[str, Any]]]:
    raw = [{"t": t, "seq": n + 1, "received_at": "2026-11-20T00:00:00.000Z", "d": d} for n, (t, d) in enumerate(events)]
    envelope = Envelope.model_validate({"v": 1, "batch_id": "b1", "relay": {"session_id": "s"}, "events": raw})
    return envelope, raw


def late_message() -> tuple[str, dict[str, Any]]:
    t, d, _ = data.message_create(data.M6, data.GENERAL, data.ALICE, "alice", "2026-11-21T09:00:00.000Z", "late words")
    return t, d


def test_filter_redacts_the_erased_members_event_before_it_is_written() -> None:
    envelope, raw = batch(late_message())

    filtered, filtered_raw = TombstoneFilter(Reader({data.GUILD: frozenset({data.ALICE})})).apply(envelope, raw)

    assert filtered.events[0].d["content"] == "" and filtered_raw[0]["d"]["author"]["username"] == "[erased]"
    assert raw[0]["d"]["content"] == "late words"  # what was given is not changed in place


def test_filter_returns_the_batch_itself_when_no_member_of_its_guilds_is_erased() -> None:
    envelope, raw = batch(late_message())

    filtered, filtered_raw = TombstoneFilter(Reader()).apply(envelope, raw)

    assert filtered is envelope and filtered_raw is raw


def test_filter_reads_a_guilds_tombstones_once_when_batches_come_within_the_cache_minute() -> None:
    reader = Reader()
    now = [0.0]
    tombstones = TombstoneFilter(reader, TombstoneCache(clock=lambda: now[0]))

    tombstones.apply(*batch(late_message()))
    now[0] = 59.0
    tombstones.apply(*batch(late_message()))
    now[0] = 61.0
    tombstones.apply(*batch(late_message()))

    assert reader.loads == 2


def test_filter_schedules_the_guilds_deletion_when_the_bot_is_removed() -> None:
    reader = Reader()

    TombstoneFilter(reader, grace_days=30, clock=lambda: data.moment("2026-11-20T00:00:00Z")).apply(
        *batch(("GUILD_DELETE", {"id": data.GUILD}))
    )

    assert reader.scheduled == [(data.GUILD, "2026-12-20T00:00:00.000Z")]


def test_filter_schedules_nothing_when_the_guild_is_only_unavailable() -> None:
    reader = Reader()

    TombstoneFilter(reader).apply(*batch(("GUILD_DELETE", {"id": data.GUILD, "unavailable": True})))

    assert reader.scheduled == []


def test_filter_cancels_the_deletion_when_the_bot_comes_back() -> None:
    reader = Reader()

    TombstoneFilter(reader).apply(*batch(("GUILD_CREATE", {"id": data.GUILD, "name": "back"})))

    assert reader.cancelled == [data.GUILD]
