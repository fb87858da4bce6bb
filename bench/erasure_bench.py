"""Erasure figures: what a member's erasure reads and rewrites in a 30-day archive, beside the floor.

A synthetic history (bench/archive_data.py: three guilds, 2,000 members, 30 days, batches of 500 events) is
written through the ingest service into moto's S3 (versioned, as the stack's bucket is). Then:

- a typical member (the median by events) of the first guild is erased from the uncompacted archive
  (one object per dataset, day and batch);
- every day is compacted, and the most active member of that guild is erased from the compacted
  archive (one object per dataset and day).

For each: the days planned (from the member's events, as the member index gives them), the objects
and bytes the erasure read, the objects it rewrote, and the floor: only the objects holding the
member's lines (their count and bytes). Wall time is in process over moto (no network): S3's own
latency would add about a GET and a PUT per object. The hot table's part is one Query of the member
index and a put per item, not measured here.

`python -m bench.erasure_bench --events N` (or `GUILDLOG_BENCH_ERASURE_EVENTS`) sets the size; the
default, 100,000 events, runs in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from bench.archive_data import History

DEFAULT_EVENTS = int(os.environ.get("GUILDLOG_BENCH_ERASURE_EVENTS", "100000"))
DAYS = 30
START = datetime(2026, 10, 1, tzinfo=UTC)
BUCKET = "bench-erasure"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


class IndexedArchive:
    """S3Archive, remembering each member's events as the hot table's member index (GSI1) would hold them."""

    def __init__(self, bucket: str, client: Any) -> None:
        from guildlog.adapters.s3_archive import S3Archive

        self.inner = S3Archive(bucket, client)
        self.members: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)

    def put(self, key: str, text: str) -> None:
        if key.startswith("events/"):
            for line in text.splitlines():
                row = json.loads(line)
                member = row.get("user_id") or row.get("actor_id")
                if row.get("guild_id") and member:
                    fields = ("occurred_at", "user_id", "message_id", "category", "action")
                    self.members[(row["guild_id"], member)].append({k: row.get(k) for k in fields})
        self.inner.put(key, text)


class IndexHotStore:
    """The hot-table port of an erasure over the remembered index (the bench measures the archive)."""

    def __init__(self, members: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
        self.members = members
        self.jobs: dict[str, dict[str, Any]] = {}

    def put_tombstone(self, guild_id: str, user_id: str, **_: Any) -> None:
        return None

    def member_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]:
        return [dict(item) for item in self.members.get((guild_id, user_id), [])]

    def directory_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]:
        return []

    def message_items(self, message_ids: list[str]) -> list[dict[str, Any]]:
        return []

    def put_if_exists(self, items: list[dict[str, Any]]) -> None:
        return None

    def load_job(self, guild_id: str, job_id: str) -> dict[str, Any] | None:
        return self.jobs.get(job_id)

    def save_job(self, guild_id: str, job_id: str, job: dict[str, Any]) -> None:
        self.jobs[job_id] = json.loads(json.dumps(job))

    def put_receipt(self, receipt: Any) -> None:
        return None


class CountingObjects:
    """S3VersionedObjects, counting what is read and the size of every object holding the member."""

    def __init__(self, bucket: str, client: Any) -> None:
        from guildlog.adapters.s3_rewrite import S3VersionedObjects

        self.inner = S3VersionedObjects(bucket, client)
        self.reads = 0
        self.bytes = 0

    def versions(self, prefix: str) -> Any:
        return self.inner.versions(prefix)

    def read(self, version: Any) -> bytes:
        body = self.inner.read(version)
        self.reads += 1
        self.bytes += len(body)
        return body

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        return self.inner.replace(key, body, if_match=if_match)

    def delete_version(self, key: str, version_id: str) -> None:
        self.inner.delete_version(key, version_id)


def floor(client: Any, guild_id: str, user_id: str, days: list[date]) -> tuple[int, int]:
    """Objects (current versions) of the planned days that hold a line of the member, and their bytes:
    what any erasure must read and rewrite."""
    from guildlog.services import archive_rewrite as ar
    from guildlog.services.erasure.rewriter import ARCHIVE_DATASETS, MemberEdits
    from guildlog.services.partition import partition_prefix

    objects = size = 0
    edits = MemberEdits(guild_id, user_id)
    for day in days:
        for dataset in ARCHIVE_DATASETS:
            test = edits.test_for(dataset)
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix=partition_prefix(dataset, day)
            ):
                for entry in page.get("Contents", []):
                    body = client.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read()
                    if any(test(line) for line in ar.decode(entry["Key"], body).splitlines() if line):
                        objects += 1
                        size += len(body)
    return objects, size


def erase(client: Any, hot: IndexHotStore, guild_id: str, user_id: str, job_id: str) -> dict[str, Any]:
    from guildlog.services.erasure.job import ErasureJob, ErasureRequest
    from guildlog.services.erasure.planner import plan_days

    days = plan_days(hot.member_items(guild_id, user_id), guild_id, user_id).days
    floor_objects, floor_bytes = floor(client, guild_id, user_id, days)
    objects = CountingObjects(BUCKET, client)
    started = time.perf_counter()
    receipt = ErasureJob(hot, objects, settle_seconds=0).run(
        ErasureRequest(guild_id, user_id, job_id, "bench", "2026-11-01T00:00:00.000Z")
    )
    seconds = time.perf_counter() - started
    return {
        "events": len(hot.member_items(guild_id, user_id)),
        "days": len(days),
        "lines": sum(sum(d.values()) for d in receipt.archive.values()),
        "read_objects": sum(int(d.get("read", 0)) for d in hot.jobs[job_id]["done"].values()),
        "read_bytes": receipt.bytes_read,
        "rewritten": receipt.objects_rewritten,
        "floor_objects": floor_objects,
        "floor_bytes": floor_bytes,
        "verify_reads": objects.reads - sum(int(d.get("read", 0)) for d in hot.jobs[job_id]["done"].values()),
        "clean": receipt.verification.clean,
        "seconds": seconds,
    }


def run(events: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from bench.athena import compact_all
    from guildlog.models.envelope import Envelope
    from guildlog.services.ingest import Ingestor

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        archive = IndexedArchive(BUCKET, client)
        history = History(start=START, days=DAYS, total=events)
        from bench.athena import NullStore

        ingestor = Ingestor(archive, NullStore(), clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
        started = time.perf_counter()
        for batch_id, chunk in history.batches():
            body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": "bench", "shard": [0, 1]}, "events": chunk}
            ingestor.ingest(Envelope.model_validate(body), chunk)
        ingest_seconds = time.perf_counter() - started
        guild = history.guilds[0]
        counts = Counter({u: len(v) for (g, u), v in archive.members.items() if g == guild})
        ranked = [u for u, _ in counts.most_common()]
        typical = ranked[len(ranked) // 2]
        busiest = ranked[0]
        hot = IndexHotStore(archive.members)
        uncompacted = erase(client, hot, guild, typical, "typical")
        days = sorted({date.fromisoformat(i["occurred_at"][:10]) for v in archive.members.values() for i in v})
        compact_seconds, _ = compact_all(client, BUCKET, days)
        compacted = erase(client, hot, guild, busiest, "busiest")
        return {
            "events": events,
            "ingest_seconds": ingest_seconds,
            "compact_seconds": compact_seconds,
            "members": len(ranked),
            "median_events": statistics.median(counts.values()),
            "uncompacted": uncompacted,
            "compacted": compacted,
        }


def report(events: int = DEFAULT_EVENTS) -> None:
    from guildlog.queries.result import human_bytes

    os.environ.pop("AWS_ENDPOINT_URL", None)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    print("== erasure (a member erased from a 30-day archive: what is read and rewritten, beside the floor) ==")
    figures = run(events)
    print(
        f"{figures['events']:,} events over {DAYS} days (ingested in {figures['ingest_seconds']:.0f} s), "
        f"{figures['members']:,} members in the first guild, median {figures['median_events']:.0f} events each"
    )
    print(
        f"  {'archive':<12} {'member':<8} {'events':>7} {'days':>5} {'lines':>7} {'objects read':>13} {'floor':>6} "
        f"{'ratio':>6} {'rewritten':>9} {'bytes read':>11} {'floor':>9} {'verify reads':>12} {'wall s':>7}"
    )
    for label, member, row in (
        ("uncompacted", "typical", figures["uncompacted"]),
        ("compacted", "busiest", figures["compacted"]),
    ):
        ratio = row["read_objects"] / row["floor_objects"] if row["floor_objects"] else float("nan")
        print(
            f"  {label:<12} {member:<8} {row['events']:>7,} {row['days']:>5} {row['lines']:>7,} "
            f"{row['read_objects']:>13,} "
            f"{row['floor_objects']:>6,} {ratio:>5.1f}× {row['rewritten']:>9,} {human_bytes(row['read_bytes']):>11} "
            f"{human_bytes(row['floor_bytes']):>9} {row['verify_reads']:>12,} {row['seconds']:>7.1f}"
            + ("" if row["clean"] else "  VERIFICATION FOUND SOMETHING LEFT")
        )
    print(f"  (compaction of the {DAYS} days between the two: {figures['compact_seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.erasure_bench")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events in the 30-day archive")
    args = parser.parse_args(argv)
    if args.events < DAYS:
        parser.error(f"--events must be at least {DAYS}")
    report(args.events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
