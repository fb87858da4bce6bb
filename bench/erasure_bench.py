"""Erasure figures: what a member's erasure reads and rewrites in a 30-day archive, beside the floor.

A 30-day archive of 1,000,000 events (bench/erasure_archive.py: three guilds, 2,000 members of Zipf-like
activity; every day compacted but the last two, which are still in 500-event batch objects) is written
straight into moto's S3 (versioned, as the stack's bucket is), served over loopback so that DuckDB reads
it the way the local stack's Athena API does. Then a typical member (the median by events) of the first
guild is erased, with the hot table holding nothing of theirs: the days come from the archive's query
(services/erasure/archive_query.py), as they do for a member whose events have left the hot table.

Printed: the days the query named and its time; the objects and bytes the erasure read and the objects it
rewrote, beside the floor (only the objects of those days that hold a line of the member, and their
bytes); the verification (the objects read again and the query over the archive, which must find
nothing left); and the wall time of the whole erasure, in process over loopback (S3's own latency would
add about a GET and a PUT per object, Athena its queueing).

`python -m bench.erasure_bench --events N` (or `GUILDLOG_BENCH_ERASURE_EVENTS`) sets the size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from bench.erasure_archive import SyntheticArchive, write

DEFAULT_EVENTS = int(os.environ.get("GUILDLOG_BENCH_ERASURE_EVENTS", "1000000"))
DAYS = 30
START = datetime(2026, 10, 1, tzinfo=UTC)
BUCKET = "bench-erasure"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


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


class TimedQueries:
    """The archive's queries on a fresh DuckDB engine per statement (as the local stack's Athena API runs
    them), keeping each one's time and bytes read."""

    def __init__(self, endpoint_url: str) -> None:
        from guildlog.services.erasure.archive_query import ArchiveMemberQueries

        self.endpoint_url = endpoint_url
        self.timings: dict[str, tuple[float, int]] = {}
        self.queries = ArchiveMemberQueries(self)

    def run_bound(self, bound: Any) -> Any:
        from guildlog_tools.local.query_engine import LocalQueryEngine

        started = time.perf_counter()
        with LocalQueryEngine(endpoint_url=self.endpoint_url, bucket=BUCKET) as engine:
            result = engine.run_bound(bound)
        self.timings[bound.name] = (time.perf_counter() - started, result.bytes_scanned)
        return result


def floor(client: Any, guild_id: str, user_id: str, days: list[date]) -> tuple[int, int]:
    """Objects (current versions) of the planned days that hold a line of the member, and their bytes:
    what any erasure must read and rewrite."""
    from guildlog.services import object_rewrite as ar
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


def erase(client: Any, endpoint_url: str, guild_id: str, user_id: str, events: int) -> dict[str, Any]:
    from guildlog.services.erasure.job import ErasureJob, ErasureRequest

    hot = IndexHotStore({})
    timed = TimedQueries(endpoint_url)
    objects = CountingObjects(BUCKET, client)
    started = time.perf_counter()
    receipt = ErasureJob(hot, objects, archive=timed.queries, settle_seconds=0).run(
        ErasureRequest(guild_id, user_id, "typical", "bench", "2026-11-01T00:00:00.000Z")
    )
    seconds = time.perf_counter() - started
    days = sorted({date.fromisoformat(d) for per_day in receipt.archive.values() for d in per_day})
    floor_objects, floor_bytes = floor(client, guild_id, user_id, days)
    done = hot.jobs["typical"]["done"].values()
    read_objects = sum(int(d.get("read", 0)) for d in done)
    return {
        "events": events,
        "days": len(days),
        "lines": sum(sum(d.values()) for d in receipt.archive.values()),
        "read_objects": read_objects,
        "read_bytes": receipt.bytes_read,
        "rewritten": receipt.objects_rewritten,
        "floor_objects": floor_objects,
        "floor_bytes": floor_bytes,
        "verify_reads": objects.reads - read_objects,
        "clean": receipt.verification.clean,
        "query_left": receipt.verification.query_found,
        "days_query": timed.timings.get("erasure_member_days", (0.0, 0)),
        "verify_query": timed.timings.get("erasure_verification", (0.0, 0)),
        "seconds": seconds,
    }


def run(events: int) -> dict[str, Any]:
    import boto3

    from guildlog.adapters.s3_archive import S3Archive
    from guildlog_tools.local.moto_server import moto_server

    with moto_server() as url:
        client = boto3.session.Session().client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        archive = SyntheticArchive(start=START, days=DAYS, total=events)
        members: Counter[tuple[str, str]] = Counter()
        started = time.perf_counter()
        written = write(S3Archive(BUCKET, client).put, archive, members)
        write_seconds = time.perf_counter() - started
        guild = archive.guilds[0]
        counts = {u: n for (g, u), n in members.items() if g == guild}
        ranked = sorted(counts, key=lambda u: (counts[u], u))
        typical = ranked[len(ranked) // 2]
        return {
            "events": written["events"],
            "objects": written["objects"],
            "write_seconds": write_seconds,
            "members": len(ranked),
            "median_events": statistics.median(counts.values()),
            "typical": erase(client, url, guild, typical, counts[typical]),
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
    row = figures["typical"]
    print(
        f"{figures['events']:,} events over {DAYS} days in {figures['objects']:,} objects (written in "
        f"{figures['write_seconds']:.0f} s), {figures['members']:,} members in the first guild, median "
        f"{figures['median_events']:.0f} events each; the typical member: {row['events']:,} events"
    )
    days_s, days_bytes = row["days_query"]
    verify_s, verify_bytes = row["verify_query"]
    print(f"  days query (whole events dataset): {row['days']} days in {days_s:.1f} s, {human_bytes(days_bytes)} read")
    ratio = row["read_objects"] / row["floor_objects"] if row["floor_objects"] else float("nan")
    byte_ratio = row["read_bytes"] / row["floor_bytes"] if row["floor_bytes"] else float("nan")
    print(
        f"  objects read {row['read_objects']:,} beside a floor of {row['floor_objects']:,} ({ratio:.1f}×), "
        f"{row['rewritten']:,} rewritten; bytes read {human_bytes(row['read_bytes'])} beside "
        f"{human_bytes(row['floor_bytes'])} ({byte_ratio:.1f}×); {row['lines']:,} lines redacted"
    )
    print(
        f"  verification: {row['verify_reads']:,} objects read again; query over events and events_csv in "
        f"{verify_s:.1f} s ({human_bytes(verify_bytes)} read) found {row['query_left']} rows left"
        + ("" if row["clean"] else "  VERIFICATION FOUND SOMETHING LEFT")
    )
    print(f"  wall time of the erasure (queries, rewrite, verification): {row['seconds']:.0f} s")


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
