"""`guildlog import` figures: the import rate (messages/s) beside the bare parse of the same files,
and the importer's peak memory for a 1,000,000-message DiscordChatExporter export beside a
100,000-message one (goal: flat, the export is one JSON document streamed message by message).
The memory runs measure the importer's own process as it runs for `--stack`: read, batch, gzip
and validate each batch as the webhook will; the ingest service then runs in Lambda, per batch.

`python -m bench import_bench` runs the default sizes; `python -m bench.import_bench --rate-messages N
--memory-messages N` (or $GUILDLOG_BENCH_IMPORT_MESSAGES for the larger memory run) changes them.
The rates run the real path in process: reader → batches → the webhook's envelope validation →
the ingest service (normalize, archive objects gzip'd as S3Archive does, hot items), with storage
that keeps nothing, so the figures are guildlog's own work and not moto's."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RATE_MESSAGES = 20_000
MEMORY_SMALL = 100_000
MEMORY_LARGE = 1_000_000
GUILD = "700000000000000001"
CHANNEL = "700000000000000010"
START = datetime(2025, 6, 1, tzinfo=UTC)


def _message(n: int) -> dict[str, Any]:
    at = START + timedelta(seconds=n)
    snowflake = ((int(at.timestamp() * 1000) - 1_420_070_400_000) << 22) + (n % 4096)
    return {
        "id": str(snowflake),
        "type": "Default",
        "timestamp": at.isoformat(),
        "timestampEdited": (at + timedelta(seconds=30)).isoformat() if n % 20 == 0 else None,
        "isPinned": False,
        "content": f"message number {n} with a little text to make it look like a chat line",
        "author": {"id": str(700000000000000100 + n % 50), "name": f"user{n % 50}", "discriminator": "0"},
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
    }


def write_dce(path: Path, messages: int) -> None:
    """A DCE export of `messages` messages, written as a stream (one document, as DCE writes it)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"guild": {"id": GUILD, "name": "Bench"}, "channel": {"id": CHANNEL, "name": "c"}})[:-1])
        out.write(', "messages": [\n')
        for n in range(messages):
            out.write(("," if n else "") + json.dumps(_message(n)) + "\n")
        out.write(f'], "messageCount": {messages}}}\n')


def write_ndjson(path: Path, messages: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(messages):
            m = _message(n)
            line = {
                "id": m["id"],
                "channel_id": CHANNEL,
                "guild_id": GUILD,
                "author": {"id": m["author"]["id"], "username": m["author"]["name"]},
                "content": m["content"],
                "timestamp": m["timestamp"],
                "edited_timestamp": m["timestampEdited"],
            }
            out.write(json.dumps(line) + "\n")


class _GzipNothing:
    """The archive port: each object gzip'd as S3Archive does, then dropped."""

    def put(self, key: str, text: str) -> None:
        gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


class _KeepNothing:
    """The hot store port: takes every item, keeps none."""

    def put_items(self, items: list[Any]) -> int:
        return len(items)

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, Any]:
        return {}


class _AsTheWebhookSees:
    """What the importer's own process does with a batch for `--stack`: gzip it as the poster does,
    and validate it as the webhook will (the ingest service itself then runs in Lambda)."""

    def send(self, batch_id: str, body: bytes) -> Any:
        from guildlog.services.webhook_body import parse_envelope
        from guildlog_tools.importers.sink import Counts

        envelope, _ = parse_envelope(gzip.compress(body, compresslevel=1, mtime=0), "gzip")
        return Counts(len(envelope.events), 0, 0)


def _sink() -> Any:
    from guildlog.services.ingest import Ingestor
    from guildlog_tools.importers.sink import IngestorSink

    return IngestorSink(Ingestor(_GzipNothing(), _KeepNothing(), clock=lambda: START + timedelta(days=2)))


def bare_parse(fmt: str, path: Path) -> tuple[int, float]:
    """(records, seconds) of the reader alone: the file parsed into records, nothing sent."""
    from guildlog_tools.importers import source_for
    from guildlog_tools.importers.core import Record

    reader = source_for(fmt)
    began = time.perf_counter()
    count = sum(1 for item in reader.read(path, path) if isinstance(item.value, Record))
    return count, time.perf_counter() - began


def full_import(fmt: str, path: Path, sink: Any = None) -> tuple[int, float]:
    """(records, seconds) of the whole import into the in-process ingest service (or `sink`)."""
    from guildlog_tools.importers import source_for
    from guildlog_tools.importers.runner import run_import

    began = time.perf_counter()
    summary = run_import(source_for(fmt), path, sink or _sink())
    return summary.read, time.perf_counter() - began


def _peak_rss_mb(path: Path) -> tuple[float, int]:
    """(peak RSS in MB, records) of a fresh interpreter importing `path` (a DCE export)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.import_bench", "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    peak_kb, records = done.stdout.split()
    return int(peak_kb) / 1024, int(records)


def _child(path: Path) -> None:
    records, _ = full_import("dce", path, _AsTheWebhookSees())
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, records)


def report(rate_messages: int | None = None, memory_messages: int | None = None) -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    rate_messages = rate_messages or RATE_MESSAGES
    large = memory_messages or int(os.environ.get("GUILDLOG_BENCH_IMPORT_MESSAGES") or MEMORY_LARGE)
    small = max(1, large // 10)
    print("== import ==")
    with tempfile.TemporaryDirectory(prefix="guildlog-import-bench-") as temp:
        folder = Path(temp)
        for fmt, writer in (("dce", write_dce), ("ndjson", write_ndjson)):
            path = folder / f"rate.{fmt}.json"
            writer(path, rate_messages)
            parsed, parse_s = bare_parse(fmt, path)
            imported, import_s = full_import(fmt, path)
            print(
                f"{fmt}: {rate_messages:,} messages ({parsed:,} records, edits included): bare parse "
                f"{parsed / parse_s:,.0f} records/s, import into the ingest service {imported / import_s:,.0f} "
                f"records/s ({(imported / import_s) / (parsed / parse_s):.2f}× the parse rate)"
            )
        peaks = []
        for size in (small, large):
            path = folder / f"memory-{size}.json"
            write_dce(path, size)
            peak, records = _peak_rss_mb(path)
            peaks.append(peak)
            path.unlink()
            print(
                f"dce export of {size:,} messages ({records:,} records), read, batched, gzip'd and validated: "
                f"peak RSS {peak:.0f} MB"
            )
        print(f"peak RSS {large:,} / {small:,} messages: {peaks[1] / peaks[0]:.2f}× (goal: flat, 1.0×)")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"(measured {stamp} on {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench")
    parser.add_argument("--rate-messages", type=int, default=None, help=f"messages for the rates ({RATE_MESSAGES:,})")
    parser.add_argument("--memory-messages", type=int, default=None, help=f"the larger memory run ({MEMORY_LARGE:,})")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    report(args.rate_messages, args.memory_messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
