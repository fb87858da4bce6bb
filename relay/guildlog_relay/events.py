"""What a source hands the pipeline: one event, and how it is written into an envelope.

Each event is serialized once: a RelayEvent when the batcher takes it, a live gateway dispatch as
it is received (DispatchEncoder, queued in a DispatchRun). The batcher needs the size for its byte
cap and the body is then a join of these bytes, so `d` is never re-encoded, and a dispatch's `d` is
the bytes Discord sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from guildlog.services.timefmt import iso

Shard = tuple[int, int]
# The relay's periodic sign of life (status.py makes it): with a linger it rides along with the
# gateway events held at the time instead of being sent on its own (batcher.py).
HEARTBEAT = "GUILDLOG_HEARTBEAT"
# A lone shard, as Discord numbers it when the bot is not sharded.
DEFAULT_SHARD: Shard = (0, 1)


@dataclass(slots=True)
class RelayEvent:
    """One event on its way to the ingest webhook (protocol v1 `events[]` item).

    Gateway events are identified by (session_id, seq); the relay's own events (`source="relay"`,
    e.g. `GUILDLOG_GAP`) carry an explicit deterministic `id` instead, so a retry or a re-run maps
    to the same event id at ingest.

    Treat an event as immutable once made. (It is not a frozen dataclass because the live gateway
    makes one per dispatch, and a frozen one costs three times as much to build.)
    """

    t: str
    d: Any
    received_at: datetime
    seq: int | None = None
    session_id: str | None = None
    shard: Shard | None = DEFAULT_SHARD
    source: Literal["gateway", "relay"] = "gateway"
    id: str | None = None
    # `d` exactly as the bytes Discord sent, when the source has them (the live gateway): the
    # envelope then carries those bytes instead of re-encoding `d`, which is both faster and
    # more faithful. Must be the JSON text of `d`.
    raw_d: bytes | None = None

    def __post_init__(self) -> None:
        if self.source == "gateway" and (self.seq is None or not self.session_id):
            raise ValueError("a gateway event needs its session_id and seq")
        if self.source != "gateway" and not self.id:
            raise ValueError("a relay event needs an explicit id")

    def received_iso(self) -> str:
        return iso_text(self.received_at)

    def to_json(self) -> bytes:
        """The compact JSON of this event as it appears in the envelope."""
        if self.raw_d is not None and self.source == "gateway":
            return DispatchEncoder.of(self.session_id, self.shard)(self.t, self.seq, self.received_at, self.raw_d)
        item: dict[str, Any] = {"t": self.t}
        if self.source == "gateway":
            item["seq"] = self.seq
        else:
            item["id"] = self.id
            if self.seq is not None:
                item["seq"] = self.seq
        item["received_at"] = iso(self.received_at)
        item["source"] = self.source
        if self.session_id is not None or self.source == "gateway":
            item["session_id"] = self.session_id
        if self.shard is not None or self.source == "gateway":
            item["shard"] = list(self.shard) if self.shard is not None else None
        item["d"] = self.d
        return dumps(item)


class DispatchEncoder:
    """Writes gateway dispatches of one (session, shard) carried as Discord's bytes into their
    envelope JSON: the same keys in the same order as `RelayEvent.to_json` writes for any event,
    spliced around `d` as Discord sent it. What stays the same -- the type's head, the session's
    tail, the received_at of one millisecond -- is encoded once."""

    __slots__ = ("session_id", "shard", "_tail", "_stamp")

    def __init__(self, session_id: str | None, shard: Shard | None) -> None:
        self.session_id = session_id
        self.shard = shard
        self._tail = _session_tail(session_id, shard)
        # The last received_at written and its text, as one tuple: replaced whole, never torn.
        self._stamp: tuple[datetime | None, bytes] = (None, b"")

    @classmethod
    def of(cls, session_id: str | None, shard: Shard | None) -> DispatchEncoder:
        """The encoder of (session_id, shard): the last one made, when it is the same pair."""
        global _last_encoder
        encoder = _last_encoder
        if encoder is None or encoder.session_id != session_id or encoder.shard != shard:
            encoder = _last_encoder = cls(session_id, shard)
        return encoder

    def __call__(self, t: str, seq: int | None, received_at: datetime, raw_d: bytes) -> bytes:
        head = _type_heads.get(t) or _type_head(t)
        stamp = self._stamp
        if stamp[0] is not received_at:
            # The live gateway stamps every event of one millisecond with the same datetime object.
            stamp = self._stamp = (received_at, iso_text(received_at).encode())
        # Only sequenced dispatches take this path: Discord numbers every op 0 frame.
        return b'%b%d,"received_at":"%b%b%b}' % (head, seq, stamp[1], self._tail, raw_d)  # type: ignore[str-format]


_last_encoder: DispatchEncoder | None = None


class DispatchRun:
    """Gateway dispatches of one session and shard in a row, each in its envelope JSON already
    (`DispatchEncoder`): what the live gateway queues instead of a RelayEvent per dispatch. The
    batcher takes a run as it would take the same dispatches as RelayEvents, to the byte."""

    __slots__ = ("session_id", "shard", "events", "types", "seqs", "received")

    def __init__(self, session_id: str, shard: Shard | None) -> None:
        self.session_id = session_id
        self.shard = shard
        self.events: list[bytes] = []
        self.types: list[str] = []  # each dispatch's `t`: the batcher holds routine ones longer
        self.seqs: list[int] = []
        self.received: list[datetime] = []

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        first, last = (self.seqs[0], self.seqs[-1]) if self.seqs else (None, None)
        return f"DispatchRun(session_id={self.session_id!r}, shard={self.shard}, seqs={first}..{last})"

    def add(self, data: bytes, t: str, seq: int, received_at: datetime) -> None:
        self.events.append(data)
        self.types.append(t)
        self.seqs.append(seq)
        self.received.append(received_at)


def relay_event(
    t: str,
    d: Any,
    *,
    event_id: str,
    received_at: datetime,
    shard: Shard | None = DEFAULT_SHARD,
    session_id: str | None = None,
) -> RelayEvent:
    """An event the relay itself emits (a gap, a connect, a resume): `source="relay"` with `event_id`.

    The id must be derived from what the event describes (shard, session, sequence range), never
    from the clock, so that sending it again is recognised as a duplicate.
    """
    return RelayEvent(
        t=t, d=d, received_at=received_at, shard=shard, session_id=session_id, source="relay", id=event_id
    )


def iso_text(value: datetime) -> str:
    """timefmt.iso, by the C isoformat for the common case (a UTC time after year 999)."""
    if value.tzinfo is UTC and value.year >= 1000:
        return value.isoformat(timespec="milliseconds")[:23] + "Z"
    return iso(value)


# `{"t":"<type>","seq":` by type; Discord has about 80 types, the relay's own a few more.
_type_heads: dict[str, bytes] = {}


def _type_head(t: str) -> bytes:
    head = _type_heads.get(t)
    if head is None:
        if len(_type_heads) >= 1024:
            _type_heads.clear()
        head = _type_heads[t] = b'{"t":' + dumps(t) + b',"seq":'
    return head


@lru_cache(maxsize=64)
def _session_tail(session_id: str | None, shard: Shard | None) -> bytes:
    """What follows received_at in a gateway event, up to d: the same for a whole session."""
    shard_json = dumps(list(shard) if shard is not None else None)
    return b'","source":"gateway","session_id":' + dumps(session_id) + b',"shard":' + shard_json + b',"d":'


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; `\\u` escapes only where UTF-8 cannot carry a character (lone surrogates)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Discord's JSON may escape a lone surrogate; json.loads accepts it, UTF-8 cannot hold it.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
