"""The reconnect backoff."""

from __future__ import annotations

import random

from guildlog_relay.backoff import Backoff


def test_backoff_doubles_within_jitter_up_to_the_cap_when_failures_repeat() -> None:
    backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(5))

    waits = [backoff.next() for _ in range(8)]

    for wait, ceiling in zip(waits, [1, 2, 4, 8, 10, 10, 10, 10], strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_backoff_starts_over_when_reset_after_a_healthy_connection() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(5))
    for _ in range(6):
        backoff.next()

    backoff.reset()

    assert backoff.next() <= 1.0


def test_backoff_stays_finite_when_failures_run_into_the_thousands() -> None:
    backoff = Backoff(base=1.0, cap=60.0, failures=5000)

    assert 30.0 <= backoff.next() <= 60.0
