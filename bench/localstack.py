"""The local stack under load: `guildlog dev` as a user runs it, fed signed batches over HTTP.

Reports ingest rate per block of 10,000 events as the table grows (10k, 50k, 100k stored), the
stack's peak RSS, the time from SIGTERM to exit, and the time to start again on the same ports.
`GUILDLOG_BENCH_LOCAL_EVENTS` sets the total (default 100,000); a run stops early, and says so,
when it passes `GUILDLOG_BENCH_LOCAL_BUDGET_S` seconds of feeding (default 900).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.synthetic import gateway_events

BLOCK = 10_000
BATCH = 500
READY_DEADLINE_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(state: Path, port: int, aws_port: int) -> tuple[subprocess.Popen[bytes], float]:
    dev_file = state / "dev.json"
    dev_file.unlink(missing_ok=True)
    started = time.perf_counter()
    log = (state / "dev.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "guildlog_tools.cli", "dev", "--quiet", "--state-dir", str(state),
         "--port", str(port), "--aws-port", str(aws_port)],
        stdout=log,
        stderr=log,
    )  # fmt: skip
    while not dev_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"guildlog dev exited: {(state / 'dev.log').read_text()[-2000:]}")
        if time.perf_counter() - started > READY_DEADLINE_S:
            process.kill()
            raise RuntimeError("guildlog dev did not start")
        time.sleep(0.05)
    return process, time.perf_counter() - started


def _stop(process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float("inf")
    return time.perf_counter() - started


def _post(url: str, signer: Any, events: list[dict[str, Any]], batch_no: int) -> None:
    body = {
        "v": 1,
        "batch_id": f"bench-local-{batch_no:06d}",
        "relay": {"shard": [0, 1], "session_id": "bench-local"},
        "events": events,
    }
    raw = gzip.compress(json.dumps(body, separators=(",", ":")).encode(), mtime=0)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signer.headers(raw)}
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310 - loopback
            answer.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"batch {batch_no}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


def run(total: int, budget_s: float) -> dict[str, Any]:
    from guildlog.adapters.signatures import Signer

    events = gateway_events(total, guilds=3)
    for event in events:
        event["source"] = "gateway"
    with tempfile.TemporaryDirectory(prefix="guildlog-bench-local-") as folder:
        state = Path(folder)
        port, aws_port = _free_port(), _free_port()
        process, first_start = _start(state, port, aws_port)
        dev = json.loads((state / "dev.json").read_text())
        signer = Signer(dev["relay_private_key"])
        url = dev["api_url"].rstrip("/") + "/gateway/events"
        rates: list[tuple[int, float]] = []
        fed, batch_no, feeding = 0, 0, 0.0
        try:
            while fed < total and feeding < budget_s:
                block_started = time.perf_counter()
                block_end = min(fed + BLOCK, total)
                while fed < block_end:
                    _post(url, signer, events[fed : fed + BATCH], batch_no)
                    fed, batch_no = min(fed + BATCH, block_end), batch_no + 1
                elapsed = time.perf_counter() - block_started
                feeding += elapsed
                rates.append((fed, BLOCK / elapsed))
            rss = _peak_rss_mb(process.pid)
        finally:
            stop_s = _stop(process)
        process, restart_s = _start(state, port, aws_port)
        _stop(process)
    return {
        "fed": fed,
        "rates": rates,
        "rss_mb": rss,
        "stop_s": stop_s,
        "first_start_s": first_start,
        "restart_s": restart_s,
        "complete": fed >= total,
    }


def report() -> None:
    total = int(os.environ.get("GUILDLOG_BENCH_LOCAL_EVENTS", "100000"))
    budget = float(os.environ.get("GUILDLOG_BENCH_LOCAL_BUDGET_S", "900"))
    print("== localstack ==")
    result = run(total, budget)
    print(f"`guildlog dev` fed {result['fed']:,} events in signed batches of {BATCH} over HTTP")
    for stored, rate in result["rates"]:
        if stored in (BLOCK, 50_000, 100_000) or stored == result["fed"]:
            print(f"  ingest rate with {stored:>7,} stored: {rate:>7,.0f} events/s")
    if result["rates"]:
        first, last = result["rates"][0][1], result["rates"][-1][1]
        print(f"  last block / first block: {last / first:.2f}× (goal: flat, ≈1.0×)")
    if not result["complete"]:
        print(f"  stopped early: the feeding budget ran out before {total:,} events")
    print(f"  peak RSS of the stack: {result['rss_mb']:,.0f} MB (goal < 1,024 MB)")
    print(f"  SIGTERM → exit: {result['stop_s']:.2f} s (goal ≤ 5 s)")
    print(f"  start: {result['first_start_s']:.2f} s; restart on the same ports: {result['restart_s']:.2f} s")
