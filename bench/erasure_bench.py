"""Erasure figures: what a member's erasure reads and rewrites in a 30-day archive, beside the floor.

A 30-day archive of 1,000,000 events (bench/erasure_archive.py: three guilds, 2,000 members of Zipf-like
activity; every day compacted but the last two, which are still in 500-event batch objects) is written
straight into a versioned bucket kept in a local directory (`DirectoryObjects`: the erasure's S3 port,
answered as S3 answers it), which DuckDB reads through the template's Glue table definitions. Then a
typical member (the median by events) of the first guild is erased, with the hot table holding nothing
of theirs: the days come from the archive's query (services/erasure/archive_query.py), as they do for a
member whose events have left the hot table or who is known only from an import.

Printed: the days the query named and its time; the objects and bytes the erasure read and the objects
it rewrote, beside the floor (only the objects of those days that held a line of the member, and their
bytes); the verification (the objects read again, and the query over the archive, which must find
nothing left); and the wall time of the whole erasure, in process on local files (S3 would add about a
GET and a PUT per object, Athena its queueing).

`python -m bench.erasure_bench --events N` (or `GUILDLOG_BENCH_ERASURE_EVENTS`) sets the size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.erasure_archive import SyntheticArchive, write

DEFAULT_EVENTS = int(os.environ.get("GUILDLOG_BENCH_ERASURE_EVENTS", "1000000"))
DAYS = 30
START = datetime(2026, 10, 1, tzinfo=UTC)
BUCKET = "bench-erasure"


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


class DirectoryObjects:
    """A versioned bucket in a directory: the current version of `key` at `<root>/<key>` (where DuckDB's
    views read it, as the Glue tables read S3), older versions under `<root>/_versions/`. It answers the
    erasure's store port the way S3 does (ListObjectVersions, GET by version, PUT with If-Match, DELETE of
    a version). moto cannot stand in at this size: it answers every ListObjectVersions with a deep copy of
    every object of the bucket, bodies included, so its copies, not the erasure, would be measured."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current: dict[str, str] = {}  # key → its current version id (also its ETag)
        self.old: dict[str, list[str]] = {}  # key → older version ids, newest first
        self.serial = 0
        self.reads = 0
        self.bytes = 0

    def _path(self, key: str, version_id: str | None = None) -> Path:
        if version_id is None or self.current.get(key) == version_id:
            return self.root / key
        return self.root / "_versions" / key / version_id

    def put(self, key: str, text: str) -> None:
        from guildlog.adapters.s3_archive import gzip_bytes

        self._write(key, gzip_bytes(text))

    def _write(self, key: str, body: bytes) -> str:
        path = self.root / key
        previous = self.current.get(key)
        if previous is not None:
            kept = self.root / "_versions" / key / previous
            kept.parent.mkdir(parents=True, exist_ok=True)
            path.rename(kept)
            self.old.setdefault(key, []).insert(0, previous)
        self.serial += 1
        version_id = f"v{self.serial}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        self.current[key] = version_id
        return version_id

    def versions(self, prefix: str) -> list[Any]:
        from guildlog.services.object_rewrite import ObjectVersion

        found = []
        for key in sorted(k for k in set(self.current) | set(self.old) if k.startswith(prefix)):
            if key in self.current:
                size = self._path(key).stat().st_size
                found.append(ObjectVersion(key, self.current[key], self.current[key], size, True))
            for version_id in self.old.get(key, []):
                size = self._path(key, version_id).stat().st_size
                found.append(ObjectVersion(key, version_id, version_id, size, False))
        return found

    def read(self, version: Any) -> bytes:
        body = self._path(version.key, version.version_id).read_bytes()
        self.reads += 1
        self.bytes += len(body)
        return body

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        from guildlog.services.compaction import ConcurrentWriteError

        if self.current.get(key) != if_match:
            raise ConcurrentWriteError("the object changed since it was read", key=key)
        return self._write(key, body)

    def delete_version(self, key: str, version_id: str) -> None:
        if self.current.get(key) == version_id:
            self._path(key).unlink()
            del self.current[key]
            older = self.old.get(key) or []
            if older:  # as S3 does, the newest older version becomes current
                self._path(key, older[0]).rename(self.root / key)
                self.current[key] = older.pop(0)
            return
        self._path(key, version_id).unlink()
        self.old[key].remove(version_id)

    def dataset_bytes(self, dataset: str) -> int:
        return sum(self._path(k).stat().st_size for k in self.current if k.startswith(f"{dataset}/"))


class DirectoryQueries:
    """The archive's queries on DuckDB over the directory: the template's Glue tables as views over the
    local files (the same definitions `guildlog query --local` uses over S3), a fresh connection per
    statement, each one's time kept."""

    def __init__(self, root: Path) -> None:
        from guildlog.services.erasure.archive_query import ArchiveMemberQueries
        from guildlog_tools.local.catalog import glue_tables
        from guildlog_tools.local.template import load_template

        self.tables = [
            dataclasses.replace(t, location_template=t.location_template.replace(f"s3://{BUCKET}", str(root)))
            for t in glue_tables(load_template(), BUCKET)
        ]
        self.timings: dict[str, float] = {}
        self.queries = ArchiveMemberQueries(self)

    def run_bound(self, bound: Any) -> Any:
        import duckdb

        from guildlog.queries.result import QueryResult
        from guildlog_tools.local.query_engine import transpile

        started = time.perf_counter()
        connection = duckdb.connect()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            for table in self.tables:
                try:
                    connection.execute(table.duckdb_view())
                except duckdb.IOException:
                    connection.execute(table.duckdb_empty_view())
            cursor = connection.execute(transpile(bound.sql), list(bound.values))
            rows = [tuple(row) for row in cursor.fetchall()]
            columns = [c[0] for c in cursor.description or []]
        finally:
            connection.close()
        self.timings[bound.name] = time.perf_counter() - started
        return QueryResult(columns=columns, rows=rows, engine="duckdb", execution_id=f"local-{bound.name}")


