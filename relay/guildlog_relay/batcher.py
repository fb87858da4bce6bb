"""Groups events into envelopes: flush at N events, a byte cap, when the session changes, or by age:
`flush_ms` after an urgent event (one the live moderation log posts, or the relay's own: gaps,
connects, resumes, disconnects) and `linger_ms` after the first routine one (a message created, a
reaction, typing, presence), whichever comes first. An urgent event takes every routine one buffered
before it along, in order. `linger_ms` 0 means `flush_ms` for every event.

With a linger the relay's heartbeat is routine too, and rides along with the gateway events of its
shard: it joins the batch being held instead of sealing it and going out alone, so a quiet server
does not pay a request a minute for it.

The batcher is pure (no I/O, no clock of its own): every call says what time it is. The live relay
passes the wall clock; a replay passes each frame's `received_at`, so the same recording always
gives the same batches and therefore the same batch ids.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from guildlog import __version__
from guildlog.models.envelope import BATCH_ID_PATTERN, MAX_EVENTS_PER_BATCH
from guildlog.services.modlog.kinds import POSTED_EVENT_TYPES
from guildlog_relay.events import HEARTBEAT, DispatchRun, RelayEvent, Shard, dumps, iso_text

DEFAULT_MAX_EVENTS = 500
DEFAULT_MAX_AGE_MS = 1000
# How long `guildlog relay` holds routine events by default (the class's default is 0: no holding).
DEFAULT_LINGER_MS = 60_000
# Gateway events sent on within flush_ms: what the moderation log posts, and the session's start
# (READY, RESUMED). The relay's own events (source "relay") are all urgent but the heartbeat, which
# with a linger waits with the routine ones.
URGENT_TYPES: frozenset[str] = POSTED_EVENT_TYPES | {"READY", "RESUMED"}
# The ingest refuses bodies over 6 MiB as sent (gzip) or 48 MiB inflated; 4 MB of events is far below
# both, and a bigger single event still goes out alone (see Batcher.add).
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
RELAY_NAME = "guildlog-relay"

_BATCH_ID = re.compile(BATCH_ID_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# A session id longer than this is replaced by a hash in batch ids, keeping them under 128 chars.
_MAX_SESSION_IN_ID = 64


@dataclass(frozen=True)
class Batch:
    """A sealed envelope: its id, who sent it and the events, each already serialized."""

    batch_id: str
    session_id: str | None
    shard: Shard | None
    events: tuple[bytes, ...]
    first_seq: int | None = None
    last_seq: int | None = None
    # True when the batch holds gateway dispatches, every one with its seq, and besides them at most
    # the relay's heartbeats: then (session, last_seq) can be checkpointed. The seqs and
    # last_received_at are the dispatches' alone.
    gateway: bool = True
    # received_at of the last gateway event (of the last event, in a batch without any; ISO-8601):
    # where a checkpoint at last_seq stands in time.
    last_received_at: str | None = None

    @property
    def size(self) -> int:
        return sum(len(e) for e in self.events)

    def body(self) -> bytes:
        """The envelope JSON exactly as it is spooled, signed and sent."""
        return envelope_body(self.batch_id, self.session_id, self.shard, self.events)


def envelope_body(batch_id: str, session_id: str | None, shard: Shard | None, events: tuple[bytes, ...]) -> bytes:
    relay = {
        "name": RELAY_NAME,
        "version": __version__,
        "shard": list(shard) if shard else None,
        "session_id": session_id,
    }
    head = dumps({"v": 1, "batch_id": batch_id, "relay": relay})
    # Splice the pre-serialized events in rather than decode and re-encode them.
    return b"".join((head[:-1], b',"events":[', b",".join(events), b"]}"))


def gateway_batch_id(
    session_id: str, shard: Shard | None, first_seq: int, last_seq: int, *, digest: str | None = None
) -> str:
    """`<session>-<shard>-<first seq>-<last seq>`: the same events always get the same id, so a
    re-run or a retry rewrites the same S3 objects instead of adding new ones. `digest` (of all the
    events) is appended when the batch is not exactly the gateway events first..last (a sequence
    number missing, or heartbeats among them), since then first and last alone do not say which
    events the batch holds."""
    candidate = f"{batch_id_prefix(session_id, shard)}{first_seq}-{last_seq}"
    if digest:
        candidate += f"-h{digest}"
    if _BATCH_ID.match(candidate):
        return candidate
    return "b" + hashlib.sha256(candidate.encode()).hexdigest()[:48]


def batch_id_prefix(session_id: str, shard: Shard | None) -> str:
    """What every gateway batch id of `session_id` on `shard` starts with (`<session>-<shard>-`)."""
    session = _UNSAFE.sub("_", session_id)
    if session != session_id or len(session) > _MAX_SESSION_IN_ID or not session[:1].isalnum():
        # Cleaning could make two sessions collide; a hash of the original cannot.
        session = "s" + hashlib.sha256(session_id.encode()).hexdigest()[:32]
    return f"{session}-{shard[0] if shard else 'x'}-"


def random_batch_id() -> str:
    """For batches without a gateway sequence: random, then persisted with the batch in the spool."""
    return f"relay-{uuid.uuid4().hex}"


def make_batch(
    session_id: str | None,
    shard: Shard | None,
    events: list[tuple[bytes, int | None]],
    gateway: bool,
    last_received_at: str | None = None,
) -> Batch:
    """A Batch from (serialized event, seq) pairs, with the id rule above. In a gateway batch an
    event without a seq is a heartbeat; a gateway batch of heartbeats alone is none."""
    return _make_batch(session_id, shard, [e for e, _ in events], [s for _, s in events], gateway, last_received_at)


def _make_batch(
    session_id: str | None,
    shard: Shard | None,
    events: list[bytes],
    seqs: list[int | None],
    gateway: bool,
    last_received_at: str | None,
) -> Batch:
    numbered = [s for s in seqs if s is not None]
    first, last = (min(numbered), max(numbered)) if numbered else (None, None)
    gateway = gateway and first is not None
    if gateway and session_id and first is not None and last is not None:
        exact = len(numbered) == len(events) and numbered == list(range(first, last + 1))
        digest = None if exact else hashlib.sha256(b"\n".join(events)).hexdigest()[:12]
        batch_id = gateway_batch_id(session_id, shard, first, last, digest=digest)
    else:
        batch_id = random_batch_id()
    return Batch(
        batch_id=batch_id,
        session_id=session_id,
        shard=shard,
        events=tuple(events),
        first_seq=first,
        last_seq=last,
        gateway=gateway,
        last_received_at=last_received_at,
    )


# What a buffer holds (_Buffer.kind): gateway events (and maybe heartbeats), heartbeats alone (with
# a linger), or the relay's other events (and maybe heartbeats).
_GATEWAY, _BEATS, _RELAY = "gateway", "beats", "relay"


class _Buffer:
    """The events of the batch being filled: one session and shard, and of one kind (see above)."""

    __slots__ = (
        "kind",
        "session_id",
        "shard",
        "started",
        "urgent_at",
        "events",
        "seqs",
        "size",
        "last_received",
        "last_gateway_received",
    )

    def __init__(self, kind: str, session_id: str | None, shard: Shard | None, started: float) -> None:
        self.kind = kind
        self.session_id = session_id
        self.shard = shard
        self.started = started
        self.urgent_at: float | None = None  # when the first urgent event was added (with a linger)
        self.events: list[bytes] = []
        self.seqs: list[int | None] = []
        self.size = 0
        self.last_received: datetime | None = None
        self.last_gateway_received: datetime | None = None

    def takes(self, kind: str, session_id: str | None, shard: Shard | None) -> bool:
        """Whether an event of `kind`, `session_id` and `shard` may join this batch."""
        if shard != self.shard:
            return False
        if kind == _BEATS:
            # A heartbeat joins held gateway events whatever their session.
            return self.kind != _RELAY or session_id == self.session_id
        if kind == _GATEWAY:
            return self.kind == _BEATS or (self.kind == _GATEWAY and session_id == self.session_id)
        return self.kind != _GATEWAY and session_id == self.session_id

    def become(self, kind: str, session_id: str | None) -> None:
        """A buffer of heartbeats alone takes the kind (and the session) of the first other event."""
        if self.kind == _BEATS and kind != _BEATS:
            self.kind = kind
            self.session_id = session_id


class Batcher:
    """Buffers events for one envelope at a time and seals it on the first limit reached.

    Gateway events and the relay's own events never share a batch (gateway batches get
    deterministic ids and are checkpointed), and neither do two sessions or two shards, except the
    heartbeat when there is a linger: it joins the batch held for its shard, gateway events of any
    session or heartbeats, or starts one that the next gateway event of the shard joins.

    `max_age_ms` is the flush of urgent events (`urgent_types`, and every relay event), `linger_ms`
    that of routine ones: 0, or at least `max_age_ms`.
    """

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        linger_ms: int = 0,
        urgent_types: frozenset[str] = URGENT_TYPES,
    ) -> None:
        if not 1 <= max_events <= MAX_EVENTS_PER_BATCH:
            raise ValueError(f"max_events must be between 1 and {MAX_EVENTS_PER_BATCH}")
        if max_age_ms < 0 or max_bytes < 1:
            raise ValueError("max_age_ms must be >= 0 and max_bytes >= 1")
        if linger_ms != 0 and linger_ms < max_age_ms:
            raise ValueError("linger_ms must be 0 or at least max_age_ms")
        self.max_events = max_events
        self.max_age = max_age_ms / 1000
        self.max_bytes = max_bytes
        self.linger = max(linger_ms, max_age_ms) / 1000
        # With no linger every event is urgent: no type needs looking at.
        self.urgent_types = urgent_types if linger_ms else None
        self._buffer: _Buffer | None = None

    def __len__(self) -> int:
        return len(self._buffer.events) if self._buffer else 0

    def add(self, event: RelayEvent, now: float) -> list[Batch]:
        """Buffer `event` (at time `now`, seconds); return the batches this sealed, oldest first."""
        return self.add_many((event,), now)

    def add_many(self, events: Iterable[RelayEvent | DispatchRun], now: float) -> list[Batch]:
        """`add` for several events in order, all at time `now`; a DispatchRun counts as its
        dispatches, one after the other, and seals the same batches they would as RelayEvents."""
        sealed: list[Batch] = []
        for event in events:
            if type(event) is DispatchRun:
                self._add_run(event, now, sealed)
            else:
                self._add(event.to_json(), event.t, event.seq, event.received_at, event, now, sealed)  # type: ignore[union-attr]
        return sealed

    def _add(
        self,
        data: bytes,
        t: str,
        seq: int | None,
        received_at: datetime,
        key: RelayEvent | DispatchRun,
        now: float,
        sealed: list[Batch],
    ) -> None:
        if type(key) is DispatchRun or key.source == "gateway":  # type: ignore[union-attr]
            kind = _GATEWAY
        elif t == HEARTBEAT and self.urgent_types is not None:
            kind = _BEATS
        else:
            kind = _RELAY
        buffer = self._buffer
        if buffer is not None and (
            not buffer.takes(kind, key.session_id, key.shard)
            or self._aged(buffer, now)
            or buffer.size + len(data) > self.max_bytes
        ):
            sealed.append(self._seal())
            buffer = None
        if buffer is None:
            buffer = self._buffer = _Buffer(kind, key.session_id, key.shard, now)
        else:
            buffer.become(kind, key.session_id)
        urgent = self.urgent_types
        if urgent is not None and buffer.urgent_at is None and (kind == _RELAY or (kind == _GATEWAY and t in urgent)):
            buffer.urgent_at = now
        buffer.events.append(data)
        buffer.seqs.append(None if kind == _BEATS else seq)
        buffer.size += len(data)
        buffer.last_received = received_at
        if kind == _GATEWAY:
            buffer.last_gateway_received = received_at
        # A single event over the byte cap still goes out, alone: the webhook's 413 decides its fate.
        if len(buffer.events) >= self.max_events or buffer.size >= self.max_bytes:
            sealed.append(self._seal())

    def _add_run(self, run: DispatchRun, now: float, sealed: list[Batch]) -> None:
        """The dispatches of `run`, as many at a time as fit in the buffered batch by count and by
        bytes (then each seals nothing before the last): the same batches as one by one."""
        events, seqs, received = run.events, run.seqs, run.received
        i, count = 0, len(events)
        while i < count:
            buffer = self._buffer
            if buffer is not None and (
                not buffer.takes(_GATEWAY, run.session_id, run.shard) or self._aged(buffer, now)
            ):
                sealed.append(self._seal())
                buffer = None
            if buffer is None:
                buffer = self._buffer = _Buffer(_GATEWAY, run.session_id, run.shard, now)
            else:
                buffer.become(_GATEWAY, run.session_id)
            end = min(count, i + self.max_events - len(buffer.events))
            part = events[i:end]
            size = sum(map(len, part))
            if buffer.size + size > self.max_bytes:
                # The byte cap falls inside: one at a time from here (`_add` never finds an empty buffer).
                if not buffer.events:
                    self._buffer = None
                for j in range(i, count):
                    self._add(events[j], run.types[j], seqs[j], received[j], run, now, sealed)
                return
            urgent = self.urgent_types
            if urgent is not None and buffer.urgent_at is None and not urgent.isdisjoint(run.types[i:end]):
                buffer.urgent_at = now
            buffer.events += part
            buffer.seqs += seqs[i:end]
            buffer.size += size
            buffer.last_received = buffer.last_gateway_received = received[end - 1]
            if len(buffer.events) >= self.max_events or buffer.size >= self.max_bytes:
                sealed.append(self._seal())
            i = end

    def _aged(self, buffer: _Buffer, now: float) -> bool:
        """Whether `buffer` is due by age at `now` (the linger of its first event, or flush_ms
        after its first urgent one)."""
        urgent_at = buffer.urgent_at
        return now - buffer.started >= self.linger or (urgent_at is not None and now - urgent_at >= self.max_age)

    def deadline(self) -> float | None:
        """When the buffered batch is due by age, or None when nothing is buffered."""
        buffer = self._buffer
        if buffer is None:
            return None
        if buffer.urgent_at is None:
            return buffer.started + self.linger
        return min(buffer.started + self.linger, buffer.urgent_at + self.max_age)

    def due(self, now: float) -> Batch | None:
        """The buffered batch if its deadline is reached at `now`."""
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            return self._seal()
        return None

    def flush(self) -> Batch | None:
        """Seal whatever is buffered (end of input, shutdown)."""
        return self._seal() if self._buffer else None

    def _seal(self) -> Batch:
        buffer = self._buffer
        assert buffer is not None
        self._buffer = None
        gateway = buffer.kind == _GATEWAY
        received = buffer.last_gateway_received if gateway else buffer.last_received
        last = iso_text(received) if received is not None else None
        return _make_batch(buffer.session_id, buffer.shard, buffer.events, buffer.seqs, gateway, last)
