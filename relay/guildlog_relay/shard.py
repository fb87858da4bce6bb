"""One shard's gateway session: connect, HELLO, heartbeat, IDENTIFY or RESUME, read dispatches,
and decide after every disconnect whether to resume, identify again (recording a gap) or stop.

The session owns no storage and no HTTP: dispatches and the relay's own events go to `emit` (the
shard's bounded queue to the pipeline, in order), a lost session goes to `on_lost` (the
checkpoint, before anything else happens), frames received to `on_contact`. The websocket comes
from `connector`, so tests run the whole state machine against an in-memory gateway. All waiting
is `asyncio.sleep` on the running loop's clock.

Sequence numbers: `seq` is the last one *received*, and every event up to it is already in the
queue; in-process resumes continue from it. Across restarts the relay resumes from what is safe
on disk (checkpoint or spool), which the caller passes in as `ResumeState`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import platform
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from guildlog.errors import RelayError
from guildlog.models.envelope import EVENT_TYPE_PATTERN
from guildlog.services.timefmt import iso, utcnow
from guildlog_relay import status
from guildlog_relay.backoff import Backoff
from guildlog_relay.checkpoint import PendingGap
from guildlog_relay.events import DispatchEncoder, RelayEvent, Shard
from guildlog_relay.inflate import InflateError, ZlibStream
from guildlog_relay.members import MemberRequests, member_request
from guildlog_relay.metrics import ShardStats
from guildlog_relay.protocol import (
    FINAL_CLOSE,
    INVALID_SESSION_WAIT_S,
    LARGE_THRESHOLD,
    RESUMABLE_CLOSE,
    CloseAction,
    Op,
    close_policy,
    gateway_url,
)
from guildlog_relay.ratelimit import IdentifyGate, SendLimiter

log = logging.getLogger(__name__)

# Discord sends HELLO at once; a connection silent for this long is not a gateway.
HELLO_TIMEOUT_S = 20.0
# Opening the websocket (TCP, TLS, upgrade) may take this long before it counts as a failure.
CONNECT_TIMEOUT_S = 30.0
# Failed connections in a row to resume_gateway_url before resuming through the main gateway URL:
# the session lives on Discord's side, not on that host.
RESUME_URL_ATTEMPTS = 3
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_MAX_GOOD_TYPES = 512
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_EVENT_CHARS = re.compile(r"[^A-Z0-9_]")


class GatewayClosed(RelayError):
    """The connection is closed; `code` is the close code received (None: no close frame)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"gateway closed ({code}): {reason}"[:300], code=code)
        self.code = code
        self.reason = reason


class GatewayConnectError(RelayError):
    """The websocket could not be opened (DNS, TCP, TLS, HTTP upgrade)."""


class Connection(Protocol):
    """A gateway websocket: text or binary messages in, text out."""

    async def recv(self) -> bytes | str: ...  # raises GatewayClosed
    async def send(self, text: str) -> None: ...  # raises GatewayClosed
    async def close(self, code: int, reason: str) -> None: ...


Connector = Callable[[str], Awaitable[Connection]]


class DispatchQueue(Protocol):
    """Takes dispatches already in their envelope JSON (live.EventQueue)."""

    def put_dispatch(
        self, session_id: str, shard: Shard, data: bytes, t: str, seq: int, received_at: datetime
    ) -> bool: ...
    async def room(self) -> None: ...


class FrameError(RelayError):
    """A payload that is not a gateway frame."""


class Frame(NamedTuple):
    op: int
    t: str | None
    s: int | None
    d: Any  # parsed, except for ordinary dispatches (see raw_d)
    raw_d: bytes | None  # the exact bytes of `d` for dispatches


_DECODER = json.JSONDecoder(parse_constant=lambda name: _no_constant(name))
_WS = re.compile(r"[ \t\n\r]*")
# Dispatches whose `d` the session itself reads; for all others `d` is only carried.
_READ_D = frozenset({"READY", "RESUMED"})
_DISPATCH = int(Op.DISPATCH)
_new_tuple = tuple.__new__


def _no_constant(name: str) -> Any:
    raise FrameError(f"{name} is not JSON")


