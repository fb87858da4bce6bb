"""The two gateway rate limits the relay keeps on its own side: frames sent, and IDENTIFYs.

Both read the time from the running event loop (`loop.time()`) unless given a clock, and wait
with `asyncio.sleep`, so a test loop with a virtual clock runs them without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from guildlog_relay.protocol import HEARTBEAT_RESERVE, IDENTIFY_INTERVAL_S, SEND_LIMIT, SEND_WINDOW_S

log = logging.getLogger(__name__)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class SendLimiter:
    """At most `limit` frames in any `window` seconds (a sliding window, stricter than Discord's).

    Ordinary frames (IDENTIFY, RESUME) may use `limit - reserve`; heartbeats (`priority=True`) may
    use all of it, so a burst of reconnects can never crowd out the beat that keeps a session
    alive. One limiter serves a shard across all its connections: a reconnect storm stays under
    the limit too.
    """

    def __init__(
        self,
        limit: int = SEND_LIMIT,
        window: float = SEND_WINDOW_S,
        *,
        reserve: int = HEARTBEAT_RESERVE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not 0 <= reserve < limit:
            raise ValueError("reserve must be at least 0 and below limit")
        self.limit = limit
        self.window = window
        self.reserve = reserve
        self.clock = clock or _loop_time
        self._sent: deque[float] = deque()
        self.waits = 0  # how often a frame had to wait (a metric)

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def in_window(self, now: float | None = None) -> int:
        """Frames sent in the window ending now."""
        self._prune(self.clock() if now is None else now)
        return len(self._sent)

    async def acquire(self, *, priority: bool = False) -> None:
        """Return once one more frame may be sent, and count it as sent."""
        cap = self.limit if priority else self.limit - self.reserve
        waited = False
        while True:
            now = self.clock()
            self._prune(now)
            if len(self._sent) < cap:
                self._sent.append(now)
                if waited:
                    self.waits += 1
                return
            # The frame that must leave the window before one more fits.
            free_at = self._sent[len(self._sent) - cap] + self.window
            waited = True
            await asyncio.sleep(max(free_at - now, 0.001))


class IdentifyGate:
    """Spaces IDENTIFYs: one per max_concurrency bucket (`shard_id % max_concurrency`) per interval,
    and none once the day's session starts are used up until Discord's reset.

    Shared by the shards of one process. Several processes that split the shards of one bot each
    keep their own gate; `shared(bucket)` (identify_slots.TableIdentifySlots) makes them take turns
    through the stack's table, otherwise give them disjoint buckets or start them a few seconds apart.
    """

    def __init__(
        self,
        max_concurrency: int = 1,
        *,
        interval: float = IDENTIFY_INTERVAL_S,
        remaining: int | None = None,
        reset_after: float = 0.0,
        clock: Callable[[], float] | None = None,
        shared: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.shared = shared
        self.interval = interval
        self.clock = clock or _loop_time
        self.remaining = remaining
        self._reset_after = reset_after
        self._reset_at: float | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._last: dict[int, float] = {}

    def bucket(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    async def wait_turn(self, shard_id: int) -> None:
        """Return when `shard_id` may send IDENTIFY now (and count it)."""
        bucket = self.bucket(shard_id)
        lock = self._locks.setdefault(bucket, asyncio.Lock())
        async with lock:
            if self.remaining is not None and self.remaining <= 0:
                if self._reset_at is None:
                    self._reset_at = self.clock() + self._reset_after
                delay = self._reset_at - self.clock()
                log.warning(
                    "daily session starts used up; waiting for Discord's reset",
                    extra={"shard": shard_id, "wait_s": round(max(delay, 0.0), 1)},
                )
                if delay > 0:
                    await asyncio.sleep(delay)
                self.remaining = None  # unknown again after the reset; Discord says so with op 9 if not
                self._reset_at = None
            last = self._last.get(bucket)
            if last is not None:
                delay = last + self.interval - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.shared is not None:
                await self.shared(bucket)
            self._last[bucket] = self.clock()
            if self.remaining is not None:
                self.remaining -= 1
