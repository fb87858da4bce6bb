"""Capped exponential backoff with jitter: the one place its arithmetic lives.

Used by the storage adapters (full jitter: many Lambda containers retrying one table must spread
out), and by the relay's webhook sender and gateway reconnects (`half_jitter`: a storm of failures
must not collapse to zero waits, yet shards must not retry in lockstep).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

# 2**32 × any sane base is past every cap: the exponent stops growing there.
_MAX_EXPONENT = 32


def ceiling(attempt: int, base: float, cap: float) -> float:
    """base·2^attempt, at most `cap` (attempt counts from 0)."""
    return min(cap, base * 2 ** min(attempt, _MAX_EXPONENT))


def full_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Uniform in [0, ceiling]."""
    return rand() * ceiling(attempt, base, cap)


def half_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Uniform in [ceiling/2, ceiling]."""
    top = ceiling(attempt, base, cap)
    return top / 2 + rand() * top / 2


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; the wait before try n+1 is uniform in [0, min(cap, base * 2**n)]."""

    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return full_jitter(attempt, self.base, self.cap, self.rand)

    def wait(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))
