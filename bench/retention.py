"""Archive retention figures: what the nightly retention pass reads and rewrites, beside the floor.

A 30-day archive (`GUILDLOG_BENCH_EVENTS` events, 1,000,000 by default, three guilds) is written
through the ingest service into moto's S3 server and compacted day by day, as the nightly job leaves
it. Then three nights of the retention pass run (handlers.compact.handle_compaction with the rules):
one guild keeps 7 days (whole lines deleted past them), one keeps 7 days content-only (facts kept),
the third keeps the stack's default (365 days, nothing expires). The first night sweeps every past
day (the rules are new: no sweep has been recorded for them); the next two are the steady state,
where one day goes past the 7-day limit each night.

The floor of a night: the objects of the days that went past a limit that night (the least any pass
must read and rewrite). Beside it, a second full read of the archive (a pass that read everything).
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from typing import Any

from bench.archive_data import History
from bench.athena import BATCH_EVENTS, CREDENTIALS, DAYS, START, MeasuredArchive, compact_all, ingest
from guildlog_tools.local.moto_server import moto_server

EVENTS = int(os.environ.get("GUILDLOG_BENCH_EVENTS", "1000000"))
BUCKET = "bench-retention"
LIMIT_DAYS = 7
DEFAULT_DAYS = 365


class CountingStore:
    """S3CompactionStore, counting the objects and bytes it reads, the objects it writes and its HEADs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.read_objects = 0
        self.read_bytes = 0
        self.written = 0
        self.heads = 0
        self.lists = 0

    def list(self, prefix: str) -> Any:
        self.lists += 1
        return self.inner.list(prefix)

    def read_texts(self, objects: Any) -> Any:
        for obj in objects:
            self.read_objects += 1
            self.read_bytes += obj.size
        return self.inner.read_texts(objects)

    def write_merged(self, key: str, chunks: Any, **kwargs: Any) -> int:
        size = self.inner.write_merged(key, chunks, **kwargs)
        self.written += 1
        return size

    def delete(self, keys: list[str]) -> None:
        self.inner.delete(keys)

    def retention_night(self, obj: Any) -> Any:
        self.heads += 1
        return self.inner.retention_night(obj)


class MemorySource:
    """The rules of the night and the sweep record, in memory (the stack keeps them in the table)."""

    def __init__(self) -> None:
        self.current: Any = None
        self.fingerprint: str | None = None

    def at(self, rules: Any) -> MemorySource:
        self.current = rules
        return self

    def rules(self, today: date) -> Any:
        return self.current

    def swept(self) -> str | None:
        return self.fingerprint

    def record_sweep(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint


def sizes_by_day(client: Any, bucket: str) -> dict[date, list[int]]:
    found: dict[date, list[int]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            parts = dict(p.split("=", 1) for p in entry["Key"].split("/") if "=" in p)
            day = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
            found.setdefault(day, []).append(int(entry["Size"]))
    return found


def run() -> dict[str, Any]:
    import boto3

    from guildlog.adapters.s3_compaction import S3CompactionStore
    from guildlog.handlers.compact import handle_compaction
    from guildlog.services.compaction import Compactor
    from guildlog.services.retention import GuildRetention, RetentionRules

    history = History(start=START, days=DAYS, total=EVENTS, batch_size=BATCH_EVENTS)
    days = [START.date() + timedelta(days=n) for n in range(DAYS)]
    short, facts, _ = history.guilds
    guilds = {short: GuildRetention(LIMIT_DAYS), facts: GuildRetention(LIMIT_DAYS, "content-only")}
    out: dict[str, Any] = {"nights": []}
    with moto_server() as endpoint:
        client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        out["events"] = ingest(MeasuredArchive(BUCKET, client), history.batches())
        compact_all(client, BUCKET, days)
        source = MemorySource()
        for night in (days[-1] + timedelta(days=n) for n in (-1, 0, 1)):
            before = sizes_by_day(client, BUCKET)
            rules = RetentionRules(today=night, max_days=3650, default_days=DEFAULT_DAYS, guilds=guilds)
            store = CountingStore(S3CompactionStore(BUCKET, client))
            # The floor: the days this night newly puts past the 7-day limit (the first night: every
            # such day, since no pass ran before).
            first = night == days[-1] - timedelta(days=1)
            cutoff = night - timedelta(days=LIMIT_DAYS)
            due = [d for d in before if d < cutoff and (first or d == cutoff - timedelta(days=1))]
            started = time.perf_counter()
            results = handle_compaction({"time": f"{night.isoformat()}T01:30:00Z"}, Compactor(store), source.at(rules))
            seconds = time.perf_counter() - started
            out["nights"].append(
                {
                    "night": night,
                    "seconds": seconds,
                    "read_objects": store.read_objects,
                    "read_bytes": store.read_bytes,
                    "written": store.written,
                    "emptied": sum(1 for r in results if r.state == "emptied"),
                    "heads": store.heads,
                    "lists": store.lists,
                    "expired": sum(r.expired for r in results),
                    "stripped": sum(r.stripped for r in results),
                    "floor_objects": sum(len(before[d]) for d in due),
                    "floor_bytes": sum(sum(before[d]) for d in due),
                    "archive_bytes": sum(sum(v) for v in before.values()),
                    "archive_objects": sum(len(v) for v in before.values()),
                }
            )
    return out


def report() -> None:
    from guildlog.queries.result import human_bytes

    os.environ.pop("AWS_ENDPOINT_URL", None)
    print("== retention (the nightly pass over the archive: read and rewritten, beside the floor) ==")
    figures = run()
    print(
        f"{figures['events']:,} events over {DAYS} days, compacted; guilds at {LIMIT_DAYS} days (delete), "
        f"{LIMIT_DAYS} days (content-only) and {DEFAULT_DAYS} days:"
    )
    print(
        f"  {'night':<11} {'read':>20} {'floor':>20} {'ratio':>6} {'rewritten':>9} {'deleted':>7} "
        f"{'HEAD':>5} {'LIST':>5} {'lines deleted/cut (all datasets)':>33} {'whole archive':>14} {'time':>7}"
    )
    for n in figures["nights"]:
        ratio = n["read_bytes"] / n["floor_bytes"] if n["floor_bytes"] else float("nan")
        print(
            f"  {n['night'].isoformat():<11} {n['read_objects']:>4} obj {human_bytes(n['read_bytes']):>11} "
            f"{n['floor_objects']:>4} obj {human_bytes(n['floor_bytes']):>11} {ratio:>5.2f}× {n['written']:>9} "
            f"{n['emptied']:>7} {n['heads']:>5} {n['lists']:>5} {n['expired']:>16,}/{n['stripped']:<16,} "
            f"{human_bytes(n['archive_bytes']):>14} {n['seconds']:>6.1f}s"
        )
