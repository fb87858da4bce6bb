"""IDENTIFY turns shared through the table on moto: relay processes of one bot that split its shards
never identify in one max_concurrency bucket within the interval."""

from __future__ import annotations

import asyncio
from typing import Any

from guildlog_relay.identify_slots import TableIdentifySlots
from guildlog_relay.ratelimit import IdentifyGate

INTERVAL = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


def slots(aws: dict[str, Any], clock: Clock, table: str | None = None) -> TableIdentifySlots:
    return TableIdentifySlots(table or aws["table"], INTERVAL, client=aws["dynamodb"], clock=clock, sleep=clock.sleep)


def test_identify_slots_make_a_second_process_wait_out_the_interval_when_both_identify_in_one_bucket(aws) -> None:
    clock = Clock()
    first, second = slots(aws, clock), slots(aws, clock)

    async def scenario() -> list[float]:
        await first.wait_turn(0)
        taken_at = clock.now
        await second.wait_turn(0)
        return [taken_at, clock.now]

    taken, then = asyncio.run(scenario())

    assert then - taken == INTERVAL and clock.slept == [INTERVAL] and second.waits == 1


def test_identify_slots_let_processes_identify_at_once_when_their_buckets_differ(aws) -> None:
    clock = Clock()

    async def scenario() -> None:
        await slots(aws, clock).wait_turn(0)
        await slots(aws, clock).wait_turn(1)

    asyncio.run(scenario())

    assert clock.slept == []


def test_identify_slots_identify_anyway_when_the_table_cannot_be_reached(aws) -> None:
    clock = Clock()
    missing = slots(aws, clock, table="no-such-table")

    asyncio.run(missing.wait_turn(0))

    assert clock.slept == [] and missing.waits == 0


def test_identify_gate_takes_the_shared_turn_after_its_own_when_given_table_slots(aws) -> None:
    clock = Clock()
    other = slots(aws, clock)
    ours = slots(aws, clock)

    async def scenario() -> None:
        await other.wait_turn(0)  # another process identified just now
        gate = IdentifyGate(1, interval=INTERVAL, shared=ours.wait_turn, clock=clock)
        await gate.wait_turn(3)

    asyncio.run(scenario())

    assert clock.slept == [INTERVAL]
