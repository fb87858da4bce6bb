"""The pipeline for an asyncio relay (the live gateway): receiving never waits for the webhook.

`submit` buffers in the event loop and writes sealed batches to the spool in a worker thread; a
sender task posts spooled batches one at a time (`Pipeline.send_next` in a worker thread) and a
timer task seals a batch at its deadline (`flush_ms` or `linger_ms` old; an urgent event that
brings the deadline forward wakes the timer). During a webhook outage the sender keeps
retrying with a capped backoff while batches pile up on disk, not in memory. `on_ack` runs in the
event loop after acknowledged gateway batches: that is where the gateway checkpoints; an
acknowledged batch's file is deleted only after `on_ack` returned for it. With `ack_interval`,
acknowledgements are gathered for that long and `on_ack` gets the newest of each session (one
checkpoint write instead of one per batch). `on_dropped` runs after events were moved to
rejected/ for good (a single event over the webhook's size cap, an unreadable spool file): that is
where the gateway records a gap.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable

from guildlog_relay.batcher import Batch
from guildlog_relay.events import DispatchRun, RelayEvent
from guildlog_relay.pipeline import Ack, DeliveryError, Dropped, Pipeline, Settled
from guildlog_relay.spool import SpoolEntry

log = logging.getLogger(__name__)

# After a batch exhausted its retries the sender pauses before trying it again, doubling up to this.
MAX_OUTAGE_PAUSE_S = 60.0


class AsyncPipeline:
    """Wraps a Pipeline for asyncio. Use as `async with AsyncPipeline(p) as pipe: await pipe.submit(e)`.

    A fatal delivery error (400/401, a wrong URL) stops the sender; the next `submit` or `close`
    raises it as DeliveryError, so the relay exits loudly rather than spooling forever.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        on_ack: Callable[[Ack], Awaitable[None] | None] | None = None,
        on_dropped: Callable[[Dropped], Awaitable[None] | None] | None = None,
        clock: Callable[[], float] = time.time,
        first_pause_s: float = 1.0,
        ack_interval: float = 0.0,
    ) -> None:
        self.core = pipeline
        self.on_ack = on_ack
        self.on_dropped = on_dropped
        self.clock = clock
        self.first_pause_s = first_pause_s
        self.ack_interval = ack_interval
        # Acknowledged, not yet handed to on_ack: (the file to delete after, the ack), in order.
        self._delivered: list[tuple[SpoolEntry | None, Ack | None]] = []
        self._acked = asyncio.Event()
        self._sending = False
        self._spool_lock = asyncio.Lock()
        self._work = asyncio.Event()  # something is in the spool
        self._buffered = asyncio.Event()  # the batcher holds events (the timer has a deadline)
        self._sooner = asyncio.Event()  # the deadline moved before the one the timer sleeps toward
        self._sleeping_until: float | None = None
        self._failure: DeliveryError | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> AsyncPipeline:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def start(self) -> None:
        self._work.set()  # batches an earlier run left in the spool go first
        self._tasks = [asyncio.create_task(self._sender()), asyncio.create_task(self._timer())]
        if self.ack_interval > 0:
            self._tasks.append(asyncio.create_task(self._acker()))

    async def submit(self, event: RelayEvent, now: float | None = None) -> None:
        """Hand `event` over. Returns once it is buffered (and any batch it sealed is on disk)."""
        self._raise_failure()
        async with self._spool_lock:
            sealed = self.core.batcher.add(event, self.clock() if now is None else now)
            if sealed:
                await asyncio.to_thread(self._spool_all, sealed)
                self._work.set()
        self._note_buffered()

    async def submit_many(self, events: list[RelayEvent | DispatchRun]) -> None:
        """`submit` for several events in order, at one time and under one lock: the live relay's
        forwarder hands over whatever its queue holds in one call."""
        self._raise_failure()
        if not events:
            return
        async with self._spool_lock:
            sealed = self.core.batcher.add_many(events, self.clock())
            if sealed:
                await asyncio.to_thread(self._spool_all, sealed)
                self._work.set()
        self._note_buffered()

    def _note_buffered(self) -> None:
        """Tell the timer there is a deadline, and wake it when the deadline came forward (an
        urgent event joined events that were lingering)."""
        batcher = self.core.batcher
        if not len(batcher):
            return
        self._buffered.set()
        until = self._sleeping_until
        if until is not None:
            deadline = batcher.deadline()
            if deadline is not None and deadline < until:
                self._sooner.set()

    async def flush(self) -> None:
        """Seal whatever is buffered and spool it now (made durable before this returns)."""
        async with self._spool_lock:
            batch = self.core.batcher.flush()
            if batch is not None:
                await asyncio.to_thread(self._spool_all, [batch])
                self._work.set()

    @property
    def failure(self) -> DeliveryError | None:
        """The fatal delivery error that stopped the sender, if any."""
        return self._failure

    async def close(self, timeout: float = 10.0) -> int:
        """Spool what is buffered, send for up to `timeout` seconds, stop. Returns batches left in the spool."""
        async with self._spool_lock:
            batch = self.core.batcher.flush()
            if batch is not None:
                await asyncio.to_thread(self._spool_all, [batch])
        self._work.set()
        deadline = time.monotonic() + timeout
        # A batch taken off the spool is still being sent (or its answer handled) while _sending.
        while (len(self.core.spool) or self._sending) and self._failure is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.core.poster.stop.set()  # a sender sleeping out a backoff returns at once
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._settle()
        self._raise_failure()
        return len(self.core.spool)

    def _spool_all(self, batches: list[Batch]) -> None:
        for batch in batches:
            self.core.spool_batch(batch)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _sender(self) -> None:
        pause = self.first_pause_s
        while True:
            await self._work.wait()
            # Cleared before looking, so a batch spooled while we look sets it again.
            self._work.clear()
            self._sending = True
            try:
                result = await asyncio.to_thread(self.core.send_next, keep_delivered=True)
                if result is None:
                    continue
                self._work.set()
                if result.delivered is not None or result.ack is not None:
                    self._delivered.append((result.delivered, result.ack))
                    if self.ack_interval > 0:
                        self._acked.set()
                    else:
                        await self._settle()
                if result.dropped is not None and self.on_dropped is not None:
                    reported = self.on_dropped(result.dropped)
                    if inspect.isawaitable(reported):
                        await reported
            finally:
                self._sending = False
            if result.settled is Settled.FATAL:
                log.error("delivery stopped", extra={"batch_id": result.batch_id})
                self._failure = DeliveryError(result.message, batch_id=result.batch_id)
                return
            if result.settled is Settled.UNAVAILABLE:
                # The batch stays first in line; events keep going to the spool meanwhile.
                await asyncio.sleep(pause / 2 + random.random() * pause / 2)  # half jitter
                pause = min(pause * 2, MAX_OUTAGE_PAUSE_S)
                continue
            pause = self.first_pause_s

    async def _acker(self) -> None:
        while True:
            await self._acked.wait()
            await asyncio.sleep(self.ack_interval)
            self._acked.clear()
            if not await self._settle():
                self._acked.set()  # try again after the interval

    async def _settle(self) -> bool:
        """Hand the acknowledgements gathered so far to on_ack, then delete their batches' files.

        When on_ack fails (the checkpoint cannot be written), the files stay and so do the acks,
        for the next call: False. Cancelled half-way, it leaves them to the next call too: on_ack
        sees an ack again (which moves nothing) and a file already gone is not an error.
        """
        count = len(self._delivered)
        if not count:
            return True
        settled = self._delivered[:count]
        if self.on_ack is not None:
            try:
                for ack in _newest_per_session([ack for _, ack in settled if ack is not None]):
                    outcome = self.on_ack(ack)
                    if inspect.isawaitable(outcome):
                        await outcome
            except Exception as exc:
                log.error("acknowledged batches not checkpointed; kept on disk", extra={"error": repr(exc)[:200]})
                return False
        entries = [entry for entry, _ in settled if entry is not None]
        if entries:
            await asyncio.to_thread(self._remove_all, entries)
        del self._delivered[:count]
        return True

    def _remove_all(self, entries: list[SpoolEntry]) -> None:
        for entry in entries:
            self.core.spool.remove(entry)

    async def _timer(self) -> None:
        while True:
            await self._buffered.wait()
            deadline = self.core.batcher.deadline()
            if deadline is None:
                self._buffered.clear()
                continue
            delay = deadline - self.clock()
            if delay > 0:
                self._sleeping_until = deadline
                self._sooner.clear()
                try:
                    await asyncio.wait_for(self._sooner.wait(), delay)
                    continue  # brought forward: look at the deadline again
                except TimeoutError:
                    pass
                finally:
                    self._sleeping_until = None
            async with self._spool_lock:
                batch = self.core.batcher.due(self.clock())
                if batch is not None:
                    await asyncio.to_thread(self._spool_all, [batch])
                    self._work.set()


def _newest_per_session(acks: list[Ack]) -> list[Ack]:
    """The last ack of each run of acks of one (session, shard), in order: acks only move a
    checkpoint forward, so the last of a run moves it as far as all of them."""
    newest: list[Ack] = []
    for ack in acks:
        if newest and (newest[-1].session_id, newest[-1].shard) == (ack.session_id, ack.shard):
            newest[-1] = ack
        else:
            newest.append(ack)
    return newest
