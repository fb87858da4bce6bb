"""The archive's hand-off: ingest queues a batch's archive lines, ArchiveFunction writes many batches at once.

A small server's batch holds one event or a few, and writing it as one S3 object per dataset cost three
PUTs per event ($15 a million). Ingest instead queues one message per batch (its raw, normalized and
quarantine lines per partition day, gzipped) and ArchiveFunction writes the lines of every message it
receives together: one object per dataset and partition day for many batches, at the same keys and
in the same formats readers already know (`<dataset>/year=/month=/day=/<name>.<ext>`).

The object's name comes from the batch ids in it, so a retried ArchiveFunction batch of the same
messages overwrites its own objects; one batch alone is named by its batch id, the very key ingest
would have written directly. Messages with the same batch id (a retried ingest) are written once per
object. A batch that reaches two objects (a retry grouped with other messages) is de-duplicated by
every reader and by compaction, which keep the first line per `event_id`.

**A quiet stack's lines are held** (`Hold`): ArchiveFunction's window is five minutes at most, so a
server writing a few events a minute still cost three PUTs per window, 864 a day. When a window's
lines, packed together, fit one message and the oldest has waited less than the hold, ArchiveFunction
queues them again as that one message (its `held_since` keeps the oldest line's time) instead of
writing them; the next window takes it along with what arrived since. A busy stack's window fills a
message at once and is written as before. A hand-off that SQS refuses is written instead.

**A small batch's counter deltas ride along** (services/counter_windows.py): ArchiveFunction writes the
deltas of every message of its window to the hot table first, one item per guild and day, then holds or
writes the lines; a held message carries none. A window whose counters cannot be written comes again whole.

**Erased members stay erased**: lines are written through the guilds' tombstones (the rule ingest
applies, services/erasure/tombstones.py), so a line queued before a member's erasure and written after
the erasure job (a held one, or a batch that failed and came round again) holds nothing of theirs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guildlog.errors import GuildlogError, MalformedRequestError
from guildlog.models.envelope import BATCH_ID_PATTERN
from guildlog.models.row import EventRow
from guildlog.services.counter_windows import CounterDelta, window_items
from guildlog.services.csv_render import render_csv
from guildlog.services.erasure.rewriter import MemberEdits
from guildlog.services.partition import object_key

KIND = "archive_batch"
# SQS takes messages up to 256 KiB; what is larger (a big batch) is written by ingest directly.
MAX_MESSAGE_BYTES = 240_000
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class DayLines(BaseModel):
    """One partition day's lines of a batch, as ingest made them (one JSON object per line)."""

    model_config = ConfigDict(extra="forbid")

    raw: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    quarantine: list[str] = Field(default_factory=list)


class ArchivePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: dict[str, DayLines]


class ArchiveMessage(BaseModel):
    """The SQS message body: what ingest accepted of one batch for the archive (ours: extra="forbid")."""

    model_config = ConfigDict(extra="forbid")

    v: int = Field(ge=1, le=1)
    kind: str = Field(pattern=f"^{KIND}$")
    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    # base64 of the gzipped ArchivePayload JSON: archive lines compress about fivefold, and SQS bills
    # per 64 KB of message.
    gz: str
    # Lines ArchiveFunction held (see `Hold`): the unix time the oldest of them was first queued.
    held_since: int | None = Field(default=None, ge=0)
    # A small batch's counter deltas (services/counter_windows.py), written by ArchiveFunction; a held
    # message never carries any (they were written when its batches first arrived).
    counters: list[CounterDelta] | None = None


@dataclass(frozen=True)
class ArchiveBatch:
    batch_id: str
    days: dict[date, DayLines]
    held_since: int | None = None
    counters: tuple[CounterDelta, ...] = ()

    @property
    def lines(self) -> int:
        return sum(len(d.raw) + len(d.events) + len(d.quarantine) for d in self.days.values())


def encode(
    batch_id: str,
    days: dict[date, DayLines],
    held_since: int | None = None,
    counters: list[CounterDelta] | None = None,
) -> str:
    """The message body of a batch's archive lines and, for a small batch, its counter deltas
    (deterministic: the same lines give the same body)."""
    payload = ArchivePayload(days={d.isoformat(): lines for d, lines in sorted(days.items())})
    packed = gzip.compress(payload.model_dump_json().encode("utf-8"), compresslevel=6, mtime=0)
    message = ArchiveMessage(
        v=1,
        kind=KIND,
        batch_id=batch_id,
        gz=base64.b64encode(packed).decode("ascii"),
        held_since=held_since,
        counters=counters or None,
    )
    return message.model_dump_json(exclude_none=True)


