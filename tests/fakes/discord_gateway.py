"""A fake Discord for relay tests: REST `GET /api/v10/gateway/bot` and a Gateway websocket speaking
zlib-stream, on 127.0.0.1 only, on one port (websockets' `process_request` answers the REST call).

It keeps sessions the way Discord does, as far as the relay can tell: IDENTIFY starts a session
(READY is seq 1), every event `dispatch`ed to a shard gets the next seq of that shard's current
session and is sent at once if the session has a connection, RESUME replays what came after the
given seq then sends RESUMED, an expired session answers RESUME with op 9 false. Events dispatched
while a shard has no live session are appended to its last session, where they are lost exactly
like the events Discord sends to a session nobody resumes: `sessions` then says, per session, the
seqs that existed, which is what the tests' coverage invariant checks the archive against.

Faults the tests inject: closing the connection with any code, op 7, op 9 true/false, withholding
heartbeat ACKs (zombie), expiring sessions, splitting every payload across several websocket
messages, and Discord's own send limit (more than 120 frames in 60 s closes with 4008).

Everything runs in one asyncio loop (`async with FakeDiscord(...)`); `FakeDiscordThread` runs it
in a background thread for tests that drive subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import selectors
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


def _now() -> float:
    """The running loop's clock: real time on a normal loop, virtual time on VirtualClockLoop."""
    return asyncio.get_running_loop().time()


SEND_LIMIT, SEND_WINDOW_S = 120, 60.0
ALL_INTENTS = (1 << 25) - 1
GUILD_MEMBERS_INTENT = 1 << 1


@dataclass
class FakeSession:
    session_id: str
    shard: tuple[int, int]
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)  # (seq, payload JSON)
    resumable: bool = True
    connection: FakeConnection | None = None
    types: dict[int, str] = field(default_factory=dict)  # seq -> t
    intents: int = 0  # what its IDENTIFY asked for


@dataclass
class ClientFrame:
    at: float  # _now()
    op: int
    d: Any


