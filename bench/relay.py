"""Relay figures: throughput of the live relay's receive-and-forward path beside a bare zlib +
json.loads loop over the same zlib-stream frames; the relay process's RSS at idle and while the
webhook is down; frames sent to Discord per 60 s in steady state and in a reconnect storm; requests
per 1,000 events of a quiet server at --linger-ms 0 and at the default, the pure batcher driven on a
synthetic clock.

The fake Discord of the tests (tests/fakes/discord_gateway.py) plays Discord here: over loopback
websockets for the RSS figures, in memory on a virtual clock for the frame counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.synthetic import gateway_events

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-not-a-real-one"
THROUGHPUT_EVENTS = 100_000
THROUGHPUT_RUNS = 5
OUTAGE_RATE = 500  # events/s, the figure
OUTAGE_MINUTES = 10
OUTAGE_EVENTS = OUTAGE_RATE * 60 * OUTAGE_MINUTES


# -- throughput ---------------------------------------------------------------------------------


def zlib_stream_frames(count: int) -> tuple[list[bytes], int]:
    """HELLO, READY and `count` dispatches as Discord sends them: one zlib stream, a flush per payload."""
    compressor = zlib.compressobj()
    raw_bytes = 0

    def frame(payload: dict[str, Any]) -> bytes:
        nonlocal raw_bytes
        text = json.dumps(payload, separators=(",", ":")).encode()
        raw_bytes += len(text)
        return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)

    frames = [
        frame({"op": 10, "d": {"heartbeat_interval": 3_600_000}, "s": None, "t": None}),
        frame(
            {
                "op": 0,
                "t": "READY",
                "s": 1,
                "d": {"v": 10, "session_id": "benchsession", "resume_gateway_url": "wss://x", "guilds": []},
            }
        ),
    ]
    for event in gateway_events(count):
        frames.append(frame({"t": event["t"], "s": event["seq"] + 1, "op": 0, "d": event["d"]}))
    return frames, raw_bytes


def bare_loop(frames: list[bytes]) -> float:
    """CPU seconds of the least any consumer must do: inflate and parse every frame."""
    start = time.process_time()
    inflater = zlib.decompressobj()
    for message in frames:
        json.loads(inflater.decompress(message))
    return time.process_time() - start


class _FramesConnection:
    """Replays the frames at full speed, then waits until the relay closes it."""

    def __init__(self, frames: list[bytes]) -> None:
        self._frames = iter(frames)
        self._closed = asyncio.Event()

    async def recv(self) -> bytes:
        for message in self._frames:
            return message
        await self._closed.wait()
        from guildlog_relay.shard import GatewayClosed

        raise GatewayClosed(4000, "closed")

    async def send(self, text: str) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        self._closed.set()


def _null_transport(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Any:
    """A webhook that takes everything at once (the poster still gzips and signs every batch)."""
    from guildlog_relay.poster import Response

    return Response(200, {}, b'{"accepted":0,"duplicates":0,"quarantined":0}')


def relay_throughput(frames: list[bytes], events: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the live relay taking every frame to an acknowledged batch:
    inflate, parse, queue, batch, spool to disk (fsync), gzip, sign, POST, checkpoint."""
    from guildlog.adapters.signatures import Signer, generate_keypair
    from guildlog_relay.batcher import DEFAULT_LINGER_MS, Batcher
    from guildlog_relay.discovery import GatewayInfo
    from guildlog_relay.live import LiveRelay, LiveSettings
    from guildlog_relay.pipeline import Pipeline
    from guildlog_relay.poster import Poster
    from guildlog_relay.spool import Spool

    signer = Signer(generate_keypair().private_key)
    last_seq = events + 1

    async def run(state: Path) -> tuple[float, float]:
        def make(folder: Path) -> Pipeline:
            poster = Poster("http://null.invalid/gateway/events", signer, transport=_null_transport)
            # The batcher as `guildlog relay` makes it by default: routine events may linger.
            return Pipeline(spool=Spool(folder), poster=poster, batcher=Batcher(linger_ms=DEFAULT_LINGER_MS))

        async def connect(url: str) -> _FramesConnection:
            return _FramesConnection(frames)

        relay = LiveRelay(
            LiveSettings(state_dir=state, status_interval=0.0, identify_interval=0.0),
            token=TOKEN,
            gateway=GatewayInfo(url="wss://bench.invalid", shards=1),
            make_pipeline=make,
            connector=connect,
        )
        cpu, wall = time.process_time(), time.perf_counter()
        task = asyncio.create_task(relay.run(handle_signals=False))
        while not relay.shards or relay.shards[0].checkpointer.state.seq < last_seq:
            await asyncio.sleep(0.005)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        relay.request_stop()
        await task
        return cpu, wall

    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(Path(folder)))


