"""The gateway session's state machine against the fake Discord in memory, on a virtual clock: hours
of heartbeats, backoffs and rate-limit windows run in milliseconds, and every wait is exact."""

from __future__ import annotations

import asyncio
import json
import random
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from guildlog_relay.backoff import Backoff
from guildlog_relay.checkpoint import PendingGap
from guildlog_relay.events import RelayEvent
from guildlog_relay.protocol import SEND_LIMIT, SEND_WINDOW_S
from guildlog_relay.ratelimit import IdentifyGate, SendLimiter
from guildlog_relay.shard import (
    FrameError,
    FrameReader,
    ResumeState,
    ShardExit,
    ShardSession,
    Tuning,
    parse_frame,
)
from tests.fakes.discord_gateway import FakeDiscord, VirtualClockLoop, memory_connector

TOKEN = "unit-test-token-0123456789"
HEARTBEAT_MS = 41_250  # Discord's usual interval: virtual time makes it free


def run_virtual(scenario: Callable[[], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(scenario())


class Harness:
    """One ShardSession on a FakeDiscord, events collected in memory."""

    def __init__(self, discord: FakeDiscord, *, resume: ResumeState | None = None, **options: Any) -> None:
        self.discord = discord
        self.events: list[RelayEvent] = []
        self.lost: list[PendingGap] = []
        self.backoff = options.pop("backoff", Backoff(base=1.0, cap=60.0, rng=random.Random(1)))
        self.session = ShardSession(
            options.pop("shard", (0, 1)),
            token=TOKEN,
            intents=options.pop("intents", 513),
            gateway=discord.gateway_url,
            connector=memory_connector(discord),
            emit=self._emit,
            on_lost=self._lost,
            backoff=self.backoff,
            resume=resume,
            tuning=options.pop("tuning", Tuning()),
            rng=random.Random(2),
            **options,
        )
        self.task: asyncio.Task[ShardExit] | None = None

    async def _emit(self, event: RelayEvent) -> None:
        self.events.append(event)

    async def _lost(self, gap: PendingGap) -> None:
        self.lost.append(gap)

    def start(self) -> None:
        self.task = asyncio.create_task(self.session.run())

    async def stop(self) -> ShardExit:
        assert self.task is not None
        self.session.stop()
        return await asyncio.wait_for(self.task, 60)

    def types(self) -> list[str]:
        return [e.t for e in self.events]

    def seqs(self, session_id: str) -> list[int]:
        return [e.seq for e in self.events if e.source == "gateway" and e.session_id == session_id and e.seq]


async def live(discord: FakeDiscord, after: int = 0, shard: int = 0) -> None:
    await discord.wait_for(
        lambda: discord.live(shard) is not None and discord.connections.index(discord.live(shard)) >= after, 3600
    )


# -- frames -------------------------------------------------------------------------------------


def test_parse_frame_keeps_dispatch_data_as_the_exact_bytes_when_keys_come_in_any_order() -> None:
    text = '{"t":"MESSAGE_CREATE", "s":7,"op":0,\n "d": {"content":"caf\\u00e9 \u2603","n":[1, 2.50,true]}}'

    frame = parse_frame(text.encode())

    assert (frame.op, frame.t, frame.s) == (0, "MESSAGE_CREATE", 7)
    assert frame.raw_d == '{"content":"caf\\u00e9 \u2603","n":[1, 2.50,true]}'.encode()
    assert json.loads(frame.raw_d) == frame.d


@pytest.mark.parametrize(
    "payload",
    [b"[1,2]", b'{"op":"0"}', b'{"op":0,"d":NaN}', b'{"op":0} trailing', b'{"op":0,,}', b"\xff\xfe", b""],
)
def test_parse_frame_raises_frame_error_when_the_payload_is_not_a_gateway_frame(payload: bytes) -> None:
    with pytest.raises(FrameError):
        parse_frame(payload)


def _zlib_stream(*payloads: bytes) -> list[bytes]:
    """`payloads` as one zlib stream, a flush after each: the websocket messages Discord sends."""
    compressor = zlib.compressobj()
    return [compressor.compress(p) + compressor.flush(zlib.Z_SYNC_FLUSH) for p in payloads]


def test_frame_reader_slices_d_unparsed_when_its_type_came_well_formed_earlier_on_the_connection() -> None:
    reader = FrameReader()
    first, second = _zlib_stream(
        b'{"t":"MESSAGE_CREATE","s":1,"op":0,"d":{"id":"1"}}',
        # Not JSON (NaN), but shaped like the first: the reader carries it without looking inside.
        b'{"t":"MESSAGE_CREATE","s":2,"op":0,"d":{"id":"2","n":NaN}}',
    )

    frames = [reader.feed(first), reader.feed(second)]

    assert [(f.op, f.t, f.s, f.raw_d, f.d) for f in frames if f] == [
        (0, "MESSAGE_CREATE", 1, b'{"id":"1"}', None),
        (0, "MESSAGE_CREATE", 2, b'{"id":"2","n":NaN}', None),
    ]


def test_frame_reader_parses_every_frame_in_full_when_a_key_follows_d() -> None:
    reader = FrameReader()
    payloads = [b'{"t":"X","s":%d,"op":0,"d":{"id":"%d"},"extra":{"k":{}}}' % (n, n) for n in (1, 2)]

    frames = [reader.parse(p) for p in payloads]

    assert [f.raw_d for f in frames] == [b'{"id":"1"}', b'{"id":"2"}']
    with pytest.raises(FrameError):  # so a later malformed frame of that type is still caught
        reader.parse(b'{"t":"X","s":3,"op":0,"d":{"id":"3","n":NaN}}')


@pytest.mark.parametrize(
    "payload",
    [
        b'{"op":0,"t":"X","s":2,"d":{"id":"2"}}',  # another key order
        b'{"t":"X","s":2,"op":0,"d":{"id":"2"} }',  # whitespace at the end
        b'{"t":"X","s":2,"op":0,"d":["id","2"]}',  # d not an object
        b'{"t":"X","s":2,"op":0,"d":{"id":"2"},"extra":1}',  # a key after d
    ],
)
def test_frame_reader_falls_back_to_a_full_parse_when_a_frame_is_not_in_discords_shape(payload: bytes) -> None:
    reader = FrameReader()
    reader.parse(b'{"t":"X","s":1,"op":0,"d":{"id":"1"}}')

    frame = reader.parse(payload)

    assert (frame.t, frame.s) == ("X", 2)
    assert json.loads(frame.raw_d or b"") in ({"id": "2"}, ["id", "2"])
    with pytest.raises(FrameError):
        reader.parse(payload.replace(b'"2"', b"NaN", 1))


def test_frame_reader_keeps_escapes_and_braces_in_strings_byte_for_byte_when_d_is_sliced() -> None:
    reader = FrameReader()
    reader.parse(b'{"t":"X","s":1,"op":0,"d":{"id":"1"}}')
    d = b'{"content":"caf\\u00e9 \\"}}\\" \\ud83d\\ude00 \xe2\x98\x83","n":[1,2.50,true]}'

    frame = reader.parse(b'{"t":"X","s":2,"op":0,"d":' + d + b"}")

    assert frame.raw_d == d and frame.d is None
    assert json.loads(d)["content"] == 'caf\u00e9 "}}" \U0001f600 \u2603'


def test_frame_reader_parses_ready_in_full_when_it_comes_again_on_the_connection() -> None:
    reader = FrameReader()
    payload = b'{"t":"READY","s":1,"op":0,"d":{"session_id":"abc","resume_gateway_url":"wss://r"}}'

    frames = [reader.parse(payload), reader.parse(payload)]

    assert [f.d for f in frames] == [{"session_id": "abc", "resume_gateway_url": "wss://r"}] * 2


# -- a session ----------------------------------------------------------------------------------


class Dispatches:
    """A DispatchQueue that keeps what it is given, and says it is full when told to."""

    def __init__(self) -> None:
        self.taken: list[tuple[str, Any, bytes, int, Any]] = []
        self.full = False
        self.waits = 0

    def put_dispatch(self, session_id: str, shard: Any, data: bytes, t: str, seq: int, received_at: Any) -> bool:
        if self.full:
            return False
        self.taken.append((session_id, shard, data, seq, received_at))
        return True

    async def room(self) -> None:
        self.waits += 1
        self.full = False


def test_shard_session_queues_dispatches_as_their_envelope_json_when_given_a_dispatch_queue() -> None:
    dispatches = Dispatches()

    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS, shards=4)
        harness = Harness(discord, shard=(2, 4), dispatches=dispatches)
        harness.start()
        await live(discord, shard=2)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1", "content": "caf\u00e9"}, shard=2)
        dispatches.full = True  # the next one waits for room, then goes in
        await discord.dispatch("MESSAGE_DELETE", {"id": "1"}, shard=2)
        await discord.wait_for(lambda: len(dispatches.taken) == 2)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    [session_id] = discord.sessions
    assert harness.types()[:2] == ["READY", "GUILDLOG_CONNECT"]  # what the session reads still goes to emit
    assert "MESSAGE_CREATE" not in harness.types() and dispatches.waits == 1
    sent = [("MESSAGE_CREATE", b'{"id":"1","content":"caf\\u00e9"}'), ("MESSAGE_DELETE", b'{"id":"1"}')]
    for (session, shard, data, seq, at), (t, d) in zip(dispatches.taken, sent, strict=True):
        same = RelayEvent(t, None, at, seq, session, shard, "gateway", None, d)
        assert (session, shard) == (session_id, (2, 4)) and data == same.to_json()
    assert [seq for *_, seq, _ in dispatches.taken] == [2, 3]


def test_shard_session_identifies_with_token_intents_and_shard_when_nothing_is_saved() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS, shards=4)
        harness = Harness(discord, shard=(2, 4), intents=33283)
        harness.start()
        await live(discord, shard=2)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"}, shard=2)
        await discord.wait_for(lambda: "MESSAGE_CREATE" in harness.types())
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    [identify] = discord.identifies
    assert identify["token_ok"] and identify["intents"] == 33283 and identify["shard"] == [2, 4]
    assert identify["compress"] is False and identify["large_threshold"] == 250
    assert harness.types()[:3] == ["READY", "GUILDLOG_CONNECT", "MESSAGE_CREATE"]
    assert harness.events[2].raw_d == b'{"id":"1"}' and harness.events[2].shard == (2, 4)