class FakeConnection:
    """One websocket the relay opened."""

    def __init__(self, discord: FakeDiscord, ws: Any, path: str) -> None:
        self.discord = discord
        self.ws = ws
        self.path = path
        self.frames: list[ClientFrame] = []
        self.session: FakeSession | None = None
        self.shard: tuple[int, int] | None = None
        self.ready = False  # READY or RESUMED sent: dispatches flow
        self.client_close: int | None = None
        self.server_close: int | None = None
        self._compressor = zlib.compressobj()
        self._lock = asyncio.Lock()
        self._sent_window: deque[float] = deque()

    async def send(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            data = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            try:
                for part in _split(data, self.discord.split_frames):
                    await self.ws.send(part)
            except Exception:  # the relay hung up; what was not sent stays in the session log
                return

    async def close(self, code: int, reason: str = "") -> None:
        self.server_close = code
        with contextlib.suppress(Exception):  # already gone: nothing to close
            await self.ws.close(code, reason)


def _split(data: bytes, parts: int) -> list[bytes]:
    """`data` in `parts` pieces; the last piece is 2 bytes, so the flush marker itself is split."""
    if parts <= 1 or len(data) < 8:
        return [data]
    head, tail = data[:-2], data[-2:]
    step = max(1, len(head) // (parts - 1))
    pieces = [head[i : i + step] for i in range(0, len(head), step)]
    return [*pieces, tail]


class FakeDiscord:
    """Use as `async with FakeDiscord(token) as discord:`; `discord.api_base` for --api-base."""

    def __init__(
        self,
        token: str,
        *,
        heartbeat_interval_ms: int = 200,
        shards: int = 1,
        max_concurrency: int = 1,
        allowed_intents: int = ALL_INTENTS,
        split_frames: int = 0,
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shards = shards
        self.max_concurrency = max_concurrency
        self.allowed_intents = allowed_intents
        self.split_frames = split_frames  # send each payload in this many websocket messages (0/1: one)
        self.withhold_acks = False
        # Close every connection with this code right after its IDENTIFY or RESUME (a reconnect storm).
        self.close_after_handshake: int | None = None
        self.sessions: dict[str, FakeSession] = {}
        self.current: dict[int, FakeSession] = {}  # shard id -> its newest session
        self.connections: list[FakeConnection] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.rest_calls: list[str | None] = []  # the Authorization header of each /gateway/bot call
        self.rate_limited = 0  # connections closed with 4008
        # Request Guild Members (op 8): each request's `d`, and the members answered per guild id.
        self.member_requests: list[dict[str, Any]] = []
        self.guild_members: dict[str, list[dict[str, Any]]] = {}
        self._server: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.changed = asyncio.Event()

    # -- lifecycle

    async def __aenter__(self) -> FakeDiscord:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._rest,
            compression=None,
            max_size=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for connection in list(self.connections):
            if connection.server_close is None and connection.client_close is None:
                await connection.close(1001, "fake discord stopping")
        self._server.close()
        await self._server.wait_closed()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    # -- what the tests do

    async def dispatch(self, t: str, d: Any, *, shard: int = 0) -> tuple[str, int]:
        """Discord emits `t`: it gets the next seq of the shard's session (sent now if connected)."""
        session = self.current.get(shard)
        if session is None:
            raise AssertionError(f"shard {shard} never had a session")
        session.seq += 1
        seq = session.seq
        payload = json.dumps({"t": t, "s": seq, "op": 0, "d": d}, separators=(",", ":"))
        session.log.append((seq, payload))
        session.types[seq] = t
        connection = session.connection
        if connection is not None and connection.ready and session.resumable:
            await connection.send(payload)
        self._changed()
        return session.session_id, seq

    def live(self, shard: int = 0) -> FakeConnection | None:
        session = self.current.get(shard)
        return session.connection if session and session.connection and session.connection.ready else None

    async def close(self, code: int, *, shard: int = 0, reason: str = "") -> None:
        """Close the shard's live connection with `code`, as Discord would."""
        connection = self._connection_of(shard)
        await connection.close(code, reason or f"fake close {code}")

    async def send_op(self, op: int, d: Any = None, *, shard: int = 0) -> None:
        """Send a non-dispatch payload (op 7 reconnect, op 9 invalid session, op 1 heartbeat request)."""
        connection = self._connection_of(shard)
        if op == 9 and d is False and connection.session is not None:
            connection.session.resumable = False
        await connection.send({"op": op, "d": d, "s": None, "t": None})

    def expire(self, session_id: str) -> None:
        """The session can no longer be resumed (Discord's resume window passed)."""
        self.sessions[session_id].resumable = False

    def client_frames(self, shard: int | None = None) -> list[ClientFrame]:
        return [
            f for c in self.connections if shard is None or c.shard is None or c.shard[0] == shard for f in c.frames
        ]

    def seqs(self) -> dict[str, int]:
        """Per session, the last seq it assigned: the archive must cover 1..N of each (or a gap)."""
        return {sid: s.seq for sid, s in self.sessions.items()}

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = _now() + timeout
        while not predicate():
            if _now() > deadline:
                raise AssertionError("fake discord: condition not reached in time")
            await asyncio.sleep(0.01)

    # -- internals

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def _connection_of(self, shard: int) -> FakeConnection:
        for connection in reversed(self.connections):
            if connection.shard is not None and connection.shard[0] == shard and connection.client_close is None:
                return connection
        raise AssertionError(f"shard {shard} has no open connection")

    def _rest(self, connection: Any, request: Any) -> Any:
        if not request.path.startswith("/api/"):
            return None
        auth = request.headers.get("Authorization")
        self.rest_calls.append(auth)
        if request.path.split("?")[0] != "/api/v10/gateway/bot":
            return connection.respond(HTTPStatus.NOT_FOUND, '{"message": "404: Not Found", "code": 0}')
        if auth != f"Bot {self.token}":
            response = connection.respond(HTTPStatus.UNAUTHORIZED, '{"message": "401: Unauthorized", "code": 0}')
            response.headers["Content-Type"] = "application/json"
            return response
        body = {
            "url": self.gateway_url,
            "shards": self.shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": self.max_concurrency,
            },
        }
        response = connection.respond(HTTPStatus.OK, json.dumps(body))
        response.headers["Content-Type"] = "application/json"
        return response

    async def _handler(self, ws: Any) -> None:
        connection = FakeConnection(self, ws, ws.request.path)
        self.connections.append(connection)
        query = parse_qs(urlsplit(ws.request.path).query)
        try:
            if (
                query.get("v") != ["10"]
                or query.get("encoding") != ["json"]
                or query.get("compress") != ["zlib-stream"]
            ):
                await connection.close(4012, "the fake wants v=10, json, zlib-stream")
                return
            await connection.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            )
            while True:
                try:
                    message = await ws.recv()
                except Exception:
                    connection.client_close = ws.close_code if ws.close_code is not None else 1006
                    return
                frame = json.loads(message)
                connection.frames.append(ClientFrame(_now(), frame.get("op"), frame.get("d")))
                self._changed()
                if self._over_limit(connection):
                    self.rate_limited += 1
                    await connection.close(4008, "rate limited")
                    return
                await self._on_frame(connection, frame)
        finally:
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            self._changed()

    def _over_limit(self, connection: FakeConnection) -> bool:
        now = _now()
        window = connection._sent_window
        window.append(now)
        while window and window[0] <= now - SEND_WINDOW_S:
            window.popleft()
        return len(window) > SEND_LIMIT

    async def _on_frame(self, connection: FakeConnection, frame: dict[str, Any]) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            if not self.withhold_acks:
                await connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(connection, d or {})
        elif op == 6:
            await self._resume(connection, d or {})
        elif op == 8:
            await self._request_members(connection, d or {})
        if op in (2, 6) and self.close_after_handshake is not None:
            await connection.close(self.close_after_handshake, "storm")

    async def _request_members(self, connection: FakeConnection, d: dict[str, Any]) -> None:
        """Discord's answer to op 8: the guild's members in GUILD_MEMBERS_CHUNKs of up to 1,000;
        without the GUILD_MEMBERS intent a request for all of them is refused (close 4013)."""
        self.member_requests.append(d)
        self._changed()
        if connection.session is None or connection.shard is None:
            return
        if not connection.session.intents & GUILD_MEMBERS_INTENT and d.get("limit") == 0:
            await connection.close(4013, "Invalid intent(s).")
            return
        guild_id = str(d.get("guild_id"))
        members = self.guild_members.get(guild_id, [])
        chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, chunk in enumerate(chunks):
            data = {"guild_id": guild_id, "members": chunk, "chunk_index": index, "chunk_count": len(chunks)}
            await self.dispatch("GUILD_MEMBERS_CHUNK", data, shard=connection.shard[0])

    async def _identify(self, connection: FakeConnection, d: dict[str, Any]) -> None:
        self.identifies.append(
            {k: v for k, v in d.items() if k != "token"} | {"token_ok": d.get("token") == self.token}
        )
        if d.get("token") != self.token:
            await connection.close(4004, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int):
            await connection.close(4013, "Invalid intent(s).")
            return
        if intents & ~self.allowed_intents:
            await connection.close(4014, "Disallowed intent(s).")
            return
        shard = d.get("shard") or [0, 1]
        if shard[1] != self.shards or not 0 <= shard[0] < shard[1]:
            await connection.close(4010, "Invalid shard.")
            return
        shard_t = (shard[0], shard[1])
        previous = self.current.get(shard_t[0])
        if previous is not None:
            previous.resumable = False  # a new session replaces the shard's old one
        session = FakeSession(session_id=uuid.uuid4().hex, shard=shard_t, connection=connection, intents=intents)
        self.sessions[session.session_id] = session
        self.current[shard_t[0]] = session
        connection.session, connection.shard = session, shard_t
        ready = {
            "v": 10,
            "user": {"id": "900000000000000900", "username": "guildlog-test-bot", "bot": True},
            "guilds": [{"id": "900000000000000001", "unavailable": True}],
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_url,
            "shard": list(shard_t),
            "application": {"id": "900000000000000900", "flags": 0},
        }
        session.seq += 1
        payload = json.dumps({"t": "READY", "s": session.seq, "op": 0, "d": ready}, separators=(",", ":"))
        session.log.append((session.seq, payload))
        session.types[session.seq] = "READY"
        await connection.send(payload)
        connection.ready = True
        self._changed()

    async def _resume(self, connection: FakeConnection, d: dict[str, Any]) -> None:
        self.resumes.append({"session_id": d.get("session_id"), "seq": d.get("seq"), "path": connection.path})
        if d.get("token") != self.token:
            await connection.close(4004, "Authentication failed.")
            return
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or not session.resumable:
            await connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        seq = d.get("seq") or 0
        if seq > session.seq:
            await connection.close(4007, "Invalid seq.")
            return
        if session.connection is not None and session.connection is not connection:
            old = session.connection
            session.connection = None
            await old.close(4000, "resumed elsewhere")
        session.connection = connection
        connection.session, connection.shard = session, session.shard
        for number, payload in session.log:
            if number > seq:
                await connection.send(payload)
        # RESUMED takes the next seq, as a dispatch.
        session.seq += 1
        resumed = json.dumps({"t": "RESUMED", "s": session.seq, "op": 0, "d": {}}, separators=(",", ":"))
        session.log.append((session.seq, resumed))
        session.types[session.seq] = "RESUMED"
        await connection.send(resumed)
        connection.ready = True
        self._changed()


class FakeDiscordThread:
    """A FakeDiscord in a background thread with its own loop, for tests that drive subprocesses.

    `call(fn)` runs `await fn(discord)` (or `fn(discord)`) in the fake's loop and returns the result.
    """

    def __init__(self, token: str, **options: Any) -> None:
        self._token = token
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-discord", daemon=True)
        self.discord: FakeDiscord | None = None

    def __enter__(self) -> FakeDiscordThread:
        self._thread.start()
        self.discord = self.call(lambda _: self._start())
        return self

    async def _start(self) -> FakeDiscord:
        discord = FakeDiscord(self._token, **self._options)
        return await discord.__aenter__()

    def __exit__(self, *exc_info: object) -> None:
        if self.discord is not None:
            self.call(lambda d: d.__aexit__(None, None, None))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def call(self, fn: Callable[[Any], Any], timeout: float = 60.0) -> Any:
        async def run() -> Any:
            value = fn(self.discord)
            if isinstance(value, Coroutine):
                value = await value
            return value

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)


