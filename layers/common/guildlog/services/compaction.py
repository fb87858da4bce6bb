"""Daily compaction: a partition day's per-batch objects of a dataset → one object, duplicates removed.

For one dataset and day, the compactor lists the partition, reads the merged object (if an
earlier run left one) and every `<batch_id>.<ext>` object, keeps the first line of each
`event_id` (at-least-once delivery can write an event in two batches), writes the merged object
and only then deletes the batch objects it read. The merged object has one deterministic key per
partition, `compacted~YYYY-MM-DD.<ext>` (`~` never occurs in a batch id, and the name does not
start with `_` or `.`, which Athena would skip as hidden).

Safe to re-run and to run twice at once: the write is conditional — it replaces the merged object
only if it is still the version this run read (`If-Match`), or creates it only if there is none
(`If-None-Match: *`). A run that loses the race deletes nothing, so no line is ever lost; a run
interrupted between its write and its deletes leaves lines present twice until the next run, which
merges them away. Objects that are neither batch objects nor the merged one are left alone.

Retention rides on the same pass (services/retention.py): given the night's RetentionRules, each line
kept is also checked against its guild's limit and deleted or cut to its facts, and a day past some
limit is rewritten even when no batch object is new; it is written back only if a line changed, and
its objects are deleted when no line is left.
"""

from __future__ import annotations

import builtins
import csv
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from guildlog.errors import GuildlogError
from guildlog.models.envelope import BATCH_ID_PATTERN
from guildlog.models.row import ROW_FIELDS
from guildlog.services.partition import DATASETS, partition_prefix
from guildlog.services.retention import LineRetention, RetentionRules

logger = logging.getLogger(__name__)

CSV_HEADER = ",".join(f'"{name}"' for name in ROW_FIELDS)
_BATCH_OBJECT = {
    dataset: re.compile(BATCH_ID_PATTERN[:-1] + re.escape("." + ext) + "$") for dataset, ext in DATASETS.items()
}

State = Literal["compacted", "nothing_to_do", "lost_race", "refused", "emptied"]


class ConcurrentWriteError(GuildlogError):
    """The merged object changed (or appeared) after this run listed the partition."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str
    size: int


class CompactionStore(Protocol):
    """What compaction needs from the archive bucket (adapters.s3_compaction implements it on S3)."""

    def list(self, prefix: str) -> builtins.list[StoredObject]: ...
    def read_texts(self, objects: builtins.list[StoredObject]) -> Iterator[str]:
        """Each object's text, in the order given (an implementation may fetch ahead)."""
        ...

    def write_merged(
        self, key: str, chunks: Iterable[str], *, replaces: StoredObject | None, night: date | None = None
    ) -> int:
        """Write the merged object; `night`: the night whose retention rules it went through (kept with it)."""
        ...

    def delete(self, keys: builtins.list[str]) -> None: ...
    def retention_night(self, obj: StoredObject) -> date | None:
        """The `night` the object was last written with, if any."""
        ...


@dataclass(frozen=True)
class CompactionResult:
    dataset: str
    day: date
    state: State
    merged_key: str
    inputs: int = 0
    lines_in: int = 0
    lines_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    deleted: int = 0
    reason: str = ""
    # Retention: lines deleted, and lines cut to their facts, because their guild's limit had passed.
    expired: int = 0
    stripped: int = 0

    @property
    def duplicates(self) -> int:
        return self.lines_in - self.lines_out

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "day": self.day.isoformat(),
            "state": self.state,
            "merged_key": self.merged_key,
            "inputs": self.inputs,
            "lines_in": self.lines_in,
            "lines_out": self.lines_out,
            "duplicates": self.duplicates,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "deleted": self.deleted,
            **({"reason": self.reason} if self.reason else {}),
            **({"expired": self.expired, "stripped": self.stripped} if self.expired or self.stripped else {}),
        }


def merged_key(dataset: str, day: date) -> str:
    """The one merged object of a dataset's partition day."""
    return f"{partition_prefix(dataset, day)}compacted~{day.isoformat()}.{DATASETS[dataset]}"


def is_batch_object(dataset: str, key: str, prefix: str) -> bool:
    name = key[len(prefix) :] if key.startswith(prefix) else ""
    return bool(_BATCH_OBJECT[dataset].match(name))


