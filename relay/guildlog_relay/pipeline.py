"""The forwarding pipeline: source events → batcher → spool → poster, in order, with checkpoints.

This is the synchronous core. `submit` only buffers and spools (never waits for the webhook);
`send_next` posts the oldest spooled batch and settles it (acknowledge, split, reject). A replay
drives both from one thread (`drain` after each sealed batch); the asyncio relay calls `send_next`
from a worker thread (see async_pipeline.py) so that receiving never waits for sending.
"""

from __future__ import annotations

import enum
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guildlog.errors import RelayError
from guildlog_relay.batcher import Batch, Batcher, make_batch
from guildlog_relay.events import RelayEvent, Shard
from guildlog_relay.poster import MAX_GZIP_LEVEL, Outcome, Poster, PostResult
from guildlog_relay.spool import LoadedBatch, Spool, SpoolCorruptError, SpoolEntry, last_received_at, split_body

log = logging.getLogger(__name__)


class DeliveryError(RelayError):
    """A batch could not be delivered and the run must stop and say why (exit non-zero)."""


@dataclass(frozen=True)
class Ack:
    """The webhook acknowledged every event of `session_id` on `shard` up to and including `seq`.

    Batches are sent strictly in order, so the live relay may checkpoint (session, seq) on each Ack.
    """

    session_id: str
    shard: Shard | None
    seq: int
    batch_id: str
    # received_at of the event at `seq`, when known: where the checkpoint stands in time.
    received_at: str | None = None


@dataclass(frozen=True)
class Dropped:
    """Events that will never reach the webhook and sit in rejected/ instead: the live relay reports
    them as a gap. `first_seq`/`last_seq` are None when they cannot be known (an unreadable file)."""

    batch_id: str
    reason: str
    session_id: str | None
    shard: Shard | None
    first_seq: int | None
    last_seq: int | None
    events: int
    event_type: str | None = None
    size: int | None = None
    kept_as: str | None = None
    received_at: str | None = None  # of the last event, when known


@dataclass
class RelayStats:
    """Counters a run prints (and the live relay exports as metrics)."""

    frames: int = 0
    dispatches: int = 0
    skipped: Counter[int] = field(default_factory=Counter)
    batches: int = 0
    recovered: int = 0
    acknowledged: int = 0
    splits: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    retries: int = 0
    rejected_batches: int = 0
    rejected_events: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "dispatches": self.dispatches,
            "skipped": sum(self.skipped.values()),
            "skipped_by_op": {str(op): n for op, n in sorted(self.skipped.items())},
            "batches": self.batches,
            "recovered": self.recovered,
            "acknowledged": self.acknowledged,
            "splits": self.splits,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "retries": self.retries,
            "rejected_batches": self.rejected_batches,
            "rejected_events": self.rejected_events,
        }


class Settled(enum.Enum):
    ACKNOWLEDGED = "acknowledged"
    SPLIT = "split"
    REJECTED = "rejected"  # moved to rejected/; the run carries on but cannot end in success
    FATAL = "fatal"  # moved to rejected/ (400/401) or kept (REFUSED): stop, the cause is not transient
    UNAVAILABLE = "unavailable"  # kept in the spool; retry later


@dataclass(frozen=True)
class SendResult:
    settled: Settled
    batch_id: str
    ack: Ack | None = None
    message: str = ""
    dropped: Dropped | None = None
    # An acknowledged batch whose file send_next(keep_delivered=True) left on disk.
    delivered: SpoolEntry | None = None