# How Discord writes a dispatch: `{"t":"TYPE","s":N,"op":0,"d":{…}}`. When a payload starts like
# this and ends with `}`, the bytes between are `d` if `d` is the last key, which is how Discord
# writes it; the `{` is the start of `d`, always an object for a dispatch.
_DISPATCH_HEAD = re.compile(rb'\{"t":"([A-Z0-9_]{1,64})","s":(\d{1,18}),"op":0,"d":\{')
# Dispatch types a connection remembers as well-formed (Discord has about 80).
_MAX_KNOWN_TYPES = 512


def parse_frame(data: bytes | str) -> Frame:
    """Split a payload into its top-level fields, keeping dispatch data as the bytes Discord sent.

    The whole payload is parsed, so anything that is not JSON raises FrameError. Dispatches in
    Discord's own key order take a shortcut: `d` is sliced out and parsed once to prove it is one
    JSON value. Anything else is scanned key by key with the standard decoder, so `d` is still
    decoded once (to find where it ends) and copied out, never re-encoded.
    """
    if isinstance(data, bytes) and data.endswith(b"}"):
        head = _DISPATCH_HEAD.match(data)
        if head is not None:
            raw_d = data[head.end() - 1 : -1]
            try:
                d = _DECODER.decode(raw_d.decode("utf-8"))
            except (ValueError, FrameError):
                pass  # not one JSON value after all: the general path says what is wrong
            else:
                t = head[1].decode("ascii")
                return Frame(_DISPATCH, t, int(head[2]), d if t in _READ_D else None, raw_d)
    return _parse_frame_slowly(data)


class FrameReader:
    """One connection's messages in, frames out: its zlib stream, and the dispatch types it has seen
    well-formed.

    Parsing a dispatch's `d` only to learn that it is JSON costs more than everything else the
    relay does with an event, and the ingest validates every envelope anyway; so `d` is carried
    unparsed once its frame's shape is known. The first dispatch of each type on a connection is
    parsed in full (`parse_frame`); if `d` was the last key there, as Discord writes it, later
    dispatches of that type in the same key order (`_DISPATCH_HEAD`) are sliced without parsing.
    Everything else -- other key orders, whitespace, a `d` that is not an object, a type whose
    first frame had keys after `d`, READY and RESUMED (the session reads their `d`), text
    messages -- is parsed in full every time.
    """

    __slots__ = ("_stream", "_known")

    def __init__(self) -> None:
        self._stream = ZlibStream()
        self._known: dict[bytes, str] = {}

    def feed(self, message: bytes | str) -> Frame | None:
        """The frame `message` completes, or None while the payload is still incomplete.

        Raises InflateError (a broken stream) or FrameError (a payload that is not a frame).
        """
        if isinstance(message, str):
            return parse_frame(message)  # an uncompressed text message
        payload = self._stream.feed(message)
        if payload is None:
            return None
        # The first lines of parse(), inlined: this is the path of nearly every frame.
        if payload.endswith(b"}}"):
            head = _DISPATCH_HEAD.match(payload)
            if head is not None:
                t = self._known.get(head[1])
                if t is not None:
                    return _new_tuple(Frame, (_DISPATCH, t, int(head[2]), None, payload[head.end() - 1 : -1]))
        return self.parse(payload)

    def parse(self, payload: bytes) -> Frame:
        """One complete payload as a frame (see the class docstring for when `d` is not parsed)."""
        if payload.endswith(b"}}"):
            head = _DISPATCH_HEAD.match(payload)
            if head is not None:
                name = head[1]
                t = self._known.get(name)
                raw_d = payload[head.end() - 1 : -1]
                if t is not None:
                    # tuple.__new__ rather than Frame(…): half the cost, once per event.
                    return _new_tuple(Frame, (_DISPATCH, t, int(head[2]), None, raw_d))
                frame = parse_frame(payload)
                if frame.raw_d == raw_d and frame.t not in _READ_D and len(self._known) < _MAX_KNOWN_TYPES:
                    self._known[name] = name.decode("ascii")
                return frame
        return parse_frame(payload)