def test_shard_session_beats_at_the_hello_interval_with_the_last_seq_when_the_connection_is_quiet() -> None:
    async def scenario() -> FakeDiscord:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord)
        harness.start()
        await live(discord)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"})
        await asyncio.sleep(600)
        await harness.stop()
        return discord

    discord = run_virtual(scenario)
    beats = [f for f in discord.client_frames() if f.op == 1]
    intervals = {round(b.at - a.at, 6) for a, b in zip(beats, beats[1:], strict=False)}
    assert intervals == {HEARTBEAT_MS / 1000}
    assert 600 / (HEARTBEAT_MS / 1000) - 2 <= len(beats) <= 600 / (HEARTBEAT_MS / 1000) + 1
    assert beats[-1].d == 2 and beats[0].at - discord.connections[0].frames[0].at < HEARTBEAT_MS / 1000


def test_shard_session_closes_with_4000_and_resumes_when_a_heartbeat_is_not_acknowledged() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord)
        harness.start()
        await live(discord)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"})
        discord.withhold_acks = True
        await discord.wait_for(lambda: discord.connections[0].client_close is not None, 3600)
        discord.withhold_acks = False
        await live(discord, after=1)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    first = discord.connections[0]
    beats = [f for f in first.frames if f.op == 1]
    assert first.client_close == 4000 and len(beats) >= 1
    # Closed at the beat after the unanswered one, not before.
    assert discord.resumes[0]["seq"] == 2 and harness.session.stats.zombies == 1
    assert "GUILDLOG_GAP" not in harness.types()