# -- RSS ----------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Sampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, _rss_mb(self.pid))
            except OSError:
                return
            self._stop.wait(0.1)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _spool_mb(state: Path) -> tuple[int, float]:
    files = [p for p in (state / "shard-0" / "spool").iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 2**20


def rss_during_outage() -> dict[str, Any]:
    """The relay as a process (`guildlog relay`) on the fake Discord over loopback, its webhook a
    port where nothing listens. Idle RSS after it connected; then OUTAGE_EVENTS events — what a
    10-minute outage at 500 events/s brings — fed as fast as the fake sends them."""
    sys.path.insert(0, str(REPO))
    from guildlog.adapters.signatures import generate_keypair
    from tests.fakes.discord_gateway import FakeDiscordThread

    events = gateway_events(OUTAGE_EVENTS)
    with tempfile.TemporaryDirectory() as folder, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # bound, never listening: connection refused
        key = Path(folder) / "relay.key"
        key.write_text(generate_keypair().private_key)
        state = Path(folder) / "state"
        with FakeDiscordThread(TOKEN, heartbeat_interval_ms=41_250) as fake:
            discord = fake.discord
            assert discord is not None
            env = {k: v for k, v in os.environ.items() if not k.startswith(("GUILDLOG_", "DISCORD_"))}
            env["DISCORD_TOKEN"] = TOKEN
            command = [
                sys.executable, "-m", "guildlog_tools.cli", "relay", "--api-base", discord.api_base,
                "--endpoint", f"http://127.0.0.1:{dead_port}/gateway/events", "--signing-key-file", str(key),
                "--state-dir", str(state), "--log-level", "error", "--status-interval", "0",
            ]  # fmt: skip
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 60
                while fake.call(lambda d: d.live()) is None:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"relay did not connect: {process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
                    time.sleep(0.05)
                time.sleep(2.0)
                idle = _rss_mb(process.pid)

                async def feed(d: Any) -> None:
                    for event in events:
                        await d.dispatch(event["t"], event["d"])

                with _Sampler(process.pid) as sampler:
                    started = time.perf_counter()
                    fake.call(feed, timeout=3600)
                    fed_in = time.perf_counter() - started
                    target = OUTAGE_EVENTS + 1
                    while True:
                        if process.poll() is not None:
                            raise RuntimeError(process.stderr.read().decode()[-500:])  # type: ignore[union-attr]
                        # Done when everything received is on disk: the queue and the batcher are empty.
                        held = _spooled_events(state)
                        if held >= target or time.perf_counter() - started > 600:
                            break
                        time.sleep(0.2)
                    after = _rss_mb(process.pid)
                files, size = _spool_mb(state)
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
    return {
        "idle": idle,
        "peak": sampler.peak,
        "after": after,
        "fed_in": fed_in,
        "spool_files": files,
        "spool_mb": size,
        "held": held,
    }


def _spooled_events(state: Path) -> int:
    """Events in the spool, from the batch ids (`<session>-<shard>-<first>-<last>`)."""
    total = 0
    for path in (state / "shard-0" / "spool").iterdir():
        stem = path.name.removesuffix(".gz").removesuffix(".json")  # `<key>_<batch id>.json[.gz]`
        parts = stem.split("_", 1)[-1].split("-")
        if len(parts) >= 4 and parts[-1].isdigit() and parts[-2].isdigit():
            total += int(parts[-1]) - int(parts[-2]) + 1
    return total


# -- frames per 60 s ----------------------------------------------------------------------------


def frames_per_minute() -> dict[str, int]:
    """Busiest 60 s window of frames the relay sent, on a virtual clock, over one virtual hour."""
    sys.path.insert(0, str(REPO))
    import random

    from guildlog_relay.backoff import Backoff
    from guildlog_relay.ratelimit import IdentifyGate
    from guildlog_relay.shard import ShardSession
    from tests.fakes.discord_gateway import FakeDiscord, VirtualClockLoop, memory_connector

    def busiest(times: list[float]) -> int:
        times = sorted(times)
        best, j = 0, 0
        for i, start in enumerate(times):
            while j < len(times) and times[j] < start + 60.0:
                j += 1
            best = max(best, j - i)
        return best

    async def scenario(storm: bool, backoff: Backoff, after: float) -> int:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=41_250)
        if storm:
            discord.close_after_handshake = 4000

        async def sink(event: Any) -> None:
            pass

        session = ShardSession(
            (0, 1),
            token=TOKEN,
            intents=513,
            gateway=discord.gateway_url,
            connector=memory_connector(discord),
            emit=sink,
            backoff=backoff,
            identify_gate=IdentifyGate(),
            rng=random.Random(7),
        )
        task = asyncio.create_task(session.run())
        await asyncio.sleep(3600)
        session.stop()
        await task
        return busiest([f.at for f in discord.client_frames() if f.at >= after])

    def run(storm: bool, backoff: Backoff, after: float = 0.0) -> int:
        relay_log = logging.getLogger("guildlog_relay")
        level = relay_log.level
        relay_log.setLevel(logging.CRITICAL)  # a storm logs every one of its thousands of disconnects
        try:
            with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
                return runner.run(scenario(storm, backoff, after))
        finally:
            relay_log.setLevel(level)

    return {
        # After the first two minutes: the IDENTIFY is behind, only heartbeats remain.
        "steady": run(False, Backoff(rng=random.Random(1)), after=120.0),
        "storm": run(True, Backoff(rng=random.Random(1))),
        "storm_no_backoff": run(True, Backoff(base=0.0)),
    }


