"""Capped exponential backoff with full jitter: the one retry policy of the storage adapters."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; the wait before try n+1 is uniform in [0, min(cap, base * 2**n)]."""

    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return self.rand() * min(self.cap, self.base * (2**attempt))

    def wait(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))
