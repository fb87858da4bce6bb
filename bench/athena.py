"""Archive figures: objects per partition day before and after compaction, bytes read by a one-day
query against the whole archive, local query time of each named query over a synthetic archive of
1,000,000 events, and compressed against raw bytes.

Two archives, both written through the ingest service (normalization, CSV, gzip) into moto's S3:

- one day of traffic batched as the relay batches (a batch closes at 500 events or 1 s), written
  to moto in process: the objects a real day leaves before compaction;
- 1,000,000 events over 30 days in 500-event batches, written to moto's server on loopback, where
  DuckDB (httpfs) reads it for `guildlog query --local`; compacted, then queried.

`GUILDLOG_BENCH_EVENTS` sets a smaller archive for a quick look.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.archive_data import History
from guildlog_tools.local.moto_server import moto_server

EVENTS = int(os.environ.get("GUILDLOG_BENCH_EVENTS", "1000000"))
DAYS = 30
BATCH_EVENTS = 500
RELAY_MAX_AGE = timedelta(seconds=1)
START = datetime(2026, 10, 1, tzinfo=UTC)
BUCKET = "bench-archive"
RUNS = 3
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
_DATASETS = ("raw", "events", "events_csv", "quarantine")


class NullStore:
    """The hot store: not what this benchmark is about."""

    def put_items(self, items: list[Any]) -> int:
        return len(items)

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, Any]:
        return {}


class MeasuredArchive:
    """S3Archive, counting the uncompressed bytes of each dataset as they are written."""

    def __init__(self, bucket: str, client: Any) -> None:
        from guildlog.adapters.s3_archive import S3Archive

        self.inner = S3Archive(bucket, client)
        self.raw: Counter[str] = Counter()

    def put(self, key: str, text: str) -> None:
        self.raw[key.split("/", 1)[0]] += len(text.encode("utf-8"))
        self.inner.put(key, text)


def ingest(archive: Any, batches: Iterator[tuple[str, list[dict[str, Any]]]]) -> int:
    from guildlog.models.envelope import Envelope
    from guildlog.services.ingest import Ingestor

    ingestor = Ingestor(archive, NullStore(), clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    events = 0
    for batch_id, chunk in batches:
        body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": "bench", "shard": [0, 1]}, "events": chunk}
        ingestor.ingest(Envelope.model_validate(body), chunk)
        events += len(chunk)
    return events


def relay_batches(history: History) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The history re-cut as the relay cuts it: a batch closes at 500 events or 1 s after its first."""
    number = 0
    current: list[dict[str, Any]] = []
    opened: datetime | None = None
    for _, events in history.batches():
        for event in events:
            moment = datetime.fromisoformat(event["received_at"].replace("Z", "+00:00"))
            if current and (len(current) >= BATCH_EVENTS or moment - opened >= RELAY_MAX_AGE):  # type: ignore[operator]
                number += 1
                yield f"relay-{number:07d}", current
                current = []
            if not current:
                opened = moment
            current.append(event)
    if current:
        yield f"relay-{number + 1:07d}", current


def objects_per_day(client: Any, bucket: str) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            dataset, *parts = entry["Key"].split("/")
            fields = dict(part.split("=", 1) for part in parts if "=" in part)
            counts[dataset][f"{fields['year']}-{fields['month']}-{fields['day']}"] += 1
    return counts


def stored_bytes(client: Any, bucket: str) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            sizes[entry["Key"].split("/", 1)[0]] += entry["Size"]
    return sizes


def compact_all(client: Any, bucket: str, days: list[date]) -> tuple[float, list[Any]]:
    from guildlog.adapters.s3_compaction import S3CompactionStore
    from guildlog.services.compaction import Compactor

    compactor = Compactor(S3CompactionStore(bucket, client))
    started = time.perf_counter()
    results = [result for day in days for result in compactor.compact_day(day)]
    return time.perf_counter() - started, results