# -- requests of a quiet server ----------------------------------------------------------------

QUIET_EVENTS = 10_000  # one day of a small server: one event every 8.64 s on average
QUIET_SEED = 5
HEARTBEAT_S = 60.0  # --status-interval's default: one GUILDLOG_HEARTBEAT per shard per minute
# A small chat server's day as the relay sees it: mostly new messages, reactions and typing (routine);
# edits, deletes and joins, which the moderation log posts, about one event in ten.
CHAT_MIX = {
    "MESSAGE_CREATE": 0.70,
    "MESSAGE_REACTION_ADD": 0.12,
    "TYPING_START": 0.08,
    "MESSAGE_UPDATE": 0.06,
    "MESSAGE_DELETE": 0.03,
    "GUILD_MEMBER_ADD": 0.01,
}


def quiet_server_requests(types: list[str], linger_ms: int) -> dict[str, float]:
    """Drive the pure batcher as the live relay does (its timer seals a batch at its deadline), on a
    synthetic clock: `types` arrive one by one, Poisson at QUIET_EVENTS a day, with a heartbeat every
    HEARTBEAT_S. Returns the batches (requests) sealed, those holding only the relay's events (the
    heartbeats' own), and how long events waited before theirs."""
    import random
    from datetime import UTC, datetime

    from guildlog_relay.batcher import DEFAULT_MAX_AGE_MS, URGENT_TYPES, Batcher
    from guildlog_relay.events import RelayEvent, relay_event

    rng = random.Random(QUIET_SEED)
    mean_gap = 86_400 / QUIET_EVENTS
    batcher = Batcher(max_age_ms=DEFAULT_MAX_AGE_MS, linger_ms=linger_ms)
    arrived: dict[int, float] = {}
    waits = {"routine": 0.0, "urgent": 0.0}
    counts = {"requests": 0, "heartbeat_requests": 0}

    def sealed(batches: list[Any], at: float) -> None:
        for batch in batches:
            counts["requests"] += 1
            events = [json.loads(data) for data in batch.events]
            dispatches = [e for e in events if e["source"] == "gateway"]
            if not dispatches:  # the relay's events alone: a request of the heartbeat's own
                counts["heartbeat_requests"] += 1
            for event in dispatches:
                kind = "urgent" if event["t"] in URGENT_TYPES else "routine"
                waits[kind] = max(waits[kind], at - arrived[event["seq"]])

    def until(now: float) -> None:
        deadline = batcher.deadline()
        while deadline is not None and deadline <= now:
            sealed([batcher.due(deadline)], deadline)
            deadline = batcher.deadline()

    def at(moment: float) -> datetime:
        return datetime.fromtimestamp(1_780_000_000 + moment, tz=UTC)

    now, beat = 0.0, HEARTBEAT_S
    for seq, t in enumerate(types, start=1):
        now += rng.expovariate(1 / mean_gap)
        while beat <= now:
            until(beat)
            event = relay_event("GUILDLOG_HEARTBEAT", {"shard": [0, 1]}, event_id=f"hb-{beat}", received_at=at(beat))
            sealed(batcher.add(event, beat), beat)
            beat += HEARTBEAT_S
        until(now)
        arrived[seq] = now
        sealed(batcher.add(RelayEvent(t=t, d={"n": seq}, received_at=at(now), seq=seq, session_id="s"), now), now)
    until(now + 3600)
    per = 1000 / len(types)
    urgent = sum(t in URGENT_TYPES for t in types)
    return {
        "requests": counts["requests"] * per,
        "heartbeats": counts["heartbeat_requests"] * per,
        "urgent_share": urgent / len(types),
        "routine_wait": waits["routine"],
        "urgent_wait": waits["urgent"],
    }


def quiet_server_mixes() -> dict[str, list[str]]:
    """The two mixes: CHAT_MIX, and bench/synthetic.py's (the ingest cost model's events)."""
    import random

    rng = random.Random(QUIET_SEED)
    chat = rng.choices(list(CHAT_MIX), weights=list(CHAT_MIX.values()), k=QUIET_EVENTS)
    synthetic = [e["t"] for e in gateway_events(QUIET_EVENTS, seed=QUIET_SEED)]
    return {"chat (CHAT_MIX)": chat, "bench/synthetic.py": synthetic}