class Pipeline:
    """Batches, spools and sends. `on_ack` is called (by `drain`) after each acknowledged gateway batch."""

    def __init__(
        self,
        *,
        spool: Spool,
        poster: Poster,
        batcher: Batcher | None = None,
        on_ack: Callable[[Ack], None] | None = None,
        stats: RelayStats | None = None,
    ) -> None:
        self.spool = spool
        self.poster = poster
        self.batcher = batcher if batcher is not None else Batcher()
        self.on_ack = on_ack
        self.stats = stats or RelayStats()
        self.stats.recovered = len(spool)

    # -- receiving side: fast, never touches the network ---------------------------------------

    def submit(self, event: RelayEvent, now: float) -> list[SpoolEntry]:
        """Buffer `event`; spool the batches it sealed. Once this returns, the event is safe on
        disk or still buffered (`flush` spools the rest)."""
        return [self.spool_batch(batch) for batch in self.batcher.add(event, now)]

    def tick(self, now: float) -> SpoolEntry | None:
        """Spool the buffered batch if it is due by age at `now`."""
        batch = self.batcher.due(now)
        return self.spool_batch(batch) if batch else None

    def flush(self) -> SpoolEntry | None:
        batch = self.batcher.flush()
        return self.spool_batch(batch) if batch else None

    def spool_batch(self, batch: Batch) -> SpoolEntry:
        """Append a sealed batch to the spool (durably), as the poster will send it."""
        self.stats.batches += 1
        return self.spool.put(batch, self.poster.encode(batch.body()), gzipped=self.poster.compress)

    # -- sending side: blocking, one batch at a time, oldest first -----------------------------

    def send_next(self, *, keep_delivered: bool = False) -> SendResult | None:
        """Post the oldest spooled batch and settle it; None when the spool is empty.

        With `keep_delivered`, an acknowledged batch leaves the queue but its file stays on disk
        (`SendResult.delivered`) until the caller removes it (`Spool.remove`): the live relay does
        once the checkpoint that covers the batch is saved, so a crash in between leaves the batch
        on disk (the relay resumes after it, and sends it again, which the webhook recognises)
        rather than a checkpoint that lags behind what the webhook holds.
        """
        entry = self.spool.peek()
        if entry is None:
            return None
        try:
            loaded = self.spool.load(entry)
        except SpoolCorruptError as exc:
            kept = self.spool.reject(entry, {"reason": f"corrupt spool file: {exc.message}"})
            self.stats.rejected_batches += 1
            log.error("corrupt spool file moved to rejected/", extra={"file": entry.name})
            meta = entry.meta
            dropped = Dropped(
                batch_id=entry.batch_id,
                reason="unreadable_spool_file",
                session_id=meta.session_id if meta else None,
                shard=meta.shard if meta else None,
                first_seq=meta.first_seq if meta else None,
                last_seq=meta.last_seq if meta else None,
                events=meta.count if meta else 0,
                kept_as=kept.name,
            )
            return SendResult(
                Settled.REJECTED,
                entry.batch_id,
                message=f"corrupt spool file {entry.name}: {exc.message}",
                dropped=dropped,
            )
        if entry.gzipped == self.poster.compress:
            result = self.poster.send(entry.batch_id, loaded.data)  # the file is what is sent
        else:  # spooled by a run that compressed otherwise
            result = self.poster.post(entry.batch_id, loaded.body)
        self.stats.retries += result.retries
        if (
            result.outcome is Outcome.TOO_LARGE
            and loaded.meta.count == 1
            and self.poster.compress
            and self.poster.gzip_level < MAX_GZIP_LEVEL
        ):
            # One event, sent at the fast gzip level: the tightest level may still bring it under the cap.
            result = self.poster.post(entry.batch_id, loaded.body, gzip_level=MAX_GZIP_LEVEL)
            self.stats.retries += result.retries
        if result.outcome is Outcome.ACCEPTED:
            return self._acknowledged(loaded, result, keep_delivered)
        if result.outcome is Outcome.TOO_LARGE:
            return self._too_large(loaded, result)
        if result.outcome is Outcome.REJECTED:
            self._reject(loaded, result, result.detail)
            return SendResult(Settled.FATAL, entry.batch_id, message=rejection_message(result, self.poster.endpoint))
        if result.outcome is Outcome.REFUSED:
            return SendResult(Settled.FATAL, entry.batch_id, message=refusal_message(result, self.poster.endpoint))
        return SendResult(Settled.UNAVAILABLE, entry.batch_id, message=unavailable_message(result, self.poster))

    def _acknowledged(self, loaded: LoadedBatch, result: PostResult, keep: bool) -> SendResult:
        if keep:
            self.spool.deliver(loaded.entry)
        else:
            self.spool.remove(loaded.entry)
        answer = result.answer
        self.stats.acknowledged += 1
        self.stats.accepted += _count(answer, "accepted")
        self.stats.duplicates += _count(answer, "duplicates")
        self.stats.quarantined += _count(answer, "quarantined")
        if answer.get("batch_id") not in (None, loaded.entry.batch_id):
            log.warning("webhook answered for another batch_id", extra={"batch_id": loaded.entry.batch_id})
        return SendResult(
            Settled.ACKNOWLEDGED, loaded.entry.batch_id, ack=_ack(loaded), delivered=loaded.entry if keep else None
        )

    def _too_large(self, loaded: LoadedBatch, result: PostResult) -> SendResult:
        entry = loaded.entry
        events = split_body(loaded.body)
        meta = loaded.meta
        if len(events) < 2:
            kept = self._reject(
                loaded, result, f"413: a single event is larger than the webhook accepts ({result.detail})"
            )
            log.error("event too large for the webhook, moved to rejected/", extra={"batch_id": entry.batch_id})
            event_type = _event_type(events[0][0]) if events else None
            # Only Discord's events are reported: a relay event over the cap (it cannot be) would
            # otherwise report itself in a loop.
            dropped = (
                None
                if not meta.gateway
                else Dropped(
                    batch_id=entry.batch_id,
                    reason="too_large",
                    session_id=meta.session_id,
                    shard=meta.shard,
                    first_seq=meta.first_seq,
                    last_seq=meta.last_seq,
                    events=len(events),
                    event_type=event_type,
                    size=len(loaded.body),
                    kept_as=kept.name,
                    received_at=meta.last_received_at,
                )
            )
            # Nothing more can be done for it, so the checkpoint may move past it.
            return SendResult(
                Settled.REJECTED,
                entry.batch_id,
                ack=_ack(loaded),
                message=f"batch {entry.batch_id}: one event is too large for the webhook (413); kept in rejected/",
                dropped=dropped,
            )
        middle = len(events) // 2
        halves = [
            make_batch(meta.session_id, meta.shard, part, meta.gateway, last_received_at(part))
            for part in (events[:middle], events[middle:])
        ]
        payloads = [self.poster.encode(half.body()) for half in halves]
        self.spool.replace(entry, halves, payloads, gzipped=self.poster.compress)
        self.stats.splits += 1
        log.info("batch too large, split in two", extra={"batch_id": entry.batch_id, "events": len(events)})
        return SendResult(Settled.SPLIT, entry.batch_id)

    def _reject(self, loaded: LoadedBatch, result: PostResult, reason: str) -> Path:
        kept = self.spool.reject(loaded.entry, {"status": result.status, "reason": reason, "events": loaded.meta.count})
        self.stats.rejected_batches += 1
        self.stats.rejected_events += loaded.meta.count
        return kept

    def drain(self) -> list[str]:
        """Send every spooled batch, oldest first, calling `on_ack` as they are acknowledged.

        Returns the messages of batches moved to rejected/ along the way (the run goes on). Raises
        DeliveryError when a batch cannot be delivered now: it stays in the spool, or, for 400/401,
        is in rejected/; either way the caller must stop.
        """
        problems: list[str] = []
        while (result := self.send_next()) is not None:
            if result.ack is not None and self.on_ack is not None:
                self.on_ack(result.ack)
            if result.settled is Settled.REJECTED:
                problems.append(result.message)
            elif result.settled in (Settled.FATAL, Settled.UNAVAILABLE):
                raise DeliveryError(result.message, batch_id=result.batch_id, settled=result.settled.value)
        return problems


