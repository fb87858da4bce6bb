"""The reconnect backoff: capped exponential with jitter, reset once a connection proved healthy."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from guildlog.adapters.retry import half_jitter

DEFAULT_BASE_S = 1.0
DEFAULT_CAP_S = 60.0


@dataclass
class Backoff:
    """`next()` is the wait before the next attempt: uniform in [d/2, d] with d = base·2^n capped.

    Half the delay is kept so that a storm of failures cannot collapse to zero waits; the other
    half is random so that many shards (or relays) do not retry in lockstep.
    """

    base: float = DEFAULT_BASE_S
    cap: float = DEFAULT_CAP_S
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next(self) -> float:
        delay = half_jitter(self.failures, self.base, self.cap, self.rng.random)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