def test_shard_session_waits_1_to_5_s_and_identifies_again_recording_a_gap_when_op_9_says_not_resumable() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness, float, float]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord, backoff=Backoff(base=0.0))
        harness.start()
        await live(discord)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"})
        await discord.wait_for(lambda: harness.session.seq == 2)
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        await discord.send_op(9, False)
        await discord.wait_for(lambda: len(discord.identifies) == 2, 60)
        return discord, harness, sent_at, discord.connections[1].frames[0].at

    discord, harness, sent_at, identified_at = run_virtual(scenario)
    assert 1.0 <= identified_at - sent_at <= 5.0
    [gap] = harness.lost
    assert (gap.session_id, gap.last_seq, gap.reason) == (list(discord.sessions)[0], 2, "invalid_session")
    gap_event = next(e for e in harness.events if e.t == "GUILDLOG_GAP")
    assert gap_event.d["from_seq"] == 3 and gap_event.id == f"gap-0-{gap.session_id}-3"
    # The gap is reported when the new session starts, just before its READY.
    assert harness.types()[harness.types().index("GUILDLOG_GAP") + 1] == "READY"


def test_shard_session_resumes_the_saved_session_after_the_saved_seq_when_started_with_one() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness, str]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        first = Harness(discord)
        first.start()
        await live(discord)
        for n in range(5):
            await discord.dispatch("MESSAGE_CREATE", {"id": str(n)})
        await discord.wait_for(lambda: first.session.seq == 6)
        await first.stop()
        [session_id] = discord.sessions
        await discord.dispatch("MESSAGE_CREATE", {"id": "later"})  # seq 7, while nobody listens
        saved = ResumeState(
            session_id=session_id, resume_url=discord.resume_url, seq=4, since="2026-01-01T00:00:00.000Z"
        )
        second = Harness(discord, resume=saved)
        second.start()
        await discord.wait_for(lambda: "GUILDLOG_RESUME" in second.types(), 60)
        await second.stop()
        return discord, second, session_id

    discord, second, session_id = run_virtual(scenario)
    assert discord.resumes[-1] == {"session_id": session_id, "seq": 4, "path": discord.resumes[-1]["path"]}
    assert discord.resumes[-1]["path"].startswith("/resume?v=10&encoding=json&compress=zlib-stream")
    assert second.seqs(session_id) == [5, 6, 7, 8]  # replayed 5..7, then RESUMED (8)
    resume = next(e for e in second.events if e.t == "GUILDLOG_RESUME")
    assert resume.d == {"shard": [0, 1], "session_id": session_id, "from_seq": 4, "replayed": 3}
    assert len(discord.identifies) == 1