def _ack(loaded: LoadedBatch) -> Ack | None:
    meta = loaded.meta
    if not meta.gateway or meta.session_id is None or meta.last_seq is None:
        return None
    return Ack(
        session_id=meta.session_id,
        shard=meta.shard,
        seq=meta.last_seq,
        batch_id=loaded.entry.batch_id,
        received_at=meta.last_received_at,
    )


def _event_type(data: bytes) -> str | None:
    try:
        value = json.loads(data).get("t")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _count(answer: dict[str, Any], key: str) -> int:
    value = answer.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def rejection_message(result: PostResult, endpoint: str) -> str:
    """What a person needs to read after a 400 or 401."""
    said = f" (webhook said: {result.detail})" if result.detail else ""
    if result.status == 401:
        return (
            f"401 from {endpoint}: the signature was refused — the stack's RelayPublicKey does not match "
            f"--signing-key-file, or this host's clock is more than 300 s off{said}. The batch is in rejected/."
        )
    return f"400 from {endpoint}: the webhook refused the batch as malformed{said}. The batch is in rejected/."


def refusal_message(result: PostResult, endpoint: str) -> str:
    said = f" (webhook said: {result.detail})" if result.detail else ""
    hint = "is --endpoint the stack's /gateway/events URL?"
    return f"{result.status} from {endpoint}: not retried, {hint}{said}. The batch stays in the spool."


def unavailable_message(result: PostResult, poster: Poster) -> str:
    what = f"HTTP {result.status}" if result.status else result.detail
    return (
        f"the webhook at {poster.endpoint} did not take a batch after {result.retries} retries (last: {what}). "
        "It stays in the spool and is sent first next time."
    )