def _spread(counts: Counter[str]) -> str:
    values = sorted(counts.values())
    if not values:
        return "-"
    if values[0] == values[-1]:
        return f"{values[0]:,}"
    return f"{values[0]:,}–{values[-1]:,} (median {statistics.median(values):,g})"


# ---------------------------------------------------------------- one day as the relay batches it


def relay_day() -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    history = History(start=START, days=1, total=EVENTS // DAYS)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        archive = MeasuredArchive(BUCKET, client)
        started = time.perf_counter()
        events = ingest(archive, relay_batches(history))
        ingest_seconds = time.perf_counter() - started
        before = objects_per_day(client, BUCKET)
        size_before = stored_bytes(client, BUCKET)
        seconds, results = compact_all(client, BUCKET, [START.date()])
        after = objects_per_day(client, BUCKET)
        size_after = stored_bytes(client, BUCKET)
    day = START.date().isoformat()
    return {
        "events": events,
        "ingest_seconds": ingest_seconds,
        "before": {d: before[d].get(day, 0) for d in _DATASETS if d in before},
        "after": {d: after[d].get(day, 0) for d in _DATASETS if d in after},
        "raw": archive.raw,
        "size_before": size_before,
        "size_after": size_after,
        "compaction_seconds": seconds,
        "duplicates": sum(r.duplicates for r in results),
    }


# ---------------------------------------------------------------- the 1,000,000-event archive


def timed(engine: Any, bound: Any) -> tuple[float, Any]:
    runs = []
    result = None
    for _ in range(RUNS):
        result = engine.run_bound(bound)
        runs.append(result.elapsed_seconds)
    return statistics.median(runs), result


def big_archive() -> dict[str, Any]:
    import boto3

    from guildlog.queries import bind, named_queries
    from guildlog_tools.local.query_engine import LocalQueryEngine

    per_day = EVENTS // DAYS
    history = History(start=START, days=DAYS, total=EVENTS, batch_size=BATCH_EVENTS)
    days = [START.date() + timedelta(days=n) for n in range(DAYS)]
    middle = days[DAYS // 2].isoformat()
    guild, member = history.guilds[0], history.members[0]
    out: dict[str, Any] = {"per_day": per_day}
    with moto_server() as endpoint:
        client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        archive = MeasuredArchive(BUCKET, client)
        started = time.perf_counter()
        out["events"] = ingest(archive, history.batches())
        out["ingest_seconds"] = time.perf_counter() - started
        out["raw"] = archive.raw
        out["before"] = objects_per_day(client, BUCKET)
        out["size_before"] = stored_bytes(client, BUCKET)
        one_day = {"guild": guild, "day": middle}
        with LocalQueryEngine(endpoint_url=endpoint, bucket=BUCKET, **_engine_credentials()) as engine:
            out["pruning_before"] = (
                engine.run_bound(bind(named_queries()["top_members"], one_day)),
                engine.run("SELECT count(*) AS events FROM events"),
            )
        out["compaction_seconds"], results = compact_all(client, BUCKET, days)
        out["duplicates"] = sum(r.duplicates for r in results)
        out["after"] = objects_per_day(client, BUCKET)
        out["size_after"] = stored_bytes(client, BUCKET)
        timings: dict[str, tuple[float, Any, float, Any]] = {}
        with LocalQueryEngine(endpoint_url=endpoint, bucket=BUCKET, **_engine_credentials()) as engine:
            everything = engine.run("SELECT count(*) AS events FROM events")
            out["pruning_after"] = (engine.run_bound(bind(named_queries()["top_members"], one_day)), everything)
            whole = {"guild": guild, "from": days[0].isoformat(), "to": days[-1].isoformat()}
            for name, query in named_queries().items():
                extra = {"user": member} if "user" in query.placeholders else {}
                day_time, day_result = timed(engine, bind(query, {**one_day, **extra}))
                range_time, range_result = timed(engine, bind(query, {**whole, **extra}))
                timings[name] = (day_time, day_result, range_time, range_result)
        out["timings"] = timings
        out["middle"] = middle
    return out


def _engine_credentials() -> dict[str, str]:
    return {
        "access_key_id": CREDENTIALS["aws_access_key_id"],
        "secret_access_key": CREDENTIALS["aws_secret_access_key"],
    }


# ---------------------------------------------------------------- the report


def report() -> None:
    from guildlog.queries.result import human_bytes

    os.environ.pop("AWS_ENDPOINT_URL", None)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    print("== athena (the S3 archive: compaction, partition pruning, local named queries, compression) ==")

    day = relay_day()
    print(
        f"One day of {day['events']:,} events batched as the relay batches (500 events or 1 s), "
        f"ingested in {day['ingest_seconds']:.0f} s:"
    )
    print(
        f"  {'dataset':<12} {'objects before':>15} {'after':>6} {'stored before':>14} {'after':>10} {'raw':>10}"
        "  raw/stored before → after"
    )
    for dataset, count in day["before"].items():
        raw = day["raw"][dataset]
        before, after = day["size_before"][dataset], day["size_after"][dataset]
        print(
            f"  {dataset + '/':<12} {count:>15,} {day['after'].get(dataset, 0):>6} {human_bytes(before):>14} "
            f"{human_bytes(after):>10} {human_bytes(raw):>10}  {raw / before:.1f}× → {raw / after:.1f}×"
        )
    print(f"  compaction of the day: {day['compaction_seconds']:.1f} s in process, {day['duplicates']} duplicate lines")

    big = big_archive()
    print()
    print(
        f"A synthetic archive of {big['events']:,} events over {DAYS} days (about {big['per_day']:,} a day), "
        f"{BATCH_EVENTS}-event batches, ingested through moto's server in {big['ingest_seconds']:.0f} s:"
    )
    print(
        f"  {'dataset':<12} {'objects/day before':>20} {'after':>6} {'stored before':>14} {'after':>10} {'raw':>10}"
        "  raw/stored after"
    )
    for dataset in [d for d in _DATASETS if d in big["before"]]:
        raw = big["raw"][dataset]
        after_size = big["size_after"][dataset]
        print(
            f"  {dataset + '/':<12} {_spread(big['before'][dataset]):>20} {_spread(big['after'][dataset]):>6} "
            f"{human_bytes(big['size_before'][dataset]):>14} {human_bytes(after_size):>10} {human_bytes(raw):>10}"
            f"  {raw / after_size:.1f}×"
        )
    total_raw = sum(big["raw"][d] for d in ("raw", "events", "events_csv"))
    total_after = sum(big["size_after"][d] for d in ("raw", "events", "events_csv"))
    print(f"  compressed/raw over raw, events and events_csv: {total_raw / total_after:.1f}× (target ≥ 4×)")
    print(
        f"  compaction of {DAYS} days through moto's server: {big['compaction_seconds']:.0f} s, "
        f"{big['duplicates']} duplicates"
    )
    for label, (one, whole) in (
        ("before compaction", big["pruning_before"]),
        ("after compaction", big["pruning_after"]),
    ):
        print(
            f"  bytes read {label}: top_members for {big['middle']}: {human_bytes(one.bytes_scanned)} "
            f"in {one.objects_read} object(s); the whole events table: {human_bytes(whole.bytes_scanned)} "
            f"in {whole.objects_read} object(s) ({whole.bytes_scanned / max(one.bytes_scanned, 1):.0f}×)"
        )
    print()
    print(
        f"Named queries on DuckDB over moto's S3 after compaction (median of {RUNS} runs), one day and all {DAYS} days:"
    )
    print(f"  {'query':<24} {'one day':>9} {'rows':>6} {'read':>10}   {'30 days':>9} {'rows':>6} {'read':>10}")
    for name, (day_time, day_result, range_time, range_result) in big["timings"].items():
        print(
            f"  {name:<24} {day_time:>8.2f}s {len(day_result.rows):>6} {human_bytes(day_result.bytes_scanned):>10}   "
            f"{range_time:>8.2f}s {len(range_result.rows):>6} {human_bytes(range_result.bytes_scanned):>10}"
        )


if __name__ == "__main__":
    report()