def decode(body: str) -> ArchiveBatch:
    """A message body back into its batch; MalformedRequestError (with the reason) when it is not one."""
    try:
        message = ArchiveMessage.model_validate_json(body)
        text = gzip.decompress(base64.b64decode(message.gz, validate=True))
        payload = ArchivePayload.model_validate_json(text)
        days = {date.fromisoformat(day): lines for day, lines in payload.days.items()}
    except (ValidationError, ValueError, OSError, EOFError) as exc:
        raise MalformedRequestError("not an archive hand-off message", reason=type(exc).__name__) from None
    return ArchiveBatch(message.batch_id, days, message.held_since, tuple(message.counters or ()))


def is_archive_message(body: str) -> bool:
    """Whether a queue message body is an archive hand-off (by its envelope, without unpacking it)."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("kind") == KIND and document.get("v") == 1


def group_name(batch_ids: list[str]) -> str:
    """The object name of the batches' lines: the batch id itself for one batch, else a hash of the
    sorted ids (shaped like a batch id, so compaction and every reader take it as one)."""
    distinct = sorted(set(batch_ids))
    if len(distinct) == 1:
        return distinct[0]
    digest = hashlib.sha256("\n".join(distinct).encode("utf-8")).hexdigest()[:40]
    return f"archive-{digest}"


class Archive(Protocol):
    def put(self, key: str, text: str) -> None: ...


@dataclass(frozen=True)
class Hold:
    """Hold a quiet stack's lines up to `seconds` (ArchiveHoldMinutes), queued again through `requeue`."""

    seconds: float
    requeue: Callable[[str], None]
    clock: Callable[[], float] = time.time


# The guild ids a line names (a raw event's `d.guild_id`, a row's `guild_id`), found without parsing it.
_GUILD_IDS = re.compile(r'"guild_id":"?([0-9]{15,21})')
# Erased members by guild, for the guilds asked (services/erasure/tombstones.py: cached per container).
Tombstones = Callable[[set[str]], Mapping[str, frozenset[str]]]
# Writes the window's counter items to the hot table (raises GuildlogError when it cannot).
CounterSink = Callable[[list[dict[str, Any]]], Any]


