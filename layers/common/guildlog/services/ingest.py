"""The ingest use case: a validated envelope → S3 archive objects and hot DynamoDB items.

Storage is injected (an archive with `put(key, text)`, a store like adapters.dynamodb_store), so
the same code runs in Lambda, on the local stack and in tests.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pydantic_core import PydanticSerializationError

from guildlog.errors import NormalizationError
from guildlog.models.config import GuildConfig
from guildlog.models.envelope import Envelope, QuarantineLine, RawArchiveLine
from guildlog.models.row import EventRow
from guildlog.services import counter_windows, feed_shards, hot_items, keys, privacy
from guildlog.services.counter_windows import CounterDelta
from guildlog.services.csv_render import render_csv
from guildlog.services.directory import Directory, Resolution
from guildlog.services.erasure.tombstones import TombstoneFilter
from guildlog.services.event_ids import event_id
from guildlog.services.normalize import event_time, normalize
from guildlog.services.partition import object_key, partition_day
from guildlog.services.redaction import redact
from guildlog.services.timefmt import iso, utcnow

# Discord's clock, the relay's and Lambda's differ by seconds, not days: an event dated further
# ahead of ingest's clock would sort first in its guild's feed and outlive every retention.
MAX_AHEAD = timedelta(days=1)
AHEAD_REASON = "event time outside the accepted range: more than a day ahead of ingest's clock"
# Shard-seen index items a container remembers having written (a few per shard and day).
SHARDS_SEEN_MAX = 4096


class Archive(Protocol):
    def put(self, key: str, text: str) -> None: ...


class ArchiveHandOff(Protocol):
    def send(self, body: str) -> None: ...


class Notifier(Protocol):
    def send(self, messages: list[tuple[str, str, str]]) -> int: ...


class GapRepairs(Protocol):
    def send(self, jobs: list[Any]) -> None: ...


class AttachmentQueue(Protocol):
    def send(self, jobs: list[Any]) -> int: ...


class HotStore(Protocol):
    def put_items(self, items: list[hot_items.Item]) -> int: ...
    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]: ...
    def guild_configs(self, guild_ids: list[str]) -> dict[str, GuildConfig]: ...


@runtime_checkable
class ShardPlanStore(Protocol):
    """Guilds' feed shard plans (`G#<guild>` / `SHARDS`). A store without them keeps every guild on
    one feed shard, as before sharding."""

    def shard_plans(self, guild_ids: list[str]) -> dict[str, str]: ...
    def replace_shard_plan(self, guild_id: str, expected: str, plan: str) -> bool: ...


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    accepted: int
    duplicates: int
    quarantined: int
    objects: int
    # Events from channels the guild keeps out of the record: dropped, only counted.
    unrecorded: int = 0

    def answer(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
        }


def _jsonl(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _unarchivable_line(eid: str, batch_id: str, event_type: str, raw: dict[str, Any]) -> str:
    """The quarantine line of an event that parsed but cannot be written back as UTF-8 JSON
    (nested past the serializer's depth, or a string with a lone surrogate escape): the event as
    ASCII-escaped JSON text, which keeps every character, when even that can be made."""
    try:
        text: str | None = json.dumps(raw, ensure_ascii=True, separators=(",", ":"))
    except (RecursionError, ValueError):
        text = None
    line = QuarantineLine(
        event_id=eid,
        batch_id=batch_id,
        reason="event cannot be archived as UTF-8 JSON: nested too deeply or invalid unicode",
        event={"t": event_type, "json": text},
    )
    return line.model_dump_json()


class ConfigCache:
    """Guild configs for a short while per warm container: one read per guild per minute at most."""

    def __init__(self, ttl_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, GuildConfig | None]] = {}

    def get_many(
        self, guild_ids: set[str], loader: Callable[[list[str]], dict[str, GuildConfig]]
    ) -> dict[str, GuildConfig | None]:
        now = self.clock()
        missing = [g for g in guild_ids if g not in self._entries or now - self._entries[g][0] > self.ttl]
        if missing:
            loaded = loader(sorted(missing))
            for guild_id in missing:
                self._entries[guild_id] = (now, loaded.get(guild_id))
        return {g: self._entries[g][1] for g in guild_ids}


class PlanCache:
    """Guilds' shard plans (their stored text) for a minute per warm container, like ConfigCache.

    Safe because a plan only ever changes from `feed_shards.LEAD` (5 minutes) on: a plan read a minute
    ago is the plan for every event up to now."""

    def __init__(self, ttl_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, str]] = {}

    def get_many(self, guild_ids: set[str], loader: Callable[[list[str]], dict[str, str]]) -> dict[str, str]:
        now = self.clock()
        missing = [g for g in guild_ids if g not in self._entries or now - self._entries[g][0] > self.ttl]
        if missing:
            loaded = loader(sorted(missing))
            for guild_id in missing:
                self._entries[guild_id] = (now, loaded.get(guild_id, ""))
        return {g: self._entries[g][1] for g in guild_ids}

    def forget(self, guild_id: str) -> None:
        self._entries.pop(guild_id, None)


class Ingestor:
    """Writes one envelope. Idempotent: the same batch twice leaves S3 and DynamoDB as once."""

    def __init__(
        self,
        archive: Archive,
        store: HotStore,
        *,
        default_retention_days: int = 30,
        clock: Callable[[], datetime] = utcnow,
        config_cache: ConfigCache | None = None,
        directory: Directory | None = None,
        plan_cache: PlanCache | None = None,
        notifier: Notifier | None = None,
        gap_repairs: GapRepairs | None = None,
        attachment_queue: AttachmentQueue | None = None,
        archive_queue: ArchiveHandOff | None = None,
        tombstones: TombstoneFilter | None = None,
    ) -> None:
        self.archive = archive
        # None: every batch writes its own archive objects (tools, tests of other concerns).
        self.archive_queue = archive_queue
        # Erased members (services/erasure): their events are redacted before anything is written.
        self.tombstones = tombstones
        self.store = store
        # None: rows keep `changes` empty and no snapshot is kept (tests of other concerns, tools).
        self.directory = directory
        self.notifier = notifier
        self.gap_repairs = gap_repairs
        # Attachment copies (services/attachments.py): None leaves files uncopied (tests, tools).
        self.attachment_queue = attachment_queue
        self.default_retention_days = default_retention_days
        self.clock = clock
        self.config_cache = config_cache or ConfigCache()
        self.plans = store if isinstance(store, ShardPlanStore) else None
        self.plan_cache = plan_cache or PlanCache()
        # The shard-seen index items (`RELAYS` / `D#<day>#S#<shard>`) this container has stored: the
        # same item however often it is written, so each is written once per container and day. A
        # cache only: past SHARDS_SEEN_MAX entries it starts again (a warm container lives for days).
        self._shards_seen: set[tuple[str, str]] = set()

    def ingest(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> IngestResult:
        if self.tombstones is not None:
            envelope, raw_events = self.tombstones.apply(envelope, raw_events)
        batch_id = envelope.batch_id
        relay = envelope.relay
        shard_id = relay.shard[0] if relay.shard else None
        raw_by_day: dict[date, list[str]] = defaultdict(list)
        rows_by_day: dict[date, list[EventRow]] = defaultdict(list)
        quarantine_by_day: dict[date, list[str]] = defaultdict(list)
        rows: list[EventRow] = []
        data_by_row: dict[str, Any] = {}
        seen: set[str] = set()
        in_batch_duplicates = 0
        now = self.clock()
        dropped = self._unrecorded(envelope)

        for index, (event, received) in enumerate(zip(envelope.events, raw_events, strict=True)):
            if index in dropped:
                continue
            # Credentials never reach the archive (services/redaction.py); nothing else is changed.
            raw, secrets = redact(received)
            eid = event_id(event, envelope)
            ahead = False
            try:
                occurred = event_time(event)
                ahead = occurred > now + MAX_AHEAD
                day = partition_day(event.received_at if ahead else occurred)
            except NormalizationError:
                # A time outside the accepted years: normalize quarantines the event below, and
                # its raw line goes where Athena can see it, under the day it was received.
                day = partition_day(event.received_at)
            if eid in seen:
                in_batch_duplicates += 1
                continue
            seen.add(eid)
            raw_line = RawArchiveLine(event_id=eid, batch_id=batch_id, relay=relay, event=raw, redacted=secrets or None)
            try:
                raw_by_day[day].append(raw_line.line())
            except PydanticSerializationError:
                # Valid JSON in, yet no UTF-8 JSON out: one bad event must not fail its whole batch
                # with a 5xx that the relay would retry forever.
                quarantine_by_day[day].append(_unarchivable_line(eid, batch_id, event.t, raw))
                continue
            if ahead:
                quarantine_by_day[day].append(
                    QuarantineLine(event_id=eid, batch_id=batch_id, reason=AHEAD_REASON, event=raw).model_dump_json()
                )
                continue
            try:
                row = normalize(event, event_id=eid, batch_id=batch_id, shard_id=shard_id)
            except NormalizationError as exc:
                reason = f"{exc.message}: {exc.fields.get('field', '?')}"
                quarantine_by_day[day].append(
                    QuarantineLine(event_id=eid, batch_id=batch_id, reason=reason, event=raw).model_dump_json()
                )
                continue
            rows.append(row)
            data_by_row[row.event_id] = event.d

        resolution = self._resolve(rows, data_by_row)
        if resolution is not None:
            rows = resolution.rows
        for row in rows:
            rows_by_day[partition_day(row.occurred_at)].append(row)
        written: list[int] = []

        def archive(queued_before: bool, counters: list[CounterDelta] | None = None) -> bool:
            objects, carried = self._write_archive(
                batch_id, raw_by_day, rows_by_day, quarantine_by_day, queued_before, counters
            )
            written.append(objects)
            return carried

        stored_before = self._write_hot(batch_id, rows, resolution, archive)
        objects = written[0]
        self._hand_over(rows)
        self._hand_over_gaps(envelope, {r.event_id for r in rows})
        self._queue_copies(rows, data_by_row)
        self._count_unrecorded(batch_id, envelope, dropped)
        quarantined = sum(len(v) for v in quarantine_by_day.values())
        return IngestResult(
            batch_id=batch_id,
            accepted=len(rows) - stored_before,
            duplicates=stored_before + in_batch_duplicates,
            quarantined=quarantined,
            objects=objects,
            unrecorded=len(dropped),
        )

    # --- channels never recorded (docs/data-rights.md, "Privacy") ---
    def _unrecorded(self, envelope: Envelope) -> set[int]:
        """The positions of the events that happened in a channel their guild keeps out of the record.

        Only guilds that list such channels cost anything beyond the cached config read; a thread
        created in a private channel is remembered in the directory (its parent only)."""
        pairs = [(event.t, event.d) for event in envelope.events]
        configs = self._configs({privacy.guild_of(d) for _, d in pairs})
        private = {g: c.unrecorded_channels for g, c in configs.items() if c is not None and c.unrecorded_channels}
        if not private:
            return set()
        lookup = self.directory.store.snapshots if self.directory is not None else None
        verdict = privacy.unrecorded(pairs, private, lookup)
        if verdict.private_threads and self.directory is not None:
            self.directory.store.put_snapshots(
                [
                    privacy.thread_parent_items(
                        str(privacy.guild_of(pairs[i][1])),
                        thread_id,
                        parent_id,
                        iso(envelope.events[i].received_at),
                        event_id(envelope.events[i], envelope),
                    )
                    for i, (thread_id, parent_id) in sorted(verdict.private_threads.items())
                ]
            )
        return verdict.dropped

    def _count_unrecorded(self, batch_id: str, envelope: Envelope, dropped: set[int]) -> None:
        """One counter item per guild and day received for the events dropped (`unrecorded`): what
        `/logs status` shows. Keyed by the batch, so a retried batch rewrites the same items."""
        if not dropped:
            return
        by_guild: dict[tuple[str, str], int] = defaultdict(int)
        for index in dropped:
            event = envelope.events[index]
            guild_id = privacy.guild_of(event.d)
            if guild_id:
                by_guild[(guild_id, partition_day(event.received_at).isoformat())] += 1
        configs = self._configs({g for g, _ in by_guild})
        items: list[hot_items.Item] = []
        for (guild_id, day), count in sorted(by_guild.items()):
            day_end = int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp()) + 86_400
            config = configs.get(guild_id)
            retention = config.retention_days if config else self.default_retention_days
            items.append(
                {
                    "PK": keys.day_pk(guild_id, day),
                    "SK": keys.delta_sk(batch_id) + "#unrecorded",
                    "kind": "counter_delta",
                    "unrecorded": count,
                    "expires_at": day_end + retention * 86_400,
                }
            )
        self.store.put_items(items)

    def _resolve(self, rows: list[EventRow], data_by_row: dict[str, Any]) -> Resolution | None:
        """The rows' before → after from the directory (read before anything is written, so the
        archive gets the same rows as the hot table)."""
        if self.directory is None or not rows:
            return None
        configs = self._configs({r.guild_id for r in rows if r.guild_id})
        retention = {g: c.retention_days if c else self.default_retention_days for g, c in configs.items()}
        return self.directory.resolve([(r, data_by_row.get(r.event_id)) for r in rows], retention)

    def _configs(self, guild_ids: set[str | None]) -> dict[str, GuildConfig | None]:
        wanted = {g for g in guild_ids if g}
        return self.config_cache.get_many(wanted, self.store.guild_configs) if wanted else {}

    def _write_archive(
        self,
        batch_id: str,
        raw_by_day: dict[date, list[str]],
        rows_by_day: dict[date, list[EventRow]],
        quarantine_by_day: dict[date, list[str]],
        queued_before: bool = False,
        counters: list[CounterDelta] | None = None,
    ) -> tuple[int, bool]:
        """Queue the batch's archive lines for ArchiveFunction (0 objects written here), or, when the
        message would be too large or the queue refuses, write the batch's own objects (their count).
        With `counters`, the message carries them too; the second value says whether it did.

        `queued_before`: an earlier attempt of this batch already stored hot rows, which it does only
        after its hand-off: that message holds the whole batch, and a second would be a second copy."""
        if self.archive_queue is not None and queued_before:
            return 0, False
        if self.archive_queue is not None:
            from guildlog.errors import StorageError
            from guildlog.services import archive_batches

            days = archive_batches.batch_lines(raw_by_day, rows_by_day, quarantine_by_day)
            body = archive_batches.encode(batch_id, days, counters=counters)
            if counters and len(body.encode("utf-8")) > archive_batches.MAX_MESSAGE_BYTES:
                counters, body = None, archive_batches.encode(batch_id, days)
            if len(body.encode("utf-8")) <= archive_batches.MAX_MESSAGE_BYTES:
                try:
                    self.archive_queue.send(body)
                    return 0, bool(counters)
                except StorageError:
                    pass  # S3 directly: the batch is archived either way before ingest answers
        objects = 0
        for day, lines in sorted(raw_by_day.items()):
            self.archive.put(object_key("raw", day, batch_id), _jsonl(lines))
            objects += 1
        for day, day_rows in sorted(rows_by_day.items()):
            self.archive.put(object_key("events", day, batch_id), _jsonl([r.model_dump_json() for r in day_rows]))
            self.archive.put(object_key("events_csv", day, batch_id), render_csv(day_rows))
            objects += 2
        for day, lines in sorted(quarantine_by_day.items()):
            self.archive.put(object_key("quarantine", day, batch_id), _jsonl(lines))
            objects += 1
        return objects, False

    def _hand_over(self, rows: list[EventRow]) -> None:
        """Queue the rows the guilds' log channels want, in order (the moderation log; NotifyFunction posts them).

        Every live row is handed over, duplicates included: a batch retried after a crash between
        the hot write and this hand-over must still reach the log, and NotifyFunction's posted
        markers keep a second hand-over from posting twice. Imported and replayed history is not
        live, and is never posted. Routing and ignores are NotifyFunction's, on the config of the
        moment; here only guilds with no log at all are left out.
        """
        if self.notifier is None:
            return
        from guildlog.services.modlog.kinds import kind_of

        live = [r for r in rows if r.source == "gateway" and r.guild_id]
        if not live:
            return
        configs = self._configs({r.guild_id for r in live})
        messages = []
        for row in live:
            config = configs.get(row.guild_id) if row.guild_id else None
            if config is None or not config.logs_anything:
                continue
            data = row.model_dump()
            if kind_of(data) is None:
                continue
            body = json.dumps(
                {"v": 1, "guild_id": row.guild_id, "row": data}, separators=(",", ":"), ensure_ascii=False
            )
            messages.append((str(row.guild_id), row.event_id, body))
        if messages:
            self.notifier.send(messages)

    # -- gap repair (services/gap_repair.py)

    def _hand_over_gaps(self, envelope: Envelope, stored: set[str]) -> None:
        """Queue a repair for every relay gap of the batch, once it is stored (duplicates too: a batch
        retried after a crash before this point must still start its repair; a repair runs once)."""
        if self.gap_repairs is None:
            return
        from guildlog.services.gap_repair import gap_job

        jobs = []
        for event in envelope.events:
            eid = event_id(event, envelope)
            shard = event.shard or envelope.relay.shard
            job = gap_job(event.t, event.source, event.d, eid, shard) if eid in stored else None
            if job is not None:
                jobs.append(job)
        if jobs:
            self.gap_repairs.send(jobs)

    def _queue_copies(self, rows: list[EventRow], data_by_row: dict[str, Any]) -> None:
        """Queue the files of live messages for AttachmentCopyFunction: the only attachment work on
        ingest's path, in SendMessageBatch calls of ten. Imported history's CDN links have long expired."""
        if self.attachment_queue is None:
            return
        from guildlog.services.attachments import jobs_for

        live = [r for r in rows if r.source == "gateway" and r.guild_id and r.category == "message"]
        if not live:
            return
        configs = self._configs({r.guild_id for r in live})
        jobs = []
        for row in live:
            config = configs.get(row.guild_id) if row.guild_id else None
            retention = config.retention_days if config else self.default_retention_days
            jobs.extend(jobs_for(row, data_by_row.get(row.event_id), config, retention_days=retention))
        if jobs:
            self.attachment_queue.send(jobs)

    def _write_hot(
        self,
        batch_id: str,
        rows: list[EventRow],
        resolution: Resolution | None = None,
        archive: Callable[[bool, list[CounterDelta] | None], bool] | None = None,
    ) -> int:
        """Write the hot items; returns how many rows were already stored (duplicates).

        `archive(queued_before, counters)` runs before the first feed item is written, told whether an
        earlier attempt of this batch stored any of its rows (the duplicate check's own read says so),
        and given a small batch's counter deltas to carry (services/counter_windows.py); it answers
        whether its hand-off carries them, and when it does no delta item of the batch's own is written."""
        now = int(self.clock().timestamp())
        configs = self._configs({r.guild_id for r in rows})
        if resolution is not None and self.directory is not None:
            # Snapshots move only forward in event time, whatever became of the rows below.
            self.directory.store.put_items(resolution.versions + resolution.new_snapshots)
            self.directory.store.put_snapshots(resolution.snapshots)
        hot_rows: list[EventRow] = []
        ttl_by_row: dict[str, int] = {}
        for row in rows:
            config = configs.get(row.guild_id) if row.guild_id else None
            retention = config.retention_days if config else self.default_retention_days
            ttl = hot_items.expires_at(row, retention)
            # Older than the retention already: the archive has it, the hot table would drop it.
            if ttl <= now or not hot_items.is_hot(row, config):
                continue
            ttl_by_row[row.event_id] = ttl
            hot_rows.append(row)
        if not hot_rows:
            if archive is not None:
                archive(False, None)
            return 0
        plan_texts = self._plan_texts({r.guild_id for r in hot_rows if r.guild_id})
        plans = {g: feed_shards.ShardPlan.parse(text) for g, text in plan_texts.items()}

        def key(row: EventRow) -> tuple[str, str]:
            return hot_items.feed_key(row, plans.get(row.guild_id or ""))

        # A relay contact is keyed by its event: rewriting it is harmless, so it needs no duplicate check.
        contacts = [r for r in hot_rows if hot_items.contact_only(r)]
        fed = [r for r in hot_rows if not hot_items.contact_only(r)]
        stored = self.store.stored_batches([key(r) for r in fed])
        # This batch writes the rows no other batch has stored: the new ones, and its own from an
        # attempt that failed part-way. The same rows every time, so a retry rewrites the same items,
        # counter deltas included, and an event replayed in another batch is counted once.
        mine = [r for r in fed if stored.get(key(r), batch_id) == batch_id]
        deltas = hot_items.counter_deltas(mine, ttl_by_row)
        carried = False
        if archive is not None:
            queued_before = any(stored_by == batch_id for stored_by in stored.values())
            carried = archive(queued_before, None if queued_before else counter_windows.riding(deltas, len(mine)))
        items: list[hot_items.Item] = []
        for row in mine:
            ttl = ttl_by_row[row.event_id]
            plan = plans.get(row.guild_id or "")
            items.append(hot_items.feed_item(row, ttl, plan))
            items.extend(hot_items.message_items(row, ttl, plan))
            items.extend(hot_items.relay_items(row))
        for row in contacts:
            items.extend(hot_items.relay_items(row))
        if not carried:
            items.extend(hot_items.delta_items(batch_id, deltas))
        seen = [i for i in hot_items.shard_items(mine + contacts) if (i["PK"], i["SK"]) not in self._shards_seen]
        items.extend(seen)
        if resolution is not None and resolution.leave_corrections:
            items.extend(self._leave_corrections(batch_id, resolution.leave_corrections, mine, configs))
        self.store.put_items(items)
        if len(self._shards_seen) + len(seen) > SHARDS_SEEN_MAX:
            self._shards_seen.clear()
        self._shards_seen.update((str(i["PK"]), str(i["SK"])) for i in seen)
        self._raise_shards(hot_rows, plan_texts, plans)
        return sum(1 for r in fed if key(r) in stored)

    def _leave_corrections(
        self,
        batch_id: str,
        corrections: dict[str, tuple[str, str]],
        mine: list[EventRow],
        configs: dict[str, GuildConfig | None],
    ) -> list[hot_items.Item]:
        """Take back leaves counted before the audit log said they were kicks or bans: one delta item
        per day, for the audit entries this batch counts (an entry replayed in another batch is not)."""
        counted = {r.event_id for r in mine}
        days: dict[tuple[str, str], int] = {}
        for audit_id, (guild_id, day) in corrections.items():
            if audit_id in counted:
                days[(guild_id, day)] = days.get((guild_id, day), 0) + 1
        items = []
        for (guild_id, day), count in sorted(days.items()):
            config = configs.get(guild_id)
            retention = config.retention_days if config else self.default_retention_days
            day_end = int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp()) + 86_400
            items.append(
                {
                    "PK": keys.day_pk(guild_id, day),
                    "SK": keys.delta_sk(batch_id) + "#leaves",
                    "kind": "counter_delta",
                    "leaves": -count,
                    "expires_at": day_end + retention * 86_400,
                }
            )
        return items

    def _plan_texts(self, guild_ids: set[str]) -> dict[str, str]:
        if self.plans is None or not guild_ids:
            return {}
        return self.plan_cache.get_many(guild_ids, self.plans.shard_plans)

    def _raise_shards(
        self, rows: list[EventRow], texts: dict[str, str], plans: dict[str, feed_shards.ShardPlan]
    ) -> None:
        """Raise a guild's feed shards when this batch shows it writing faster than its shards take.

        After the batch's own writes, and only ever up: a conditional write of the plan read, so two
        containers deciding at once write one new plan. The new count holds from `LEAD` on."""
        if self.plans is None:
            return
        received: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            if row.guild_id:
                received[row.guild_id].append(row.received_at)
        now = self.clock()
        for guild_id, times in sorted(received.items()):
            rate = feed_shards.batch_rate(times)
            if rate is None:
                continue
            plan = plans.get(guild_id, feed_shards.ShardPlan())
            wanted = feed_shards.shards_for_rate(rate)
            if wanted <= plan.max_shards:
                continue
            raised = plan.with_shards(wanted, now)
            self.plans.replace_shard_plan(guild_id, texts.get(guild_id, ""), raised.text())
            self.plan_cache.forget(guild_id)
