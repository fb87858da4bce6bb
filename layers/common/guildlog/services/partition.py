"""Partition keys of the S3 archive: `<dataset>/year=YYYY/month=MM/day=DD/<batch_id>.<ext>`."""

from __future__ import annotations

import re
from datetime import date, datetime

DATASETS = {
    "raw": "jsonl.gz",
    "events": "jsonl.gz",
    "events_csv": "csv.gz",
    "quarantine": "jsonl.gz",
}
_SAFE_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def partition_day(occurred_at: str | datetime) -> date:
    """The UTC day of an ISO-8601 `occurred_at` (as rows carry it) or an aware datetime."""
    if isinstance(occurred_at, datetime):
        return occurred_at.date()
    return date(int(occurred_at[0:4]), int(occurred_at[5:7]), int(occurred_at[8:10]))


def partition_prefix(dataset: str, day: date) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}")
    return f"{dataset}/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/"


def object_key(dataset: str, day: date, batch_id: str) -> str:
    """The one object of a dataset, partition and batch; a retried batch writes the same key."""
    if not _SAFE_BATCH_ID.match(batch_id) or ".." in batch_id:
        raise ValueError("batch_id is not safe for an S3 key")
    return f"{partition_prefix(dataset, day)}{batch_id}.{DATASETS[dataset]}"