class MemorySocket:
    """One end of an in-memory websocket: the client end is a `shard.Connection`, the server end
    looks like a websockets server connection to FakeDiscord's handler."""

    def __init__(self, path: str) -> None:
        self.request = type("Request", (), {"path": path})()
        self.close_code: int | None = None
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.peer: MemorySocket | None = None
        self.transport = self  # `transport.abort()` drops the connection without a close frame

    async def recv(self) -> Any:
        item = await self.inbox.get()
        if isinstance(item, _Closed):
            self.inbox.put_nowait(item)  # every later recv sees the close too
            from guildlog_relay.shard import GatewayClosed

            raise GatewayClosed(item.code, item.reason)
        return item

    async def send(self, data: Any) -> None:
        if self.close_code is not None:
            from guildlog_relay.shard import GatewayClosed

            raise GatewayClosed(self.close_code, "closed")
        assert self.peer is not None
        self.peer.inbox.put_nowait(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._closed(code, reason)

    def abort(self) -> None:
        self._closed(None, "")

    def _closed(self, code: int | None, reason: str) -> None:
        assert self.peer is not None
        for end in (self, self.peer):
            if end.close_code is None:
                end.close_code = code if code is not None else 1006
                end.inbox.put_nowait(_Closed(code, reason))


@dataclass(frozen=True)
class _Closed:
    code: int | None
    reason: str


def memory_connector(discord: FakeDiscord) -> Callable[[str], Coroutine[Any, Any, MemorySocket]]:
    """A `shard.Connector` that connects to `discord` in memory (no sockets): for VirtualClockLoop."""

    async def connect(url: str) -> MemorySocket:
        parts = urlsplit(url)
        client, server = MemorySocket(parts.path + "?" + parts.query), MemorySocket(parts.path + "?" + parts.query)
        client.peer, server.peer = server, client
        task = asyncio.get_running_loop().create_task(discord._handler(server))
        discord._tasks.add(task)
        task.add_done_callback(discord._tasks.discard)
        return client

    return connect


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it, so a test can
    run an hour of heartbeats, backoffs and rate-limit windows in milliseconds.

    Only for code that waits on timers and on in-memory queues: a loop with nothing scheduled
    blocks on real I/O as usual (work handed to threads still completes, in real time).
    """

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_VirtualSelector(self))

    def time(self) -> float:
        return self._virtual_now


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            return ready if ready or timeout is not None else super().select(None)
        self._loop._virtual_now += timeout
        return []