def test_shard_session_reports_the_saved_session_lost_from_the_held_seq_when_it_expired_meanwhile() -> None:
    async def scenario() -> tuple[Harness, str]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        first = Harness(discord)
        first.start()
        await live(discord)
        await discord.wait_for(lambda: first.session.seq == 1)
        await first.stop()
        [session_id] = discord.sessions
        discord.expire(session_id)
        saved = ResumeState(
            session_id=session_id, resume_url=discord.resume_url, seq=1, since="2026-01-01T00:00:00.000Z"
        )
        second = Harness(discord, resume=saved, tuning=Tuning(invalid_session_wait=(1.0, 1.0)))
        second.start()
        await discord.wait_for(lambda: "READY" in second.types(), 60)
        await second.stop()
        return second, session_id

    second, session_id = run_virtual(scenario)
    [gap] = second.lost
    assert (gap.session_id, gap.last_seq, gap.since, gap.reason) == (
        session_id,
        1,
        "2026-01-01T00:00:00.000Z",
        "session_expired",
    )
    gap_event = next(e for e in second.events if e.t == "GUILDLOG_GAP")
    assert gap_event.d["since"] == "2026-01-01T00:00:00.000Z" and gap_event.d["from_seq"] == 2


def test_shard_session_stops_with_fatal_and_the_portal_hint_when_discord_closes_with_4014() -> None:
    async def scenario() -> tuple[ShardExit, FakeDiscord]:
        discord = FakeDiscord(TOKEN, allowed_intents=1)
        harness = Harness(discord, intents=1 << 15)
        harness.start()
        assert harness.task is not None
        return await asyncio.wait_for(harness.task, 60), discord

    result, discord = run_virtual(scenario)
    assert result.fatal and result.code == 4014 and "Developer Portal" in result.message
    assert len(discord.connections) == 1  # no retry: it cannot help


def test_shard_session_skips_a_dispatch_already_held_when_discord_sends_a_seq_again() -> None:
    async def scenario() -> Harness:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord)
        harness.start()
        await live(discord)
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"})
        connection = discord.live()
        assert connection is not None
        await connection.send({"t": "MESSAGE_CREATE", "s": 2, "op": 0, "d": {"id": "again"}})
        await discord.dispatch("MESSAGE_CREATE", {"id": "3"})
        await discord.wait_for(lambda: harness.session.seq == 3)
        await harness.stop()
        return harness

    harness = run_virtual(scenario)
    assert [e.raw_d for e in harness.events if e.t == "MESSAGE_CREATE"] == [b'{"id":"1"}', b'{"id":"3"}']
    assert harness.session.stats.repeats_skipped == 1