def floor(store: DirectoryObjects, guild_id: str, user_id: str, days: list[date]) -> tuple[int, int]:
    """Objects (current versions) of the planned days that held a line of the member before the erasure,
    and their bytes: what any erasure must read and rewrite (counted on the versions the erasure kept
    no longer, so measured before it runs)."""
    from guildlog.services import object_rewrite as ar
    from guildlog.services.erasure.rewriter import ARCHIVE_DATASETS, MemberEdits
    from guildlog.services.partition import partition_prefix

    objects = size = 0
    edits = MemberEdits(guild_id, user_id)
    for day in days:
        for dataset in ARCHIVE_DATASETS:
            test = edits.test_for(dataset)
            for version in store.versions(partition_prefix(dataset, day)):
                body = store._path(version.key).read_bytes()
                if any(test(line) for line in ar.decode(version.key, body).splitlines() if line):
                    objects += 1
                    size += len(body)
    return objects, size


def erase(store: DirectoryObjects, root: Path, guild_id: str, user_id: str, events: int) -> dict[str, Any]:
    from guildlog.services.erasure.job import ErasureJob, ErasureRequest

    hot = IndexHotStore({})
    timed = DirectoryQueries(root)
    days = timed.queries.member_days(guild_id, user_id)
    floor_objects, floor_bytes = floor(store, guild_id, user_id, days)
    timed = DirectoryQueries(root)
    store.reads = store.bytes = 0
    started = time.perf_counter()
    receipt = ErasureJob(hot, store, archive=timed.queries, settle_seconds=0).run(
        ErasureRequest(guild_id, user_id, "typical", "bench", "2026-11-01T00:00:00.000Z")
    )
    seconds = time.perf_counter() - started
    done = hot.jobs["typical"]["done"].values()
    read_objects = sum(int(d.get("read", 0)) for d in done)
    return {
        "events": events,
        "days": len(receipt.archive.get("events", {})),
        "lines": sum(sum(d.values()) for d in receipt.archive.values()),
        "read_objects": read_objects,
        "read_bytes": receipt.bytes_read,
        "rewritten": receipt.objects_rewritten,
        "floor_objects": floor_objects,
        "floor_bytes": floor_bytes,
        "verify_reads": store.reads - read_objects,
        "clean": receipt.verification.clean,
        "query_left": receipt.verification.query_found,
        "days_query": timed.timings.get("erasure_member_days", 0.0),
        "verify_query": timed.timings.get("erasure_verification", 0.0),
        "scanned": store.dataset_bytes("events"),
        "scanned_csv": store.dataset_bytes("events_csv"),
        "seconds": seconds,
    }


def run(events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="guildlog-erasure-bench-") as directory:
        root = Path(directory)
        store = DirectoryObjects(root)
        archive = SyntheticArchive(start=START, days=DAYS, total=events)
        members: Counter[tuple[str, str]] = Counter()
        started = time.perf_counter()
        written = write(store.put, archive, members)
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
            "typical": erase(store, root, guild, typical, counts[typical]),
        }


def report(events: int = DEFAULT_EVENTS) -> None:
    from guildlog.queries.result import human_bytes

    print("== erasure (a member erased from a 30-day archive: what is read and rewritten, beside the floor) ==")
    figures = run(events)
    row = figures["typical"]
    print(
        f"{figures['events']:,} events over {DAYS} days in {figures['objects']:,} objects (written in "
        f"{figures['write_seconds']:.0f} s), {figures['members']:,} members in the first guild, median "
        f"{figures['median_events']:.0f} events each; the typical member: {row['events']:,} events"
    )
    print(
        f"  days query over the whole events dataset ({human_bytes(row['scanned'])}): {row['days']} days in "
        f"{row['days_query']:.1f} s"
    )
    ratio = row["read_objects"] / row["floor_objects"] if row["floor_objects"] else float("nan")
    byte_ratio = row["read_bytes"] / row["floor_bytes"] if row["floor_bytes"] else float("nan")
    print(
        f"  objects read {row['read_objects']:,} beside a floor of {row['floor_objects']:,} ({ratio:.1f}×), "
        f"{row['rewritten']:,} rewritten; bytes read {human_bytes(row['read_bytes'])} beside "
        f"{human_bytes(row['floor_bytes'])} ({byte_ratio:.1f}×); {row['lines']:,} lines redacted"
    )
    print(
        f"  verification: {row['verify_reads']:,} objects read again; query over events and events_csv "
        f"({human_bytes(row['scanned'] + row['scanned_csv'])}) in {row['verify_query']:.1f} s found "
        f"{row['query_left']} rows left" + ("" if row["clean"] else "  VERIFICATION FOUND SOMETHING LEFT")
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