class Compactor:
    """Compacts partitions through a CompactionStore."""

    def __init__(self, store: CompactionStore) -> None:
        self.store = store

    def compact_day(
        self,
        day: date,
        datasets: Iterable[str] = tuple(DATASETS),
        retention: RetentionRules | None = None,
        *,
        force: bool = False,
    ) -> list[CompactionResult]:
        return [self.compact(dataset, day, retention, force=force) for dataset in datasets]

    def partition_days(self, before: date, datasets: Iterable[str] = tuple(DATASETS)) -> builtins.list[date]:
        """The partition days holding any object of these datasets, before `before` (one paged listing
        per dataset: after compaction, one object per day)."""
        found: set[date] = set()
        for dataset in datasets:
            for obj in self.store.list(f"{dataset}/"):
                day = _day_of(obj.key)
                if day is not None and day < before:
                    found.add(day)
        return sorted(found)

    def compact(
        self, dataset: str, day: date, retention: RetentionRules | None = None, *, force: bool = False
    ) -> CompactionResult:
        """Merge the day's batch objects. With `retention`, also apply it; `force` reads a past day even
        when it went through these rules' night already (a sweep after the rules changed)."""
        prefix = partition_prefix(dataset, day)
        target = merged_key(dataset, day)
        listing = self.store.list(prefix)
        existing = next((obj for obj in listing if obj.key == target), None)
        batches = sorted((obj for obj in listing if is_batch_object(dataset, obj.key, prefix)), key=lambda o: o.key)
        # A day past some guild's limit is read even with no new batch object: its lines may have expired.
        expiring = retention is not None and day < retention.oldest_kept() and existing is not None
        if not batches and not expiring:
            return CompactionResult(dataset, day, "nothing_to_do", target)
        if not batches and existing is not None and retention is not None and not force:
            # Already rewritten under the rules of a night on or after the day last went past a limit
            # (a missed night is caught up on the next): nothing new can have expired in it.
            due, night = retention.due_night(day), self.store.retention_night(existing)
            if due is None or (night is not None and night >= due):
                return CompactionResult(dataset, day, "nothing_to_do", target)
        sources = ([existing] if existing else []) + batches
        counts = _Counts()
        counts.retention = LineRetention(retention, dataset, day) if retention is not None else None
        try:
            chunks = self._merged_chunks(dataset, sources, counts, require_change=not batches)
            # Only with rules: a store written before retention need not know the keyword.
            written_night = {"night": retention.today} if retention is not None else {}
            bytes_out = self.store.write_merged(target, chunks, replaces=existing, **written_night)
        except _UnchangedError:
            return CompactionResult(dataset, day, "nothing_to_do", target, bytes_in=sum(o.size for o in sources))
        except _EmptiedError:
            # Every line expired: the objects go, with nothing written in their place.
            self.store.delete([obj.key for obj in sources])
            return self._result(dataset, day, "emptied", target, batches, sources, counts, 0, len(sources))
        except ConcurrentWriteError:
            logger.info("compaction lost a race", extra={"key": target})
            return CompactionResult(dataset, day, "lost_race", target, inputs=len(batches))
        except _RefusedError as refused:
            return CompactionResult(dataset, day, "refused", target, inputs=len(batches), reason=str(refused))
        # Only now, with every line safely in the merged object, do the batch objects go.
        self.store.delete([obj.key for obj in batches])
        return self._result(dataset, day, "compacted", target, batches, sources, counts, bytes_out, len(batches))

    @staticmethod
    def _result(
        dataset: str,
        day: date,
        state: State,
        target: str,
        batches: list[StoredObject],
        sources: list[StoredObject],
        counts: _Counts,
        bytes_out: int,
        deleted: int,
    ) -> CompactionResult:
        return CompactionResult(
            dataset,
            day,
            state,
            target,
            inputs=len(batches),
            lines_in=counts.lines_in,
            lines_out=counts.lines_out,
            bytes_in=sum(obj.size for obj in sources),
            bytes_out=bytes_out,
            deleted=deleted,
            expired=counts.retention.removed if counts.retention else 0,
            stripped=counts.retention.stripped if counts.retention else 0,
        )

    def _merged_chunks(
        self, dataset: str, sources: list[StoredObject], counts: _Counts, *, require_change: bool = False
    ) -> Iterator[str]:
        """The merged object's text, chunk by chunk. `require_change`: raise _UnchangedError at the end
        when retention changed no line (nothing is written), _EmptiedError when no line is left."""
        is_csv = DATASETS[dataset].startswith("csv")
        terminator = "\r\n" if is_csv else "\n"
        seen: set[str] = set()
        if is_csv:
            yield CSV_HEADER + terminator
        for obj, text in zip(sources, self.store.read_texts(sources), strict=True):
            lines = text.split(terminator)
            if lines and lines[-1] == "":
                lines.pop()
            suffix = ""
            if is_csv:
                header, lines = (lines[0] if lines else ""), lines[1:]
                if header != CSV_HEADER and not CSV_HEADER.startswith(header + ","):
                    raise _RefusedError(f"{obj.key} has another CSV header; its rows would not line up")
                # Columns are only ever appended: an object written before them gets empty cells.
                suffix = ',""' * (CSV_HEADER.count(",") - header.count(","))
            kept = []
            for line in lines:
                if not line.strip():
                    continue
                counts.lines_in += 1
                identity = _csv_event_id(line) if is_csv else _json_event_id(line)
                if identity in seen:
                    continue
                seen.add(identity)
                if counts.retention is not None:
                    rewritten = counts.retention.apply(line)
                    if rewritten is None:
                        continue
                    line = rewritten
                kept.append(line + suffix + terminator)
            counts.lines_out += len(kept)
            yield "".join(kept)
        # Raised after the last chunk and before the store writes anything (it builds the whole object first).
        if counts.retention is not None and counts.lines_out == 0 and counts.retention.changed:
            raise _EmptiedError
        if require_change and (counts.retention is None or not counts.retention.changed):
            raise _UnchangedError


class _Counts:
    def __init__(self) -> None:
        self.lines_in = 0
        self.lines_out = 0
        self.retention: LineRetention | None = None


class _UnchangedError(Exception):
    """A day visited for retention whose lines all stay as they are: nothing to write."""


class _EmptiedError(Exception):
    """Every line of the day expired: its objects are deleted, none is written."""


class _RefusedError(Exception):
    pass


_PARTITION = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/")


def _day_of(key: str) -> date | None:
    found = _PARTITION.search(key)
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def _json_event_id(line: str) -> str:
    try:
        value = json.loads(line).get("event_id")
    except (ValueError, AttributeError):
        value = None
    # A line without an id is kept whole: it can only be a duplicate of an identical line.
    return f"id:{value}" if isinstance(value, str) else f"line:{line}"


def _csv_event_id(line: str) -> str:
    fields = next(csv.reader([line]), [])
    return f"id:{fields[0]}" if fields and fields[0] else f"line:{line}"
