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

logger = logging.getLogger(__name__)

CSV_HEADER = ",".join(f'"{name}"' for name in ROW_FIELDS)
_BATCH_OBJECT = {
    dataset: re.compile(BATCH_ID_PATTERN[:-1] + re.escape("." + ext) + "$") for dataset, ext in DATASETS.items()
}

State = Literal["compacted", "nothing_to_do", "lost_race", "refused"]


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

    def write_merged(self, key: str, chunks: Iterable[str], *, replaces: StoredObject | None) -> int: ...
    def delete(self, keys: builtins.list[str]) -> None: ...


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

    def compact_day(self, day: date, datasets: Iterable[str] = tuple(DATASETS)) -> list[CompactionResult]:
        return [self.compact(dataset, day) for dataset in datasets]

    def compact(self, dataset: str, day: date) -> CompactionResult:
        prefix = partition_prefix(dataset, day)
        target = merged_key(dataset, day)
        listing = self.store.list(prefix)
        existing = next((obj for obj in listing if obj.key == target), None)
        batches = sorted((obj for obj in listing if is_batch_object(dataset, obj.key, prefix)), key=lambda o: o.key)
        if not batches:
            return CompactionResult(dataset, day, "nothing_to_do", target)
        sources = ([existing] if existing else []) + batches
        counts = _Counts()
        try:
            chunks = self._merged_chunks(dataset, sources, counts)
            bytes_out = self.store.write_merged(target, chunks, replaces=existing)
        except ConcurrentWriteError:
            logger.info("compaction lost a race", extra={"key": target})
            return CompactionResult(dataset, day, "lost_race", target, inputs=len(batches))
        except _RefusedError as refused:
            return CompactionResult(dataset, day, "refused", target, inputs=len(batches), reason=str(refused))
        # Only now, with every line safely in the merged object, do the batch objects go.
        self.store.delete([obj.key for obj in batches])
        return CompactionResult(
            dataset,
            day,
            "compacted",
            target,
            inputs=len(batches),
            lines_in=counts.lines_in,
            lines_out=counts.lines_out,
            bytes_in=sum(obj.size for obj in sources),
            bytes_out=bytes_out,
            deleted=len(batches),
        )

    def _merged_chunks(self, dataset: str, sources: list[StoredObject], counts: _Counts) -> Iterator[str]:
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
                kept.append(line + suffix + terminator)
            counts.lines_out += len(kept)
            yield "".join(kept)


class _Counts:
    def __init__(self) -> None:
        self.lines_in = 0
        self.lines_out = 0


class _RefusedError(Exception):
    pass


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