@dataclass
class WriteReport:
    """What one ArchiveFunction batch did: objects written, and the records to redeliver."""

    objects: int = 0
    batches: int = 0
    lines: int = 0
    # Batches queued again as one held message instead of written (0 when the window was written).
    held: int = 0
    # Lines edited on the way out because their member was erased after they were queued.
    redacted: int = 0
    failed: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def _jsonl(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


class ArchiveWriter:
    """Writes the lines of many queued batches as one object per dataset and partition day."""

    def __init__(
        self,
        archive: Archive,
        on_error: Callable[[str, GuildlogError], None] | None = None,
        *,
        hold: Hold | None = None,
        tombstones: Tombstones | None = None,
        counters: CounterSink | None = None,
    ) -> None:
        self.archive = archive
        self.on_error = on_error
        self.hold = hold
        self.tombstones = tombstones
        self.counters = counters

    def write(self, records: list[tuple[str, str]], sent_at: Mapping[str, float] | None = None) -> WriteReport:
        """Write (record id, message body) records; the report names the records that must come again.
        `sent_at` is when SQS first received each record (unix seconds; now when unknown): the hold's clock.

        A record that is not an archive message is reported as failed too: it goes round to the
        dead-letter queue, where `guildlog dlq` shows it, rather than being dropped.
        """
        report = WriteReport()
        batches: dict[str, tuple[ArchiveBatch, list[str]]] = {}
        deltas: list[tuple[str, CounterDelta]] = []
        for record_id, body in records:
            try:
                batch = decode(body)
            except MalformedRequestError as exc:
                report.malformed.append(record_id)
                if self.on_error is not None:
                    self.on_error(record_id, exc)
                continue
            deltas += [(batch.batch_id, delta) for delta in batch.counters]
            # A batch queued twice (ingest retried) is written once; both records are done with it.
            if batch.batch_id in batches:
                batches[batch.batch_id][1].append(record_id)
            else:
                batches[batch.batch_id] = (batch, [record_id])
        report.batches = len(batches)
        if deltas and not self._write_counters(deltas):
            # Nothing of the window is done: every record comes again, counters and lines alike.
            report.failed = [record_id for record_id, _ in records]
            return report
        if batches and self._held(batches, sent_at or {}):
            report.held = len(batches)
            report.failed = list(report.malformed)  # in the records' order, as they were met
            return report
        edits = self._edits([b for b, _ in batches.values()])
        objects: dict[tuple[str, date], list[ArchiveBatch]] = defaultdict(list)
        for batch_id in sorted(batches):
            batch = batches[batch_id][0]
            report.lines += batch.lines
            for day, day_lines in batch.days.items():
                for dataset in ("raw", "events", "quarantine"):
                    if getattr(day_lines, dataset):
                        objects[(dataset, day)].append(batch)
        failed: set[str] = set(report.malformed)
        for (dataset, day), members in sorted(objects.items()):
            name = group_name([b.batch_id for b in members])
            texts: list[str] = [line for b in members for line in getattr(b.days[day], dataset)]
            for member in edits:
                edit = member.edit_for(dataset)
                edited = [edit(line) for line in texts]
                report.redacted += sum(1 for a, b in zip(texts, edited, strict=True) if a is not b)
                texts = edited
            try:
                self.archive.put(object_key(dataset, day, name), _jsonl(texts))
                if dataset == "events":
                    rows = [EventRow.model_validate_json(text) for text in texts]
                    self.archive.put(object_key("events_csv", day, name), render_csv(rows))
                    report.objects += 1
                report.objects += 1
            except (GuildlogError, ValidationError) as exc:
                error = exc if isinstance(exc, GuildlogError) else MalformedRequestError("a row does not validate")
                if self.on_error is not None:
                    self.on_error(name, error)
                for batch in members:
                    failed.update(batches[batch.batch_id][1])
        report.failed = [record_id for record_id, _ in records if record_id in failed]
        return report

    def _write_counters(self, deltas: list[tuple[str, CounterDelta]]) -> bool:
        """The window's counter deltas, one item per guild and day (services/counter_windows.py); False
        when they could not be written (the records come again)."""
        if self.counters is None:
            if self.on_error is not None:
                self.on_error("counters", GuildlogError("counter deltas queued but no table to write them to"))
            return False
        try:
            self.counters(window_items(deltas))
        except GuildlogError as exc:
            if self.on_error is not None:
                self.on_error("counters", exc)
            return False
        return True

    def _held(self, batches: dict[str, tuple[ArchiveBatch, list[str]]], sent_at: Mapping[str, float]) -> bool:
        """Queue the window's lines again as one message when the hold allows it; True when they were."""
        hold = self.hold
        if hold is None or hold.seconds <= 0:
            return False
        now = hold.clock()
        oldest = min(
            batch.held_since if batch.held_since is not None else min(sent_at.get(r, now) for r in record_ids)
            for batch, record_ids in batches.values()
        )
        if now - oldest >= hold.seconds:
            return False
        ordered = [batches[batch_id][0] for batch_id in sorted(batches)]
        days: dict[date, DayLines] = {}
        for batch in ordered:
            for day, lines in batch.days.items():
                into = days.setdefault(day, DayLines())
                into.raw += lines.raw
                into.events += lines.events
                into.quarantine += lines.quarantine
        body = encode(group_name(list(batches)), days, held_since=int(oldest))
        if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
            return False
        try:
            hold.requeue(body)
        except GuildlogError as exc:
            if self.on_error is not None:
                self.on_error("hold", exc)
            return False
        return True

    def _edits(self, batches: list[ArchiveBatch]) -> list[MemberEdits]:
        """The erased members of the guilds these lines name: each line goes through their edits."""
        if self.tombstones is None:
            return []
        guilds = {
            guild
            for batch in batches
            for lines in batch.days.values()
            for line in (*lines.raw, *lines.events, *lines.quarantine)
            for guild in _GUILD_IDS.findall(line)
        }
        if not guilds:
            return []
        erased = self.tombstones(guilds)
        return [MemberEdits(guild, user) for guild in sorted(erased) for user in sorted(erased[guild])]


def batch_lines(
    raw_by_day: dict[date, list[str]], rows_by_day: dict[date, list[Any]], quarantine_by_day: dict[date, list[str]]
) -> dict[date, DayLines]:
    """Ingest's per-day lines (rows as EventRow) as the message's days."""
    days: dict[date, DayLines] = {}
    for day in sorted({*raw_by_day, *rows_by_day, *quarantine_by_day}):
        days[day] = DayLines(
            raw=raw_by_day.get(day, []),
            events=[row.model_dump_json() for row in rows_by_day.get(day, [])],
            quarantine=quarantine_by_day.get(day, []),
        )
    return days
