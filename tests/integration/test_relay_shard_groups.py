"""Shard groups on moto's DynamoDB: relay processes that split a bot's shards by claiming groups in the
stack's table, with a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from guildlog.errors import ConfigurationError
from guildlog_relay.shard_groups import Layout, Lease, LeaseLost, ShardGroups, claim_group, keep_lease

TTL = 60.0


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def groups(aws: dict[str, Any], holder: str, clock: Clock, count: int = 2) -> ShardGroups:
    return ShardGroups(aws["table"], count, holder, client=aws["dynamodb"], clock=clock, ttl=TTL)


def claimed(outcome: Lease | str) -> Lease:
    assert isinstance(outcome, Lease), outcome
    return outcome


def test_shard_groups_give_two_tasks_different_groups_covering_every_shard_once_when_both_claim(aws) -> None:
    clock = Clock()

    first = claimed(groups(aws, "task-a", clock).try_claim(5))
    second = claimed(groups(aws, "task-b", clock).try_claim(5))

    assert {first.group, second.group} == {0, 1}
    assert sorted([*first.shards, *second.shards]) == [0, 1, 2, 3, 4]
    assert first.layout == second.layout == Layout(shard_count=5, groups=2, epoch=1)


def test_shard_groups_make_a_third_task_wait_naming_the_holders_when_every_group_is_held(aws) -> None:
    clock = Clock()
    claimed(groups(aws, "task-a", clock).try_claim(4))
    claimed(groups(aws, "task-b", clock).try_claim(4))

    outcome = groups(aws, "task-c", clock).try_claim(4)

    assert outcome == "all 2 group(s) are held: 0 by task-a, 1 by task-b"


class RacingClient:
    """The table client of one of several tasks claiming at once, at the worst moment: every task has
    read the leases (and seen the same groups free) before any of them writes.

    DynamoDB applies conditional writes to an item one at a time; moto's in-memory table does not
    when called from several threads, so the writes pass a lock here as they would in DynamoDB."""

    writes = threading.Lock()

    def __init__(self, client: Any, everyone_read: threading.Barrier) -> None:
        self.client = client
        self.everyone_read = everyone_read
        self.first_write = True

    def get_item(self, **kwargs: Any) -> Any:
        return self.client.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        with self.writes:
            return self.client.put_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.first_write:
            self.first_write = False
            self.everyone_read.wait(timeout=60)
        with self.writes:
            return self.client.transact_write_items(**kwargs)


def test_shard_groups_never_give_one_group_twice_when_many_tasks_claim_at_once(aws) -> None:
    clock = Clock()
    claimed(groups(aws, "first", clock, count=4).try_claim(8))  # the layout exists; group 0 is held
    tasks = [f"task-{n}" for n in range(5)]
    everyone_read = threading.Barrier(len(tasks))
    outcomes: dict[str, Lease | str] = {}

    def claim(holder: str) -> None:
        client = RacingClient(aws["dynamodb"], everyone_read)
        outcomes[holder] = ShardGroups(aws["table"], 4, holder, client=client, clock=clock, ttl=TTL).try_claim(8)

    threads = [threading.Thread(target=claim, args=(holder,)) for holder in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = {h: o.group for h, o in outcomes.items() if isinstance(o, Lease)}
    assert sorted(won.values()) == [1, 2, 3]
    waiting = [o for o in outcomes.values() if isinstance(o, str)]
    assert len(waiting) == 2 and all(o.startswith("all 4 group(s) are held") for o in waiting)
    states = groups(aws, "reader", clock, count=4).lease_states(4)
    assert {s.group: s.holder for s in states} == {0: "first", **{g: h for h, g in won.items()}}


def test_shard_groups_keep_the_lease_with_its_holder_when_renewed_before_expiry(aws) -> None:
    clock = Clock()
    holder = groups(aws, "task-a", clock)
    lease = claimed(holder.try_claim(2))

    for _ in range(5):
        clock.now += TTL * 0.75
        lease = holder.renew(lease)

    assert lease.expires_at == clock.now + TTL
    # Long past the first expiry, the group is still task-a's: another task gets the other one.
    assert claimed(groups(aws, "task-b", clock).try_claim(2)).group == 1
    assert groups(aws, "task-c", clock).try_claim(2) == "all 2 group(s) are held: 0 by task-a, 1 by task-b"


def test_shard_groups_let_another_task_take_a_group_over_when_its_lease_expired(aws) -> None:
    clock = Clock()
    stale = groups(aws, "task-a", clock, count=1)
    lease = claimed(stale.try_claim(3))

    clock.now += TTL + 1
    taken = claimed(groups(aws, "task-b", clock, count=1).try_claim(3))

    assert taken.group == lease.group == 0 and taken.holder == "task-b"
    with pytest.raises(LeaseLost, match="held by task-b"):
        stale.renew(lease)


def test_shard_groups_refuse_to_revive_a_lease_when_it_expired_before_renewal(aws) -> None:
    clock = Clock()
    holder = groups(aws, "task-a", clock, count=1)
    lease = claimed(holder.try_claim(1))

    clock.now += TTL + 1

    with pytest.raises(LeaseLost, match="expired before it was renewed"):
        holder.renew(lease)


def test_shard_groups_free_the_group_at_once_when_the_holder_releases_it_after_draining(aws) -> None:
    clock = Clock()
    holder = groups(aws, "task-a", clock, count=1)
    lease = claimed(holder.try_claim(2))

    assert holder.release(lease) is True
    successor = claimed(groups(aws, "task-b", clock, count=1).try_claim(2))

    assert successor.group == 0 and successor.shards == (0, 1)
    assert holder.release(lease) is False  # no longer its to release: the successor keeps it
    [state] = holder.lease_states(1)
    assert state.holder == "task-b"


def test_shard_groups_wait_for_the_old_layout_to_stop_before_replacing_it_when_the_group_count_changes(aws) -> None:
    clock = Clock()
    old = groups(aws, "old-a", clock, count=2)
    old_lease = claimed(old.try_claim(6))

    waiting = groups(aws, "new-a", clock, count=3).try_claim(6)

    assert isinstance(waiting, str) and "still run (group 0 by old-a)" in waiting
    assert old.layout() == Layout(6, 2, 1)
    old.release(old_lease)
    new = claimed(groups(aws, "new-a", clock, count=3).try_claim(6))
    assert new.layout == Layout(6, 3, 2) and new.shards == (0, 3)
    # A task of the old layout cannot claim or renew under it any more.
    assert "still run (group 0 by new-a)" in str(groups(aws, "old-b", clock, count=2).try_claim(6))
    with pytest.raises(LeaseLost):
        old.renew(old_lease)


def test_shard_groups_replace_the_layout_when_the_old_tasks_were_killed_and_their_leases_expired(aws) -> None:
    clock = Clock()
    claimed(groups(aws, "killed", clock, count=2).try_claim(4))

    clock.now += TTL + 1
    new = claimed(groups(aws, "new", clock, count=1).try_claim(4))

    assert new.layout == Layout(4, 1, 2) and new.shards == (0, 1, 2, 3)


def test_shard_groups_adopt_the_recorded_shard_count_when_siblings_run_it(aws) -> None:
    clock = Clock()
    claimed(groups(aws, "task-a", clock).try_claim(4))

    # Discord now recommends 6: the replacement of a sibling keeps running the layout of the others.
    replacement = claimed(groups(aws, "task-b", clock).try_claim(6))

    assert replacement.layout == Layout(4, 2, 1) and replacement.shards == (1, 3)


def test_shard_groups_give_every_group_a_shard_when_discord_recommends_fewer_shards_than_groups(aws) -> None:
    lease = claimed(groups(aws, "task-a", Clock(), count=3).try_claim(1))

    assert lease.layout.shard_count == 3 and lease.shards == (0,)


def test_shard_groups_name_the_table_when_it_does_not_exist(aws) -> None:
    missing = ShardGroups("no-such-table", 2, "task-a", client=aws["dynamodb"], clock=Clock())

    with pytest.raises(ConfigurationError, match="no-such-table: ResourceNotFoundException"):
        missing.try_claim(2)


def test_shard_groups_refuse_a_group_count_out_of_range_when_configured(aws) -> None:
    with pytest.raises(ConfigurationError, match="between 1 and 16"):
        ShardGroups(aws["table"], 17, "task-a", client=aws["dynamodb"])


def test_claim_group_waits_with_backoff_until_a_group_is_released(aws) -> None:
    clock = Clock()
    holder = groups(aws, "task-a", clock, count=1)
    lease = claimed(holder.try_claim(1))
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 3:
            holder.release(lease)

    won = asyncio.run(claim_group(groups(aws, "task-b", clock, count=1), 1, sleep=sleep))

    assert won is not None and won.holder == "task-b" and len(waits) == 3


def test_keep_lease_reports_the_loss_when_another_task_took_the_group(aws) -> None:
    clock = Clock()
    holder = groups(aws, "task-a", clock, count=1)
    lease = claimed(holder.try_claim(1))
    lost: list[str] = []

    async def sleep(delay: float) -> None:
        clock.now += delay
        if clock.now - lease.expires_at > -TTL / 2:  # the second round: the lease is taken meanwhile
            clock.now += TTL
            claimed(groups(aws, "task-b", clock, count=1).try_claim(1))

    asyncio.run(keep_lease(holder, lease, lost.append, sleep=sleep))

    assert lost == ["lost the lease of shard group 0: held by task-b"]


# -- the doctor reads the leases


def doctor_target(aws: dict[str, Any], parameters: dict[str, str] | None = None) -> Any:
    from guildlog_tools.doctor.target import Target
    from tests.unit.tools.test_doctor_relay_service import Ecs

    ecs = Ecs([{"runningCount": 2, "desiredCount": 2}])
    return Target(
        kind="stack",
        name="guildlog",
        region="us-east-1",
        status="CREATE_COMPLETE",
        outputs={"RelayServiceName": "guildlog-relay/relay", "TableName": aws["table"]},
        parameters=parameters or {},
        resources=[],
        client=lambda service: aws["dynamodb"] if service == "dynamodb" else ecs,
    )


def doctor(aws: dict[str, Any], clock: Clock, parameters: dict[str, str] | None = None) -> list[Any]:
    from datetime import UTC, datetime

    from guildlog_tools.doctor.checks import relay_service

    return list(relay_service(doctor_target(aws, parameters), now=datetime.fromtimestamp(clock.now, UTC)))


def test_doctor_reports_each_shard_group_with_its_holder_and_last_renewal_when_all_are_held(aws) -> None:
    from guildlog_tools.doctor.checks import OK

    clock = Clock()
    claimed(groups(aws, "task-a", clock).try_claim(4))
    clock.now += 5
    claimed(groups(aws, "task-b", clock).try_claim(4))
    clock.now += 7

    service, first, second = doctor(aws, clock, {"RelayShardGroups": "2"})

    assert [r.status for r in (service, first, second)] == [OK, OK, OK]
    assert (first.name, first.detail) == ("relay shard group 0", "held by task-a, renewed 12 s ago (shards 0,2)")
    assert (second.name, second.detail) == ("relay shard group 1", "held by task-b, renewed 7 s ago (shards 1,3)")


def test_doctor_fails_a_group_that_is_unheld_or_stale_when_its_task_is_gone(aws) -> None:
    from guildlog_tools.doctor.checks import FAIL

    clock = Clock()
    claimed(groups(aws, "task-a", clock).try_claim(4))
    released = groups(aws, "task-b", clock)
    released.release(claimed(released.try_claim(4)))
    clock.now += TTL + 30

    _, stale, unheld = doctor(aws, clock)

    assert stale.status == FAIL and stale.detail.startswith("stale: the lease of task-a expired 30 s ago")
    assert unheld.status == FAIL and unheld.detail == "not held: shards 1,3 are not running"


def test_doctor_fails_the_groups_when_no_task_recorded_a_layout_and_warns_when_the_count_differs(aws) -> None:
    from guildlog_tools.doctor.checks import FAIL, WARN

    clock = Clock()
    _, missing = doctor(aws, clock)
    claimed(groups(aws, "task-a", clock, count=1).try_claim(2))
    _, differs, held = doctor(aws, clock, {"RelayShardGroups": "2"})

    assert missing.status == FAIL and "no relay task has recorded" in missing.detail
    assert differs.status == WARN and "layout has 1 group(s), the stack asks for 2" in differs.detail
    assert held.name == "relay shard group 0"


# -- a relay running in a group


def test_relay_in_a_group_stops_its_shards_and_exits_1_when_another_task_takes_its_lease(aws, tmp_path) -> None:
    from guildlog.adapters.signatures import generate_keypair
    from guildlog_relay.discovery import GatewayInfo
    from guildlog_relay.live import EXIT_ERROR, LiveRelay, LiveSettings, RelayExit
    from guildlog_relay.shard_groups import run_in_group
    from tests.fakes.discord_gateway import FakeDiscord, memory_connector
    from tests.integration.test_relay_gateway import TOKEN, pipelines, settings

    key = generate_keypair().private_key
    holder = ShardGroups(aws["table"], 2, "task-a", client=aws["dynamodb"], ttl=2.0)
    made: list[LiveRelay] = []

    async def scenario() -> RelayExit:
        async with FakeDiscord(TOKEN, shards=4) as discord:

            def make_relay(chosen: LiveSettings) -> LiveRelay:
                relay = LiveRelay(
                    chosen,
                    token=TOKEN,
                    gateway=GatewayInfo(url=discord.gateway_url, shards=discord.shards),
                    make_pipeline=pipelines("http://127.0.0.1:9/gateway/events", key),
                    connector=memory_connector(discord),
                    first_pause_s=0.05,
                )
                made.append(relay)
                return relay

            run = asyncio.create_task(
                run_in_group(holder, settings(tmp_path, drain_timeout=1.0), 4, make_relay, handle_signals=False)
            )
            await discord.wait_for(lambda: discord.live(0) is not None and discord.live(2) is not None)
            assert discord.live(1) is None and discord.live(3) is None  # the other group's shards
            # Another task takes group 0 over (as if this one had stopped renewing).
            aws["dynamodb"].put_item(
                TableName=aws["table"],
                Item={
                    "PK": {"S": "RELAY#GROUP#0"},
                    "SK": {"S": "LEASE"},
                    "holder": {"S": "task-b"},
                    "epoch": {"N": "1"},
                    "expires_at": {"N": str(time.time() + 600)},
                },
            )
            exit_ = await asyncio.wait_for(run, 120)
            assert discord.live(0) is None and discord.live(2) is None
            return exit_

    exit_ = asyncio.run(scenario())

    assert exit_.code == EXIT_ERROR and exit_.message == "lost the lease of shard group 0: held by task-b"
    assert made[0].shard_ids == (0, 2) and made[0].shard_count == 4
    [state, _] = holder.lease_states(2)
    assert state.holder == "task-b"  # not released: it was not this task's any more