def test_shard_session_resumes_without_losing_a_frame_when_the_zlib_stream_is_corrupt() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord)
        harness.start()
        await live(discord)
        connection = discord.live()
        assert connection is not None
        await connection.ws.send(zlib.compress(b"not the same stream") + b"\x00\x00\xff\xff")
        await discord.dispatch("MESSAGE_CREATE", {"id": "2"})
        await live(discord, after=1)
        await discord.wait_for(lambda: harness.session.seq >= 3)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    assert discord.connections[0].client_close == 4000 and len(discord.identifies) == 1
    assert 2 in harness.seqs(list(discord.sessions)[0])


# -- backoff, limits -----------------------------------------------------------------------------


def test_shard_session_backs_off_growing_and_resets_after_a_healthy_connection_when_connects_fail() -> None:
    attempts: list[float] = []

    async def scenario() -> Harness:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        connect = memory_connector(discord)
        failing = {"left": 6}

        async def flaky(url: str) -> Any:
            attempts.append(asyncio.get_running_loop().time())
            if failing["left"] > 0:
                failing["left"] -= 1
                raise OSError("connection refused")
            return await connect(url)

        harness = Harness(discord, backoff=Backoff(base=1.0, cap=16.0, rng=random.Random(3)))
        harness.session.connector = flaky
        harness.start()
        await live(discord)
        await asyncio.sleep(HEARTBEAT_MS / 1000 * 3)  # healthy for a while
        return harness

    harness = run_virtual(scenario)
    waits = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    ceilings = [1, 2, 4, 8, 16, 16]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert harness.backoff.failures == 0


def test_send_limiter_keeps_every_60_s_window_at_120_frames_or_fewer_when_connections_storm() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        discord.close_after_handshake = 4000  # every IDENTIFY/RESUME answered by a close: reconnect at once
        harness = Harness(discord, backoff=Backoff(base=0.0), identify_gate=IdentifyGate(interval=0.0))
        harness.start()
        await asyncio.sleep(600)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    times = sorted(f.at for f in discord.client_frames())
    busiest = max(sum(1 for t in times[i:] if t < start + SEND_WINDOW_S) for i, start in enumerate(times))
    assert SEND_LIMIT - 10 <= busiest <= SEND_LIMIT  # the storm does reach the limiter, and never passes it
    assert discord.rate_limited == 0 and harness.session.limiter.waits > 0


def test_send_limiter_leaves_room_for_heartbeats_when_ordinary_frames_use_up_their_share() -> None:
    async def scenario() -> tuple[list[str], float]:
        limiter = SendLimiter(limit=10, window=60.0, reserve=3)
        order: list[str] = []
        for _ in range(7):
            await limiter.acquire()
            order.append("frame")
        waiting = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(1)
        for _ in range(3):
            await limiter.acquire(priority=True)
            order.append("beat")
        await waiting
        order.append("frame")
        return order, asyncio.get_running_loop().time()

    order, finished = run_virtual(scenario)
    assert order == ["frame"] * 7 + ["beat"] * 3 + ["frame"]
    assert finished == pytest.approx(60.0)  # the eighth frame waited for the first to leave the window


def test_identify_gate_spaces_identifies_of_one_bucket_and_not_of_others_when_shards_start_together() -> None:
    async def scenario() -> dict[int, float]:
        gate = IdentifyGate(max_concurrency=2, interval=5.0)
        started: dict[int, float] = {}

        async def shard(shard_id: int) -> None:
            await gate.wait_turn(shard_id)
            started[shard_id] = asyncio.get_running_loop().time()

        await asyncio.gather(*(shard(i) for i in range(4)))
        return started

    started = run_virtual(scenario)
    assert started[0] == started[1] == 0.0 and started[2] == started[3] == 5.0


def test_shard_session_resumes_through_the_main_gateway_when_the_resume_url_keeps_failing() -> None:
    async def scenario() -> tuple[FakeDiscord, list[str]]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        connect = memory_connector(discord)
        tried: list[str] = []

        async def resume_host_down(url: str) -> Any:
            tried.append(url.split("?")[0])
            if "/resume" in url:
                raise OSError("no route to host")
            return await connect(url)

        harness = Harness(discord, backoff=Backoff(base=0.5, cap=1.0, rng=random.Random(4)))
        harness.session.connector = resume_host_down
        harness.start()
        await live(discord)
        await discord.close(4000)
        await live(discord, after=1)
        await harness.stop()
        return discord, tried

    discord, tried = run_virtual(scenario)
    assert tried == [discord.gateway_url] + [discord.resume_url] * 3 + [discord.gateway_url]
    assert len(discord.resumes) == 1 and len(discord.identifies) == 1
