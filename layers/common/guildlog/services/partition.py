"""Partition keys of the S3 archive: `<dataset>/year=YYYY/month=MM/day=DD/<batch_id>.<ext>`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from guildlog.models.envelope import BATCH_ID_PATTERN

DATASETS = {
    "raw": "jsonl.gz",
    "events": "jsonl.gz",
    "events_csv": "csv.gz",
    "quarantine": "jsonl.gz",
}
# The protocol's own batch_id rule (no `/`, first character alphanumeric, so no `..` segment can
# form), matched whole: `$` alone would let a trailing newline into the key. Any id the envelope
# accepts must have a key, or a valid batch would fail with a 5xx on every retry.
_SAFE_BATCH_ID = re.compile(BATCH_ID_PATTERN)


def partition_day(occurred_at: str | datetime) -> date:
    """The UTC day of an ISO-8601 `occurred_at` (as rows carry it) or a datetime (naive means UTC)."""
    if isinstance(occurred_at, datetime):
        if occurred_at.tzinfo is None:
            return occurred_at.date()
        # An aware time with another offset can sit on another calendar day than its UTC moment.
        return occurred_at.astimezone(UTC).date()
    return date(int(occurred_at[0:4]), int(occurred_at[5:7]), int(occurred_at[8:10]))


def partition_prefix(dataset: str, day: date) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}")
    return f"{dataset}/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/"


def object_key(dataset: str, day: date, batch_id: str) -> str:
    """The one object of a dataset, partition and batch; a retried batch writes the same key."""
    if not _SAFE_BATCH_ID.fullmatch(batch_id):
        raise ValueError("batch_id is not safe for an S3 key")
    return f"{partition_prefix(dataset, day)}{batch_id}.{DATASETS[dataset]}"