def _parse_frame_slowly(data: bytes | str) -> Frame:
    scan = json.decoder.scanstring  # type: ignore[attr-defined]  # present at run time, absent from typeshed
    fields: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        i = _WS.match(text, 0).end()  # type: ignore[union-attr]
        if text[i : i + 1] != "{":
            raise FrameError("payload is not a JSON object")
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        if text[i : i + 1] == "}":
            i += 1
        else:
            while True:
                if text[i : i + 1] != '"':
                    raise FrameError("expected a key")
                key, i = scan(text, i + 1)
                i = _WS.match(text, i).end()  # type: ignore[union-attr]
                if text[i : i + 1] != ":":
                    raise FrameError("expected ':'")
                i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
                value, end = _DECODER.raw_decode(text, i)
                fields[key] = value
                spans[key] = (i, end)
                i = _WS.match(text, end).end()  # type: ignore[union-attr]
                sep = text[i : i + 1]
                i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
                if sep == "}":
                    break
                if sep != ",":
                    raise FrameError("expected ',' or '}'")
        if text[i:].strip():
            raise FrameError("data after the payload")
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise FrameError(f"payload is not JSON: {exc}") from None
    op = fields.get("op")
    if not isinstance(op, int) or isinstance(op, bool):
        raise FrameError("payload has no integer op")
    t = fields.get("t")
    s = fields.get("s")
    raw_d = None
    if op == Op.DISPATCH and "d" in spans:
        start, end = spans["d"]
        raw_d = text[start:end].encode("utf-8")
    return Frame(op, t if isinstance(t, str) else None, s if _is_seq(s) else None, fields.get("d"), raw_d)


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class ResumeState:
    """Where a shard starts: a saved session to resume (or none) and a gap still to report."""

    session_id: str | None = None
    resume_url: str | None = None
    seq: int = 0
    # The last moment up to which the relay holds every event of the session (ISO-8601).
    since: str | None = None
    pending_gap: PendingGap | None = None


@dataclass(frozen=True)
class Tuning:
    """Waits that follow Discord's rules in production and shrink in tests against a fake."""

    invalid_session_wait: tuple[float, float] = INVALID_SESSION_WAIT_S
    hello_timeout: float = HELLO_TIMEOUT_S
    connect_timeout: float = CONNECT_TIMEOUT_S


@dataclass(frozen=True)
class End:
    """How one connection ended and what comes next."""

    code: int | None
    reason: str
    action: CloseAction | None  # None: stop (shutdown)
    immediate: bool = False  # reconnect without backoff (Discord asked: op 7)
    wait_invalid_session: bool = False  # wait Discord's 1-5 s first (op 9)
    lost: str | None = None  # the session is gone: this gap reason

    @property
    def next_step(self) -> str:
        if self.action is None:
            return "stop"
        return self.action.value


@dataclass(frozen=True)
class ShardExit:
    """Why `ShardSession.run` returned: stopped, or a fatal close with a message for a person."""

    fatal: bool
    code: int | None = None
    message: str = ""