def report_quiet_server() -> None:
    from guildlog_relay.batcher import DEFAULT_LINGER_MS

    print(
        f"Requests per 1,000 events of a quiet server ({QUIET_EVENTS:,} events a day, Poisson arrivals, one "
        f"heartbeat a minute), the batcher on a synthetic clock:"
    )
    print(f"  {'mix':<20} {'urgent':>6} {'linger':>7} {'requests':>9} {'heartbeats':>11} {'ratio':>6}  longest wait")
    for name, types in quiet_server_mixes().items():
        today = quiet_server_requests(types, 0)
        for linger in (0, DEFAULT_LINGER_MS):
            row = quiet_server_requests(types, linger) if linger else today
            print(
                f"  {name:<20} {row['urgent_share']:>6.0%} {linger / 1000:>6.0f}s {row['requests']:>9.0f} "
                f"{row['heartbeats']:>11.0f} {row['requests'] / today['requests']:>6.2f}  "
                f"routine {row['routine_wait']:.1f} s, urgent {row['urgent_wait']:.1f} s"
            )
    print(
        "    (requests include the heartbeats' own batches, counted under heartbeats: with a linger a heartbeat"
        " rides along with held events and goes alone only when none come within the linger; ratio is against"
        " --linger-ms 0 in the same run;"
        " a wait is from an event's arrival to its batch being sealed)"
    )


# -- report -------------------------------------------------------------------------------------


def report() -> None:
    print("== relay ==")
    report_quiet_server()
    frames, raw_bytes = zlib_stream_frames(THROUGHPUT_EVENTS)
    wire = sum(len(f) for f in frames)
    warm, _ = zlib_stream_frames(5_000)
    relay_throughput(warm, 5_000)  # imports, the thread pool, the first page faults
    # The two alternate, so that both see the same machine: on shared cores one run can take a
    # tenth longer than the next, and the best of each is the figure least disturbed.
    bares, relays = [], []
    for _ in range(THROUGHPUT_RUNS):
        bares.append(bare_loop(frames))
        relays.append(relay_throughput(frames, THROUGHPUT_EVENTS))
    bare = min(bares)
    cpu, wall = min(relays)
    relay_rate, bare_rate = THROUGHPUT_EVENTS / cpu, THROUGHPUT_EVENTS / bare
    print(
        f"Throughput, {THROUGHPUT_EVENTS:,} synthetic dispatches replayed as zlib-stream frames at full speed "
        f"(avg {raw_bytes / len(frames):.0f} B JSON, {wire / len(frames):.0f} B on the wire):"
    )
    print(f"  bare zlib + json.loads loop        {bare_rate:>10,.0f} events per CPU-second")
    print(
        f"  live relay into a null webhook     {relay_rate:>10,.0f} events per CPU-second "
        f"({THROUGHPUT_EVENTS / wall:,.0f}/s wall; {cpu / bare:.2f}× the bare loop's CPU)"
    )
    print(
        "    (receive, queue, batch, spool with fsync, gzip, sign, POST, checkpoint; CPU of all threads, user + system;"
    )
    print(f"     the best of {THROUGHPUT_RUNS} runs after a warm-up, alternating with as many of the bare loop)")
    print("    targets: ≥ 20,000 events per CPU-second and ≤ 2× the bare loop")

    frames_counts = frames_per_minute()
    print("Frames sent to Discord, busiest 60 s window over one virtual hour (limit 120):")
    print(f"  steady state (heartbeats only, 41.25 s interval)      {frames_counts['steady']:>4}")
    print(f"  reconnect storm, every connection closed at once       {frames_counts['storm']:>4}  (default backoff)")
    print(f"  same storm with no backoff at all (the limiter alone)  {frames_counts['storm_no_backoff']:>4}")

    rss = rss_during_outage()
    print("RSS of `guildlog relay` (one shard, default settings), webhook down (connection refused):")
    print(f"  {'idle, connected':<40} {rss['idle']:6.1f} MB")
    print(
        f"  {f'peak while {OUTAGE_EVENTS:,} events arrived':<40} {rss['peak']:6.1f} MB"
        f"   (what a {OUTAGE_MINUTES}-minute outage at {OUTAGE_RATE}/s brings, fed in {rss['fed_in']:.0f} s)"
    )
    print(
        f"  {'after, with all of them on disk':<40} {rss['after']:6.1f} MB"
        f"   ({rss['held']:,} events in {rss['spool_files']} spool files, {rss['spool_mb']:.0f} MB)"
    )
    print("    target: ≤ 64 MB plus a bounded buffer (queue 1,000 events + one 500-event batch)")
