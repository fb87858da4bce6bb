"""`guildlog relay` holding routine events, as a process against the fake Discord and the local stack:
a message's delete sends its create along at once, a heartbeat waits with what is held, and SIGTERM's
drain sends what is held before the relay exits."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from guildlog_tools.local.stack import LocalStack
from tests.fakes.discord_gateway import FakeDiscordThread
from tests.integration import test_relay_gateway as gateway_tests
from tests.integration import test_relay_restart as restart_tests
from tests.integration.test_relay_gateway import TOKEN, check_invariant, message
from tests.integration.test_relay_restart import checkpoint, http_get, scrape, start_relay, stop, wait

shared_stack = gateway_tests.shared_stack
stack = gateway_tests.stack
key_file = restart_tests.key_file

pytestmark = pytest.mark.integration

# Far longer than any wait of these tests: what reaches the stack was sent by something other than age.
LONG_LINGER_MS = "600000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metric(port: int, name: str, **labels: str) -> float:
    found = [s.value for s in scrape(http_get(port, "/metrics")[1]) if s.name == name and s.labels == labels]
    return found[0] if found else 0.0


def send(fake: FakeDiscordThread, *events: tuple[str, dict[str, Any]]) -> None:
    async def dispatch(discord: Any) -> None:
        for t, d in events:
            await discord.dispatch(t, d)

    fake.call(dispatch)


def batches_of(lines: list[dict[str, Any]]) -> list[list[int]]:
    """The sequence numbers of each gateway batch in the raw archive, in order."""
    by_batch: dict[str, list[int]] = {}
    for line in lines:
        if line["event"]["source"] == "gateway":
            by_batch.setdefault(line["batch_id"], []).append(line["event"]["seq"])
    return sorted(sorted(seqs) for seqs in by_batch.values())


def received(port: int, t: str) -> float:
    return metric(port, "guildlog_relay_events_total", shard="0", type=t)


@dataclass
class Running:
    fake: FakeDiscordThread
    discord: Any
    relay: subprocess.Popen[str]
    state: Path
    port: int

    def started(self) -> None:
        wait(lambda: checkpoint(self.state).get("seq") == 1, self.relay)  # READY starts a session: urgent

    def stop(self) -> None:
        code, err = stop(self.relay, signal.SIGTERM)
        assert code == 0, err


@contextmanager
def relay_process(stack: LocalStack, tmp_path: Path, key_file: Path, *flags: str) -> Iterator[Running]:
    """`guildlog relay` (batches of 500, urgent events within 200 ms) against the fake Discord and the stack."""
    state, port = tmp_path / "state", free_port()
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake:
        assert fake.discord is not None
        relay = start_relay(
            fake.discord.api_base, stack.gateway_events_url, key_file, state,
            "--batch-size", "500", "--flush-ms", "200", "--health-port", str(port), *flags,
        )  # fmt: skip
        try:
            running = Running(fake, fake.discord, relay, state, port)
            running.started()
            yield running
        finally:
            relay.kill()


def test_relay_command_sends_a_held_create_with_its_delete_in_one_batch_when_the_delete_arrives(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    with relay_process(stack, tmp_path, key_file, "--linger-ms", LONG_LINGER_MS) as run:
        created = message(1)
        send(run.fake, ("MESSAGE_CREATE", created))
        wait(lambda: received(run.port, "MESSAGE_CREATE") == 1, run.relay)
        send(run.fake, ("MESSAGE_DELETE", {"id": created["id"], "channel_id": created["channel_id"]}))
        wait(lambda: checkpoint(run.state).get("seq") == 3, run.relay)
        run.stop()

    stored = check_invariant(stack, run.discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
    assert batches_of(stored["lines"]) == [[1], [2, 3]]  # READY's, then the create and the delete together


def test_relay_command_holds_its_heartbeats_with_the_held_events_and_sends_them_in_one_batch(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    with relay_process(stack, tmp_path, key_file, "--linger-ms", LONG_LINGER_MS, "--status-interval", "1") as run:
        send(run.fake, ("MESSAGE_CREATE", message(1)), ("MESSAGE_CREATE", message(2)))
        wait(lambda: metric(run.port, "guildlog_relay_held_events", shard="0") >= 4, run.relay)  # and 2 heartbeats
        held = checkpoint(run.state).get("seq")
        run.stop()

    assert held == 1  # the heartbeats sent nothing: they wait with the messages
    assert checkpoint(run.state)["seq"] == 3
    stored = check_invariant(stack, run.discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
    [messages_batch] = {line["batch_id"] for line in stored["lines"] if line["event"].get("seq") in (2, 3)}
    beats = [line for line in stored["lines"] if line["event"]["t"] == "GUILDLOG_HEARTBEAT"]
    assert sum(line["batch_id"] == messages_batch for line in beats) >= 2


def test_relay_command_sends_what_it_holds_when_stopped_with_sigterm_at_the_default_linger(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    with relay_process(stack, tmp_path, key_file) as run:
        send(run.fake, ("MESSAGE_CREATE", message(1)), ("MESSAGE_CREATE", message(2)))
        wait(lambda: received(run.port, "MESSAGE_CREATE") == 2, run.relay)
        held = checkpoint(run.state).get("seq")
        run.stop()

    assert held == 1 and checkpoint(run.state)["seq"] == 3
    stored = check_invariant(stack, run.discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
