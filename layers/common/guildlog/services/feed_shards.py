"""How many partitions a guild's feed is spread over, and which one an event goes to. Pure, no I/O.

DynamoDB takes at most 1,000 write units a second per partition key, and every event of a guild goes
to its feed. A guild's shard plan (`G#<guild>` / `SHARDS`, attribute `plan`) is a list of epochs,
each "from this event time on, N shards"; before the first epoch a guild has one shard, `G#<guild>`,
so a guild that never needed more has no plan item and keys exactly as before sharding.

An event's shard is a function of the event alone (its time picks the epoch, a hash of its id picks
the shard within it), so a retried or replayed event lands on the same item. A new epoch starts
`LEAD` after it is decided: longer than any cache of the plan lives (ingest and the readers keep it
a minute), so no writer or reader ever holds a plan that is wrong for events already written.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from guildlog.errors import ConfigurationError
from guildlog.services.timefmt import iso

# Half of DynamoDB's 1,000 write units per second per partition key: a feed item is one unit (the
# items are kept under 1 KB), and the other half is headroom for bursts between two rate readings.
EVENTS_PER_SHARD = 500
MAX_SHARDS = 64
# Longer than the one-minute plan caches, plus clock skew between the relay, Discord and Lambda.
LEAD = timedelta(minutes=5)
# A batch proves a rate only with this many of a guild's events; and a burst is read over at least
# this long, so 300 events that arrive together do not count as a rate of thousands a second.
MIN_EVENTS_FOR_RATE = 250
MIN_RATE_WINDOW_SECONDS = 0.25


@dataclass(frozen=True)
class Epoch:
    start: str  # ISO instant, `YYYY-MM-DDTHH:MM:SS.mmmZ`: events at or after it
    shards: int


@dataclass(frozen=True)
class ShardPlan:
    """Epochs in ascending start order; one shard before the first."""

    epochs: tuple[Epoch, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> ShardPlan:
        """`<start>=<shards>;<start>=<shards>…` (the stored `plan` attribute); "" or None: one shard."""
        if not text:
            return cls()
        epochs = []
        for part in text.split(";"):
            start, sep, count = part.partition("=")
            try:
                moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
                shards = int(count)
            except ValueError:
                raise ConfigurationError("shard plan entry is not <time>=<shards>", entry=part) from None
            if not sep or moment.tzinfo is None or not 1 <= shards <= MAX_SHARDS:
                raise ConfigurationError("shard plan entry is not <time>=<shards>", entry=part)
            epochs.append(Epoch(iso(moment), shards))
        if [e.start for e in epochs] != sorted({e.start for e in epochs}):
            raise ConfigurationError("shard plan epochs are not in ascending order", plan=text)
        return cls(tuple(epochs))

    def text(self) -> str:
        return ";".join(f"{e.start}={e.shards}" for e in self.epochs)

    def shards_at(self, occurred_at: str) -> int:
        """The shard count of the epoch an event at `occurred_at` (ISO, as the rows carry it) falls in."""
        count = 1
        for epoch in self.epochs:
            if occurred_at >= epoch.start:
                count = epoch.shards
            else:
                break
        return count

    def shards_between(self, low: str | None, high: str | None) -> int:
        """The most shards any epoch overlapping [low, high] has (None: unbounded on that side)."""
        count = self.shards_at(low) if low else 1
        for epoch in self.epochs:
            if (low is None or epoch.start > low) and (high is None or epoch.start <= high):
                count = max(count, epoch.shards)
        return count

    @property
    def max_shards(self) -> int:
        return max((e.shards for e in self.epochs), default=1)

    def shard_of(self, occurred_at: str, discriminator: str) -> int:
        """The shard of an event: its epoch's count, a stable hash of `discriminator` within it."""
        count = self.shards_at(occurred_at)
        if count == 1:
            return 0
        digest = hashlib.sha256(discriminator.encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") % count

    def with_shards(self, shards: int, now: datetime) -> ShardPlan:
        """This plan with `shards` from `now + LEAD` on (an epoch already in the future is replaced)."""
        if not 1 <= shards <= MAX_SHARDS:
            raise ConfigurationError("shard count out of range", shards=shards, most=MAX_SHARDS)
        start = iso(now + LEAD)
        kept = tuple(e for e in self.epochs if e.start <= iso(now))
        return ShardPlan((*kept, Epoch(start, shards)))


def shards_for_rate(events_per_second: float) -> int:
    """Shards enough for this feed write rate at `EVENTS_PER_SHARD` each: a power of two, at most MAX_SHARDS."""
    needed = max(1, math.ceil(events_per_second / EVENTS_PER_SHARD))
    return min(MAX_SHARDS, 1 << (needed - 1).bit_length())


def batch_rate(received_at: list[str]) -> float | None:
    """A guild's events per second in one batch, from the times the relay received them; None when
    the batch holds too few of them to say."""
    if len(received_at) < MIN_EVENTS_FOR_RATE:
        return None
    times = sorted(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in received_at)
    span = max((times[-1] - times[0]).total_seconds(), MIN_RATE_WINDOW_SECONDS)
    return (len(times) - 1) / span