class ShardSession:
    """The gateway connection of one shard, reconnecting until `stop()` or a fatal close."""

    def __init__(
        self,
        shard: Shard,
        *,
        token: str,
        intents: int,
        gateway: str,
        connector: Connector,
        emit: Callable[[RelayEvent], Awaitable[None]],
        dispatches: DispatchQueue | None = None,
        on_lost: Callable[[PendingGap], Awaitable[None]] | None = None,
        on_contact: Callable[[datetime], None] | None = None,
        limiter: SendLimiter | None = None,
        identify_gate: IdentifyGate | None = None,
        backoff: Backoff | None = None,
        resume: ResumeState | None = None,
        tuning: Tuning | None = None,
        stats: ShardStats | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.shard = shard
        self._token = token
        self.intents = intents
        self.gateway = gateway
        self.connector = connector
        self.emit = emit
        # Where the dispatches go, already in their envelope JSON, when given (the live relay's
        # queue); otherwise they are emitted as RelayEvents like everything else.
        self.dispatches = dispatches
        self._encoder: DispatchEncoder | None = None
        self.on_lost = on_lost
        self.on_contact = on_contact
        self.limiter = limiter or SendLimiter()
        self.identify_gate = identify_gate or IdentifyGate()
        self.backoff = backoff or Backoff()
        self.tuning = tuning or Tuning()
        self.stats = stats or ShardStats()
        self.wall_clock = wall_clock
        self.rng = rng or random.Random()
        self.events = status.StatusEvents(shard)
        self.member_requests = MemberRequests(intents)
        self._member_task: asyncio.Task[None] | None = None
        start = resume or ResumeState()
        self.session_id = start.session_id
        self.resume_url = start.resume_url
        self.seq = start.seq
        self.pending_gap = start.pending_gap
        self._since_at: datetime | None = None
        self._since_text = start.since  # from the checkpoint or the spool, until a frame arrives
        self._restored = start.session_id is not None  # resuming a session saved by an earlier run
        self._stop = asyncio.Event()
        self._ws: Connection | None = None
        self._end: End | None = None  # set when we close the connection ourselves
        self._established = False
        self._acked = True
        self._beat_sent_at: float | None = None
        self._connected_at = 0.0
        self._interval = 0.0
        self._resumed_from: int | None = None
        self._replayed = 0
        self._failed_connects = 0  # in a row
        self._good_types: set[str] = set()  # dispatch types known to match EVENT_TYPE_PATTERN
        # The real clock is read through time.time(), by the millisecond (see _now).
        self._coarse_clock = wall_clock is utcnow
        self._now_ms = 0
        self._now_at = _EPOCH

    def __repr__(self) -> str:  # never the token
        return f"ShardSession(shard={list(self.shard)}, session_id={self.session_id!r}, seq={self.seq})"

    @property
    def connected(self) -> bool:
        return self.stats.connected

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop reading: close the connection with a resumable code (Discord keeps the session)."""
        self._stop.set()
        ws = self._ws
        if ws is not None and self._end is None:
            self._end = End(RESUMABLE_CLOSE, "shutdown", None)
            asyncio.ensure_future(self._close(ws, RESUMABLE_CLOSE, "guildlog relay shutting down"))

    async def run(self) -> ShardExit:
        """Connect and reconnect until stopped (returns fatal=False) or a fatal close (fatal=True)."""
        while not self._stop.is_set():
            end = await self._connection()
            self.stats.connected = False
            self.stats.disconnects[str(end.code) if end.code is not None else "none"] += 1
            log_fields = {"shard": self.shard[0], "code": end.code, "reason": end.reason, "next": end.next_step}
            if end.action is CloseAction.FATAL:
                log.error("gateway closed for good", extra=log_fields)
            elif end.action is not None:
                log.warning("gateway disconnected", extra=log_fields)
            await self.emit(
                self.events.disconnect(
                    self.wall_clock(), self.session_id, self.seq or None, end.code, end.reason, end.next_step
                )
            )
            if end.action is CloseAction.FATAL:
                return ShardExit(fatal=True, code=end.code, message=end.reason)
            if end.lost and self.session_id is not None:
                await self._lose(end.lost, end.reason)
            if end.action is None or self._stop.is_set():
                break
            delay = 0.0 if end.immediate else self.backoff.next()
            if end.wait_invalid_session:
                low, high = self.tuning.invalid_session_wait
                delay = max(delay, self.rng.uniform(low, high))
            self.stats.reconnects += 1
            if delay > 0 and not await self._sleep(delay):
                break
        return ShardExit(fatal=False)

    async def _sleep(self, delay: float) -> bool:
        """Sleep `delay` seconds; False if stopped meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), delay)
        except TimeoutError:
            return True
        return False

    async def _until_stopped(self, awaitable: Awaitable[Any]) -> tuple[bool, Any]:
        """Await `awaitable` unless stop() comes first: (finished, result)."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False, None

    async def _lose(self, reason: str, detail: str) -> None:
        """The session cannot be resumed: remember the gap (checkpoint first), start afresh."""
        assert self.session_id is not None
        gap = PendingGap(
            session_id=self.session_id,
            last_seq=self.seq,
            since=iso(self._since_at) if self._since_at else self._since_text or iso(self.wall_clock()),
            reason=reason,
            detail=detail[:200],
        )
        if self.pending_gap is not None and self.pending_gap != gap:
            # An earlier loss not reported yet (no session started since): report it now, so the
            # checkpoint only ever has to keep one.
            await self._report_gap(self.wall_clock())
        log.warning(
            "session lost; a gap will be recorded",
            extra={"shard": self.shard[0], "session_id": gap.session_id, "last_seq": gap.last_seq, "reason": reason},
        )
        self.pending_gap = gap
        if self.on_lost is not None:
            await self.on_lost(gap)
        self.session_id = None
        self.resume_url = None
        self.seq = 0
        self._since_at = None
        self._since_text = None
        self._restored = False

    async def _report_gap(self, until: datetime) -> None:
        gap = self.pending_gap
        if gap is None:
            return
        self.pending_gap = None
        self.stats.gaps[gap.reason] += 1
        await self.emit(self.events.gap(gap, until))

    # -- one connection ------------------------------------------------------------------------

    async def _connection(self) -> End:
        resuming = self.session_id is not None
        use_resume_url = resuming and self.resume_url and self._failed_connects < RESUME_URL_ATTEMPTS
        url = self.resume_url if use_resume_url and self.resume_url else self.gateway
        self._end = None
        self._established = False
        try:
            finished, ws = await self._until_stopped(
                asyncio.wait_for(self.connector(gateway_url(url)), self.tuning.connect_timeout)
            )
        except (GatewayConnectError, TimeoutError, OSError) as exc:
            self.stats.connect_failures += 1
            self._failed_connects += 1
            reason = exc.message if isinstance(exc, GatewayConnectError) else f"{type(exc).__name__}: {exc}"
            return End(None, f"could not connect: {reason}"[:200], CloseAction.RESUME)
        if not finished:
            return End(None, "shutdown before connecting", None)
        self.stats.connects += 1
        self._failed_connects = 0
        self._ws = ws
        self._acked = True
        self._beat_sent_at = None
        self._connected_at = asyncio.get_running_loop().time()
        heartbeat: asyncio.Task[None] | None = None
        reader = FrameReader()
        try:
            if self._stop.is_set():
                self._end = End(RESUMABLE_CLOSE, "shutdown", None)
                await self._close(ws, RESUMABLE_CLOSE, "guildlog relay shutting down")
                return self._end
            hello = await asyncio.wait_for(self._recv(ws, reader), self.tuning.hello_timeout)
            if hello.op != Op.HELLO or not isinstance(hello.d, dict):
                return await self._own_close(
                    ws, End(RESUMABLE_CLOSE, "first payload was not HELLO", CloseAction.RESUME)
                )
            self._interval = float(hello.d.get("heartbeat_interval", 41250)) / 1000
            heartbeat = asyncio.create_task(self._heartbeat(ws, self._interval))
            if resuming:
                await self._send_resume(ws)
            else:
                finished, _ = await self._until_stopped(self.identify_gate.wait_turn(self.shard[0]))
                if not finished:
                    return self._end or End(RESUMABLE_CLOSE, "shutdown", None)
                await self._send_identify(ws)
            return await self._read(ws, reader)
        except GatewayClosed as closed:
            if self._end is not None:
                return self._end
            policy = close_policy(closed.code)
            reason = policy.meaning if closed.code in (None, 1006) or not closed.reason else closed.reason
            if policy.action is CloseAction.FATAL:
                reason = policy.meaning
            lost = None
            if policy.action is CloseAction.REIDENTIFY:
                lost = status.INVALID_SEQ if closed.code == 4007 else status.SESSION_TIMED_OUT
            return End(closed.code, reason[:200], policy.action, lost=lost)
        except TimeoutError:
            return await self._own_close(ws, End(RESUMABLE_CLOSE, "no HELLO from the gateway", CloseAction.RESUME))
        except (InflateError, FrameError) as exc:
            log.error("unreadable payload from the gateway", extra={"shard": self.shard[0], "error": exc.message[:120]})
            return await self._own_close(
                ws, End(RESUMABLE_CLOSE, f"unreadable payload: {exc.message}"[:200], CloseAction.RESUME)
            )
        finally:
            self._ws = None
            self.stats.connected = False
            for task in (heartbeat, self._member_task):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            self._member_task = None

    async def _own_close(self, ws: Connection, end: End) -> End:
        if self._end is not None:
            return self._end
        self._end = end
        await self._close(ws, end.code or RESUMABLE_CLOSE, end.reason)
        return end

    async def _close(self, ws: Connection, code: int, reason: str) -> None:
        try:
            await ws.close(code, reason[:120])
        except Exception as exc:  # the connection may already be gone; closing is best effort
            log.debug("close failed", extra={"shard": self.shard[0], "error": type(exc).__name__})

    async def _recv(self, ws: Connection, reader: FrameReader) -> Frame:
        while True:
            frame = reader.feed(await ws.recv())
            if frame is not None:
                self.stats.frames_received += 1
                return frame

    async def _read(self, ws: Connection, reader: FrameReader) -> End:
        """Read frames until one ends the connection. This is the relay's hot loop: an ordinary
        dispatch goes from the websocket into its envelope JSON and onto `dispatches` (or `emit`)
        without another coroutine in between."""
        recv, feed, stats, queue = ws.recv, reader.feed, self.stats, self.dispatches
        while True:
            frame = feed(await recv())
            if frame is None:
                continue
            stats.frames_received += 1
            if frame.op != _DISPATCH or frame.t in _READ_D:
                end = await self._handle(ws, frame)
                if end is not None:
                    return end
                continue
            accepted = self._accept(frame)
            if accepted is None:
                continue
            t, seq, now = accepted
            raw_d = frame.raw_d
            if t == "GUILD_CREATE" and self.member_requests.enabled:
                self.member_requests.note_guild_create(raw_d if raw_d is not None else frame.d)
            if queue is None or raw_d is None:
                await self.emit(self._relay_event(frame, t, seq, now))
                continue
            session_id, shard = self.session_id, self.shard
            assert session_id is not None  # _accept saw to it
            encoder = self._encoder
            if encoder is None or encoder.session_id != session_id:
                encoder = self._encoder = DispatchEncoder(session_id, shard)
            data = encoder(t, seq, now, raw_d)
            while not queue.put_dispatch(session_id, shard, data, t, seq, now):
                await queue.room()

    async def _send(self, ws: Connection, payload: dict[str, Any], *, priority: bool = False) -> None:
        await self.limiter.acquire(priority=priority)
        await ws.send(json.dumps(payload, separators=(",", ":")))
        self.stats.frames_sent += 1

    async def _send_identify(self, ws: Connection) -> None:
        self.stats.identifies += 1
        self.seq = 0
        log.info("identifying", extra={"shard": self.shard[0], "intents": self.intents})
        await self._send(
            ws,
            {
                "op": Op.IDENTIFY,
                "d": {
                    "token": self._token,
                    "intents": self.intents,
                    "properties": {
                        "os": platform.system().lower() or "linux",
                        "browser": "guildlog",
                        "device": "guildlog",
                    },
                    "shard": list(self.shard),
                    "large_threshold": LARGE_THRESHOLD,
                    "compress": False,  # the transport is compressed (zlib-stream); both at once is refused
                },
            },
        )

    async def _send_resume(self, ws: Connection) -> None:
        assert self.session_id is not None
        self._resumed_from = self.seq
        self._replayed = 0
        log.info("resuming", extra={"shard": self.shard[0], "session_id": self.session_id, "seq": self.seq})
        await self._send(
            ws, {"op": Op.RESUME, "d": {"token": self._token, "session_id": self.session_id, "seq": self.seq}}
        )

    async def _request_members(self, ws: Connection) -> None:
        """Send Request Guild Members for each guild its GUILD_CREATE listed in part, as the send
        limiter allows; a request the connection could not take waits for the next one."""
        requests = self.member_requests
        while True:
            guild_id = await requests.next()
            sent = False
            try:
                await self._send(ws, member_request(guild_id))
                sent = True
            except GatewayClosed:
                return  # the reader sees the close and decides what comes next
            finally:
                if not sent:
                    requests.put_back(guild_id)
            self.stats.member_requests += 1
            log.debug("requested members", extra={"shard": self.shard[0], "guild_id": guild_id})

    async def _heartbeat(self, ws: Connection, interval: float) -> None:
        # The first beat at a random point of the interval, so that many shards do not beat in step.
        await asyncio.sleep(interval * self.rng.random())
        while True:
            if not self._acked:
                self.stats.zombies += 1
                log.warning("zombie connection: no heartbeat ACK; reconnecting", extra={"shard": self.shard[0]})
                await self._own_close(
                    ws,
                    End(
                        RESUMABLE_CLOSE,
                        "zombie connection: the last heartbeat was not acknowledged",
                        CloseAction.RESUME,
                    ),
                )
                return
            self._acked = False
            await self._beat(ws)
            await asyncio.sleep(interval)

    async def _beat(self, ws: Connection) -> None:
        self._beat_sent_at = asyncio.get_running_loop().time()
        # A closed connection is the reader's to notice and decide about.
        with contextlib.suppress(GatewayClosed):
            await self._send(ws, {"op": Op.HEARTBEAT, "d": self.seq or None}, priority=True)

    def _contact(self, now: datetime | None = None) -> None:
        """A frame of the session arrived: everything up to now is held."""
        self._since_at = now or self.wall_clock()
        if self.on_contact is not None:
            self.on_contact(self._since_at)

    # -- payloads ------------------------------------------------------------------------------

    async def _handle(self, ws: Connection, frame: Frame) -> End | None:
        op = frame.op
        if op == Op.DISPATCH:
            await self._dispatch(frame)
            return None
        if op == Op.HEARTBEAT_ACK:
            self._acked = True
            loop_now = asyncio.get_running_loop().time()
            if self._beat_sent_at is not None:
                self.stats.heartbeat_latency_s = loop_now - self._beat_sent_at
            if self._established:
                self._contact()
                if loop_now - self._connected_at >= self._interval:
                    self.backoff.reset()  # this connection proved healthy
            return None
        if op == Op.HEARTBEAT:
            await self._beat(ws)
            return None
        if op == Op.RECONNECT:
            return await self._own_close(
                ws, End(RESUMABLE_CLOSE, "Discord asked to reconnect (op 7)", CloseAction.RESUME, immediate=True)
            )
        if op == Op.INVALID_SESSION:
            self.stats.invalid_sessions += 1
            if frame.d is True and self.session_id is not None:
                return await self._own_close(
                    ws,
                    End(
                        RESUMABLE_CLOSE,
                        "invalid session (op 9), resumable",
                        CloseAction.RESUME,
                        wait_invalid_session=True,
                    ),
                )
            if self.session_id is None:
                # An IDENTIFY refused (too many at once): nothing was lost, identify again after the wait.
                return await self._own_close(
                    ws,
                    End(
                        FINAL_CLOSE,
                        "invalid session (op 9) before a session started",
                        CloseAction.REIDENTIFY,
                        wait_invalid_session=True,
                    ),
                )
            reason = (
                status.SESSION_EXPIRED
                if self._resumed_from is not None and not self._established
                else status.INVALID_SESSION
            )
            return await self._own_close(
                ws,
                End(
                    FINAL_CLOSE,
                    "invalid session (op 9), not resumable",
                    CloseAction.REIDENTIFY,
                    wait_invalid_session=True,
                    lost=reason,
                ),
            )
        return None  # HELLO again, or an op this relay does not use

    async def _dispatch(self, frame: Frame) -> None:
        """READY and RESUMED (the other dispatches take `_event` straight from `_read`)."""
        t = frame.t or ""
        now = self._now()
        if t == "READY":
            self._ready(frame)
            if self.pending_gap is not None:
                await self._report_gap(now)
        event = self._event(frame, now)
        if event is not None:
            await self.emit(event)
        if self.session_id is not None and self._member_task is None and self.member_requests.enabled:
            ws = self._ws
            if ws is not None:  # requests are sent only on an established session
                self._member_task = asyncio.create_task(self._request_members(ws), name=f"members-{self.shard[0]}")
        if t == "READY" and self.session_id is not None:
            guilds = frame.d.get("guilds") if isinstance(frame.d, dict) else None
            await self.emit(
                self.events.connect(now, self.session_id, len(guilds) if isinstance(guilds, list) else None)
            )
        elif t == "RESUMED" and self.session_id is not None:
            self._established = True
            self.stats.connected = True
            self.stats.session_id = self.session_id
            self.stats.resumes += 1
            self._restored = False
            if self.pending_gap is not None:
                await self._report_gap(now)
            log.info(
                "resumed", extra={"shard": self.shard[0], "session_id": self.session_id, "replayed": self._replayed}
            )
            await self.emit(self.events.resume(now, self.session_id, self._resumed_from or 0, self._replayed))
            self._resumed_from = None

    def _event(self, frame: Frame, now: datetime | None = None) -> RelayEvent | None:
        """The event to forward for a dispatch, or None when it is not forwarded."""
        accepted = self._accept(frame, now)
        return self._relay_event(frame, *accepted) if accepted is not None else None

    def _accept(self, frame: Frame, now: datetime | None = None) -> tuple[str, int, datetime] | None:
        """Whether a dispatch is forwarded: (its type, renamed if need be; seq; received_at), with
        the session's seq and counters moved on; or None (no seq or session, or already held)."""
        t = frame.t or ""
        seq = frame.s
        if seq is None or self.session_id is None:
            log.error(
                "dispatch without a sequence number or session; not forwarded",
                extra={"shard": self.shard[0], "t": t[:64]},
            )
            return None
        if t != "READY" and seq <= self.seq:
            self.stats.repeats_skipped += 1  # already held (Discord replayed it): forwarding adds nothing
            return None
        if t not in self._good_types:
            if not _EVENT_TYPE.match(t):
                log.warning("dispatch type outside A-Z, 0-9, _; forwarded renamed", extra={"shard": self.shard[0]})
                t = (_NOT_EVENT_CHARS.sub("_", t.upper()) or "UNNAMED")[:64]
            elif len(self._good_types) < _MAX_GOOD_TYPES:
                self._good_types.add(t)
        if now is None:
            if self._coarse_clock:  # self._now(), inlined: this runs for every event
                ms = int(time.time() * 1000)
                if ms != self._now_ms:
                    self._now_ms = ms
                    self._now_at = _EPOCH + timedelta(milliseconds=ms)
                now = self._now_at
            else:
                now = self.wall_clock()
        if now is not self._since_at:  # the same millisecond as the last event: already noted
            self._contact(now)
        self.seq = seq
        stats = self.stats
        stats.seq = seq
        stats.events[t] += 1
        if self._resumed_from is not None and not self._established and t != "RESUMED":
            self._replayed += 1
        return t, seq, now

    def _relay_event(self, frame: Frame, t: str, seq: int, now: datetime) -> RelayEvent:
        return RelayEvent(
            t,
            # Only READY's and RESUMED's `d` is kept parsed; the others travel as Discord's bytes.
            frame.d if t in _READ_D else None,
            now,
            seq,
            self.session_id,
            self.shard,
            "gateway",
            None,
            frame.raw_d if frame.raw_d is not None else b"null",
        )

    def _now(self) -> datetime:
        """The wall clock for `received_at`, to the millisecond. With the real clock, events received
        within the same millisecond share one datetime object (see events._iso_bytes)."""
        if not self._coarse_clock:
            return self.wall_clock()
        ms = int(time.time() * 1000)
        if ms != self._now_ms:
            self._now_ms = ms
            self._now_at = _EPOCH + timedelta(milliseconds=ms)
        return self._now_at

    def _ready(self, frame: Frame) -> None:
        d = frame.d if isinstance(frame.d, dict) else {}
        session = d.get("session_id")
        if not isinstance(session, str) or not session:
            raise FrameError("READY without a session_id")
        url = d.get("resume_gateway_url")
        self.session_id = session
        self.resume_url = url if isinstance(url, str) and url else None
        self.member_requests.reset()  # the new session's GUILD_CREATEs come again
        self.seq = 0
        self._since_at = None
        self._since_text = None
        self._restored = False
        self._resumed_from = None
        self._established = True
        self.stats.connected = True
        self.stats.session_id = session
        log.info("session started", extra={"shard": self.shard[0], "session_id": session})
