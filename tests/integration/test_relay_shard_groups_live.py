"""`guildlog relay --shard-groups 2` as two processes against the fake Discord and the local stack,
sharing the stack's table as the hosted relay's tasks do: between them they run every shard once; a
task killed with its spool (a replaced Fargate task loses its disk) is taken over by a new one,
which resumes from the table or records exactly what was lost as a gap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guildlog.services.keys import CHECKPOINT_SK, relay_pk
from guildlog_relay.checkpoint import Checkpoint
from guildlog_relay.shard_groups import ShardGroups
from guildlog_tools.local.stack import LocalStack
from tests.fakes.discord_gateway import FakeDiscordThread
from tests.integration import test_relay_gateway as gateway_tests
from tests.integration.test_relay_gateway import TOKEN, check_invariant, message
from tests.integration.test_relay_restart import key_file, start_relay, stop

shared_stack = gateway_tests.shared_stack
stack = gateway_tests.stack
__all__ = ["key_file", "shared_stack", "stack"]

pytestmark = pytest.mark.integration

PATIENCE_S = 120.0
SHARDS = 4
LEASE_S = "3"  # a killed task's group is taken over this long after its last renewal


def grouped(stack: LocalStack, discord: Any, key: Path, state: Path) -> subprocess.Popen[bytes]:
    return start_relay(
        discord.api_base, stack.gateway_events_url, key, state,
        "--shard-groups", "2", "--checkpoint-table", stack.table, "--shard-group-lease-s", LEASE_S,
    )  # fmt: skip


def wait(condition: Callable[[], bool], *processes: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"relay exited {process.returncode}: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def table_checkpoint(stack: LocalStack, shard: int) -> Checkpoint | None:
    key = {"PK": {"S": relay_pk(shard)}, "SK": {"S": CHECKPOINT_SK}}
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key=key, ConsistentRead=True).get("Item")
    return Checkpoint.from_json(item["checkpoint"]["S"].encode()) if item else None


def holders(stack: LocalStack) -> dict[int, str | None]:
    reader = ShardGroups(stack.table, 2, "reader", client=stack.client("dynamodb"))
    return {s.group: s.holder for s in reader.lease_states(2)}


def all_live(discord: Any) -> bool:
    return all(discord.live(shard) is not None for shard in range(SHARDS))


def dispatch(fake: FakeDiscordThread, shards: list[int], count: int) -> None:
    async def send(discord: Any) -> None:
        for shard in shards:
            for n in range(count):
                await discord.dispatch("MESSAGE_CREATE", message(n), shard=shard)

    fake.call(send)


def test_two_relay_processes_with_two_shard_groups_run_every_shard_once_and_a_replacement_records_what_was_lost(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000, shards=SHARDS) as fake:
        discord = fake.discord
        assert discord is not None
        a = grouped(stack, discord, key_file, tmp_path / "a" / "state")
        b = grouped(stack, discord, key_file, tmp_path / "b" / "state")
        c: subprocess.Popen[bytes] | None = None
        try:
            wait(lambda: all_live(discord), a, b)
            identified = sorted(tuple(i["shard"]) for i in discord.identifies)
            assert identified == [(shard, SHARDS) for shard in range(SHARDS)]  # every shard, once
            groups = holders(stack)
            [group_of_a] = [g for g, h in groups.items() if h and f":{a.pid}#" in h]
            [group_of_b] = [g for g, h in groups.items() if h and f":{b.pid}#" in h]
            assert {group_of_a, group_of_b} == {0, 1}
            shards_of_a = [s for s in range(SHARDS) if s % 2 == group_of_a]

            dispatch(fake, list(range(SHARDS)), 10)  # seqs 2..11 of every shard: two batches each
            wait(lambda: all((table_checkpoint(stack, s) or Checkpoint((s, SHARDS))).seq == 11 for s in range(SHARDS)))
            dispatch(fake, shards_of_a, 2)  # seqs 12, 13 of a's shards: in a's memory only
            wait(lambda: all(discord.current[s].seq == 13 for s in shards_of_a))
            a.send_signal(signal.SIGKILL)
            a.communicate(timeout=PATIENCE_S)
            lost_sessions = [discord.current[s].session_id for s in shards_of_a]
            for session_id in lost_sessions:
                fake.call(lambda d, sid=session_id: d.expire(sid))
            dispatch(fake, shards_of_a, 3)  # seqs 14..16, to sessions nobody can resume

            # A new task with an empty disk: it waits for a's lease to lapse, then takes the group over.
            c = grouped(stack, discord, key_file, tmp_path / "c" / "state")
            wait(lambda: holders(stack)[group_of_a] not in (None, groups[group_of_a]), b, c)
            wait(lambda: all_live(discord) and len(discord.sessions) == SHARDS + len(shards_of_a), b, c)
            assert f":{c.pid}#" in str(holders(stack)[group_of_a])
            code_b, err_b = stop(b, signal.SIGTERM)
            code_c, err_c = stop(c, signal.SIGTERM)
        finally:
            for process in (a, b, c):
                if process is not None and process.returncode is None:
                    process.kill()
                    process.communicate(timeout=PATIENCE_S)

    assert (code_b, code_c) == (0, 0), err_b + err_c
    assert set(holders(stack).values()) == {None}  # both released their groups after the drain
    identified = sorted(tuple(i["shard"]) for i in discord.identifies)
    assert identified == sorted([(s, SHARDS) for s in range(SHARDS)] + [(s, SHARDS) for s in shards_of_a])
    stored = check_invariant(stack, discord)
    gaps = {g["session_id"]: g for g in stored["gaps"]}
    assert set(gaps) == set(lost_sessions)
    for session_id in lost_sessions:
        gap = gaps[session_id]
        assert (gap["last_seq"], gap["from_seq"], gap["reason"]) == (11, 12, "session_expired")
        assert discord.sessions[session_id].seq == 16  # 12..16 existed and are exactly what the gap names
    assert TOKEN not in err_b + err_c
    assert os.listdir(tmp_path / "c" / "state") != []
