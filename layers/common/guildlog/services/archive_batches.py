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
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guildlog.errors import GuildlogError, MalformedRequestError
from guildlog.models.envelope import BATCH_ID_PATTERN
from guildlog.models.row import EventRow
from guildlog.services.csv_render import render_csv
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


@dataclass(frozen=True)
class ArchiveBatch:
    batch_id: str
    days: dict[date, DayLines]

    @property
    def lines(self) -> int:
        return sum(len(d.raw) + len(d.events) + len(d.quarantine) for d in self.days.values())


def encode(batch_id: str, days: dict[date, DayLines]) -> str:
    """The message body of a batch's archive lines (deterministic: the same lines give the same body)."""
    payload = ArchivePayload(days={d.isoformat(): lines for d, lines in sorted(days.items())})
    packed = gzip.compress(payload.model_dump_json().encode("utf-8"), compresslevel=6, mtime=0)
    message = ArchiveMessage(v=1, kind=KIND, batch_id=batch_id, gz=base64.b64encode(packed).decode("ascii"))
    return message.model_dump_json()


def decode(body: str) -> ArchiveBatch:
    """A message body back into its batch; MalformedRequestError (with the reason) when it is not one."""
    try:
        message = ArchiveMessage.model_validate_json(body)
        text = gzip.decompress(base64.b64decode(message.gz, validate=True))
        payload = ArchivePayload.model_validate_json(text)
        days = {date.fromisoformat(day): lines for day, lines in payload.days.items()}
    except (ValidationError, ValueError, OSError, EOFError) as exc:
        raise MalformedRequestError("not an archive hand-off message", reason=type(exc).__name__) from None
    return ArchiveBatch(message.batch_id, days)


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


@dataclass
class WriteReport:
    """What one ArchiveFunction batch did: objects written, and the records to redeliver."""

    objects: int = 0
    batches: int = 0
    lines: int = 0
    failed: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def _jsonl(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


class ArchiveWriter:
    """Writes the lines of many queued batches as one object per dataset and partition day."""

    def __init__(self, archive: Archive, on_error: Callable[[str, GuildlogError], None] | None = None) -> None:
        self.archive = archive
        self.on_error = on_error

    def write(self, records: list[tuple[str, str]]) -> WriteReport:
        """Write (record id, message body) records; the report names the records that must come again.

        A record that is not an archive message is reported as failed too: it goes round to the
        dead-letter queue, where `guildlog dlq` shows it, rather than being dropped.
        """
        report = WriteReport()
        batches: dict[str, tuple[ArchiveBatch, list[str]]] = {}
        for record_id, body in records:
            try:
                batch = decode(body)
            except MalformedRequestError as exc:
                report.malformed.append(record_id)
                if self.on_error is not None:
                    self.on_error(record_id, exc)
                continue
            # A batch queued twice (ingest retried) is written once; both records are done with it.
            if batch.batch_id in batches:
                batches[batch.batch_id][1].append(record_id)
            else:
                batches[batch.batch_id] = (batch, [record_id])
        report.batches = len(batches)
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
