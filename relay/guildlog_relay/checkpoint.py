"""Per-shard checkpoints: the session to resume, and a gap that is still to be reported.

`<state-dir>/shard-<id>/checkpoint.json` holds `(session_id, resume_gateway_url, seq)` where every
event of that session up to `seq` has been acknowledged by the webhook. It is written atomically
(tmp, fsync, rename) and only:

- when a new session starts (READY: seq 0, nothing to acknowledge yet),
- after the webhook acknowledged a batch of the current session (seq moves forward, never back),
- when the session is lost without a resume: the session is cleared and a *pending gap* records
  what was lost, until the gap event itself is safely in the spool,
- on shutdown, to keep the last contact time.

It never holds the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from guildlog.services.timefmt import iso, utcnow
from guildlog_relay.events import Shard, dumps
from guildlog_relay.pipeline import Ack
from guildlog_relay.spool import write_atomic

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.json"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class PendingGap:
    """A session lost without resume, not yet reported: everything of `session_id` after `last_seq`
    is missing, from `since` (the last moment the relay is known to hold everything) on."""

    session_id: str
    last_seq: int
    since: str
    reason: str
    detail: str | None = None
    # What the webhook had acknowledged of the session (seq, received_at of it), kept up to date
    # while its last batches drain: after a crash before the gap was reported, events up to
    # `last_seq` may have been only in memory, and this says how far the relay really got.
    acked_seq: int | None = None
    acked_at: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingGap:
        acked = data.get("acked_seq")
        return cls(
            session_id=str(data["session_id"]),
            last_seq=int(data["last_seq"]),
            since=str(data["since"]),
            reason=str(data["reason"]),
            detail=data.get("detail"),
            acked_seq=acked if isinstance(acked, int) else None,
            acked_at=data.get("acked_at"),
        )


@dataclass(frozen=True)
class Checkpoint:
    shard: Shard
    session_id: str | None = None
    resume_url: str | None = None
    seq: int = 0
    # received_at of the event at `seq` (ISO-8601), when known.
    received_at: str | None = None
    # The last frame received on the session's connection, as of the last save.
    last_contact: str | None = None
    saved_at: str | None = None
    gap: PendingGap | None = None

    @property
    def resumable(self) -> bool:
        return bool(self.session_id and self.resume_url)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "v": CHECKPOINT_VERSION,
            "shard": list(self.shard),
            "session_id": self.session_id,
            "resume_gateway_url": self.resume_url,
            "seq": self.seq,
            "received_at": self.received_at,
            "last_contact": self.last_contact,
            "saved_at": self.saved_at,
            "gap": asdict(self.gap) if self.gap else None,
        }
        return dumps(data) + b"\n"

    @classmethod
    def from_json(cls, text: bytes) -> Checkpoint:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CHECKPOINT_VERSION:
            raise ValueError("not a version 1 checkpoint")
        shard = data["shard"]
        if not (isinstance(shard, list) and len(shard) == 2 and all(isinstance(n, int) for n in shard)):
            raise ValueError("shard is not [id, count]")
        session = data.get("session_id")
        seq = data.get("seq", 0)
        if session is not None and not isinstance(session, str):
            raise ValueError("session_id is not a string")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("seq is not a non-negative integer")
        gap = data.get("gap")
        return cls(
            shard=(shard[0], shard[1]),
            session_id=session,
            resume_url=data.get("resume_gateway_url"),
            seq=seq,
            received_at=data.get("received_at"),
            last_contact=data.get("last_contact"),
            saved_at=data.get("saved_at"),
            gap=PendingGap.from_dict(gap) if isinstance(gap, dict) else None,
        )


class CheckpointStoreLike(Protocol):
    """Where one shard's checkpoint is kept: a file (CheckpointStore) or the stack's table
    (table_checkpoint.TableCheckpointStore)."""

    def load(self) -> Checkpoint | None: ...
    def save(self, checkpoint: Checkpoint) -> None: ...


class CheckpointStore:
    """The checkpoint file of one shard."""

    def __init__(self, shard_dir: Path | str) -> None:
        self.dir = Path(shard_dir)
        self.path = self.dir / CHECKPOINT_FILE

    def load(self) -> Checkpoint | None:
        """The saved checkpoint; None when there is none. An unreadable file is moved aside
        (`checkpoint.json.unreadable`) and reported as None: the relay then identifies afresh."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return Checkpoint.from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(CHECKPOINT_FILE + ".unreadable")
            os.replace(self.path, aside)
            log.error("unreadable checkpoint moved aside", extra={"file": str(aside), "error": str(exc)[:120]})
            return None

    def save(self, checkpoint: Checkpoint) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.path, checkpoint.to_json())


class Checkpointer:
    """The live checkpoint of one shard: every change is saved before the call returns.

    Calls come from several tasks (the forwarder, the pipeline's sender, the gateway session); a
    lock keeps saves in order, so an older state never overwrites a newer one.
    """

    def __init__(
        self,
        store: CheckpointStoreLike,
        shard: Shard,
        initial: Checkpoint | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.clock = clock
        self.state = initial if initial is not None else Checkpoint(shard=shard)
        self._lock = asyncio.Lock()
        self._last_contact: datetime | None = None
        self.saves = 0

    def contact(self, when: datetime) -> None:
        """Note a frame received (kept in memory; written with the next save)."""
        self._last_contact = when

    async def _save(self, state: Checkpoint) -> None:
        contact = iso(self._last_contact) if self._last_contact is not None else state.last_contact
        state = replace(state, last_contact=contact, saved_at=iso(self.clock()))
        await asyncio.to_thread(self.store.save, state)
        self.state = state
        self.saves += 1

    async def on_ready(self, session_id: str, resume_url: str | None) -> None:
        """A new session started: resumable from seq 0 until batches of it are acknowledged."""
        async with self._lock:
            if self.state.session_id == session_id:
                return
            await self._save(replace(self.state, session_id=session_id, resume_url=resume_url, seq=0, received_at=None))

    async def on_ack(self, ack: Ack) -> None:
        """The webhook acknowledged `ack.session_id` up to `ack.seq`: move the checkpoint forward."""
        async with self._lock:
            gap = self.state.gap
            if gap is not None and ack.session_id == gap.session_id and ack.seq > (gap.acked_seq or 0):
                # The lost session's last batches, draining before its gap is reported.
                gap = replace(gap, acked_seq=ack.seq, acked_at=ack.received_at)
                await self._save(replace(self.state, gap=gap))
                return
            if ack.session_id != self.state.session_id or ack.seq <= self.state.seq:
                return  # an older session's batch draining, or nothing new
            await self._save(replace(self.state, seq=ack.seq, received_at=ack.received_at))

    async def session_lost(self, gap: PendingGap) -> None:
        """The session cannot be resumed: forget it, remember the gap until it is reported."""
        async with self._lock:
            if self.state.session_id == gap.session_id:
                gap = replace(gap, acked_seq=self.state.seq, acked_at=self.state.received_at)
            await self._save(replace(self.state, session_id=None, resume_url=None, seq=0, received_at=None, gap=gap))

    async def gap_recorded(self, gap: PendingGap) -> None:
        """The gap event for `gap` is in the spool: it no longer needs the checkpoint."""
        async with self._lock:
            if self.state.gap is not None and (self.state.gap.session_id, self.state.gap.last_seq) == (
                gap.session_id,
                gap.last_seq,
            ):
                await self._save(replace(self.state, gap=None))

    async def save(self) -> None:
        """Write the current state again (on shutdown: the last contact time)."""
        async with self._lock:
            await self._save(self.state)
