"""Automatic gap repair: when the relay reports a `GUILDLOG_GAP`, fetch back what Discord still has of its window.

Ingest hands every gap it stores to the repair (`gap_jobs`: one job per gap event, on GapRepairQueue
in AWS, in-process on the local stack through the same queue). A job:

1. opens the gap's repair record (`RELAY#<shard>` / `R#<since>#<gap event id>`, state `open`) unless
   it exists, so `/logs status` shows the gap from the first attempt on;
2. lists the bot's guilds (`GET /users/@me/guilds`) and keeps those the gap's shard serves (Discord's
   rule: `(guild_id >> 22) % shard_count == shard_id`);
3. backfills each over the gap's window [since, until] (`services/backfill.py`: messages as rows with
   `source: backfill`, REST captures in raw/), resuming from the record's checkpoints on a retry;
4. closes the record: `repaired` (every channel read), `partly repaired` (some channel could not be
   read: the record says which and why), with the messages recovered per guild; or, when Discord
   failed (after the client's retries), leaves it `open` with the error and raises, so the queue
   delivers the job again and finally parks it in the dead-letter queue.

What a repair can recover is what Discord's REST API still returns: the messages **created** in the
window and still there, in their current text. What it cannot: edits and deletions made inside the
window (REST shows only the latest state, and nothing of a deleted message), reactions added or
removed, members joining, leaving or changing, bans, voice, channel and role changes, and any other
gateway-only event. The record says so (`NOT_RECOVERABLE`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from guildlog.errors import DiscordApiError
from guildlog.models.envelope import BigInt
from guildlog.services.backfill import (
    Backfill,
    BackfillSummary,
    Checkpoints,
    HistoryClient,
    KnownCreates,
    Sink,
    Window,
)
from guildlog.services.timefmt import iso, parse_time, utcnow

GAP_TYPE = "GUILDLOG_GAP"
NOT_RECOVERABLE = (
    "edits and deletions made inside the window (REST shows a message's latest text only, nothing of a deleted one)",
    "reactions added or removed",
    "members joining, leaving or changing (nick, roles, timeouts), bans",
    "voice activity",
    "channel, thread, role, emoji and server changes",
    "every other gateway-only event",
)
# `until` is when the next session's READY came; a message sent in that same millisecond still belongs.
_UNTIL_SLACK = timedelta(milliseconds=1)


class GapJob(BaseModel):
    """One gap to repair, as ingest hands it over (ours: extra="forbid")."""

    model_config = ConfigDict(extra="forbid")

    v: int = 1
    gap_event_id: str = Field(min_length=1, max_length=250)
    shard: tuple[BigInt, BigInt]
    since: str
    until: str
    reason: str = Field(default="", max_length=200)


def gap_job(event_t: str, source: str, data: Any, gap_event_id: str, shard: tuple[int, int] | None) -> GapJob | None:
    """The repair job of a relay event, or None when it is not a gap with a window and a shard to repair."""
    if event_t != GAP_TYPE or source != "relay" or not isinstance(data, dict):
        return None
    declared = data.get("shard")
    if isinstance(declared, list) and len(declared) == 2 and all(isinstance(n, int) for n in declared):
        shard = (declared[0], declared[1])
    since, until = parse_time(data.get("since")), parse_time(data.get("until"))
    if shard is None or since is None or until is None or until < since or shard[1] < 1:
        return None
    reason = str(data.get("reason") or "")[:200]
    return GapJob(gap_event_id=gap_event_id, shard=shard, since=iso(since), until=iso(until), reason=reason)


def serves(guild_id: str, shard: tuple[int, int]) -> bool:
    """Whether gateway shard (id, count) carries `guild_id` (Discord's sharding formula)."""
    return (int(guild_id) >> 22) % shard[1] == shard[0]


class GuildLister(Protocol):
    def get_current_user_guilds(self) -> list[dict[str, Any]]: ...


class RepairClient(HistoryClient, GuildLister, Protocol):
    """What a repair reads from Discord: the bot's guilds and their history (adapters.discord_rest.DiscordRest)."""


class RepairRecords(Protocol):
    """The repair records (adapters/gap_repair_store.py in AWS and locally)."""

    def open(self, job: GapJob, opened_at: str) -> str:
        """Open the record unless it exists; the record's state (`open` for one created or unfinished)."""
        ...

    def checkpoints(self, job: GapJob) -> Checkpoints: ...
    def close(self, job: GapJob, record: dict[str, Any]) -> None: ...


@dataclass
class RepairResult:
    job: GapJob
    state: str
    summaries: list[BackfillSummary] = field(default_factory=list)
    error: str = ""

    @property
    def recovered(self) -> int:
        return sum(s.fetched for s in self.summaries)

    def record(self, finished_at: str) -> dict[str, Any]:
        """The attributes the repair record ends with (numbers, ids and reasons: never message text)."""
        skipped = [
            {"guild_id": s.guild_id, "channel_id": c.channel_id, "what": c.kind, "reason": c.reason}
            for s in self.summaries
            for c in s.channels
            if c.status in ("skipped", "failed")
        ]
        return {
            "state": self.state,
            "finished_at": finished_at,
            "recovered": self.recovered,
            "recovered_by_guild": {s.guild_id: s.fetched for s in self.summaries},
            "requests": sum(s.requests for s in self.summaries),
            "skipped": json.dumps(skipped[:50], separators=(",", ":")),
            "recoverable": "messages created in the window and still on Discord, in their current text",
            "not_recoverable": "; ".join(NOT_RECOVERABLE),
            "error": self.error[:300],
        }


class GapRepair:
    """Runs one job: see the module's steps. `known`: as `Backfill`'s (creates the relay stored under an
    older event id, left out)."""

    def __init__(
        self,
        rest: RepairClient,
        sink: Sink,
        records: RepairRecords,
        *,
        clock: Callable[[], datetime] = utcnow,
        known: KnownCreates | None = None,
    ) -> None:
        self.rest = rest
        self.sink = sink
        self.records = records
        self.clock = clock
        self.known = known

    def run(self, job: GapJob) -> RepairResult:
        """Repair `job`'s window; raises DiscordApiError (after recording it) when Discord failed, so it is retried."""
        state = self.records.open(job, iso(self.clock()))
        if state != "open":
            # Delivered again after it finished (SQS is at least once): the record already says what was recovered.
            return RepairResult(job, state)
        since, until = parse_time(job.since), parse_time(job.until)
        assert since is not None and until is not None  # GapJob's are ISO times (gap_job)
        window = Window(since, until + _UNTIL_SLACK)
        result = RepairResult(job, "repaired")
        try:
            guilds = [str(g.get("id")) for g in self.rest.get_current_user_guilds() if str(g.get("id", "")).isdigit()]
            backfill = Backfill(self.rest, self.sink, self.records.checkpoints(job), clock=self.clock, known=self.known)
            for guild_id in sorted(g for g in guilds if serves(g, job.shard)):
                result.summaries.append(backfill.run(guild_id, window))
        except DiscordApiError as exc:
            result.state, result.error = "open", exc.message
        failed = [c for s in result.summaries for c in s.failed]
        if failed and result.state != "open":
            result.state, result.error = "open", f"{len(failed)} channel(s) failed: {failed[0].reason}"
        elif any(s.skipped for s in result.summaries) and result.state == "repaired":
            result.state = "partly repaired"
        self.records.close(job, result.record(iso(self.clock())))
        if result.state == "open":
            raise DiscordApiError(f"gap repair of {job.gap_event_id} is not finished: {result.error}")
        return result
