"""`guildlog relay` holding routine events, as a process against the fake Discord and the local stack:
a message's delete sends its create along at once, a heartbeat sends what is held, and SIGTERM's
drain sends what is held before the relay exits."""

from __future__ import annotations

import signal
import socket
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


def test_relay_command_sends_a_held_create_with_its_delete_in_one_batch_when_the_delete_arrives(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    state, port = tmp_path / "state", free_port()
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake:
        discord = fake.discord
        assert discord is not None
        relay = start_relay(
            discord.api_base, stack.gateway_events_url, key_file, state,
            "--batch-size", "500", "--flush-ms", "200", "--linger-ms", LONG_LINGER_MS, "--health-port", str(port),
        )  # fmt: skip
        try:
            wait(lambda: checkpoint(state).get("seq") == 1, relay)  # READY starts a session: urgent
            created = message(1)
            send(fake, ("MESSAGE_CREATE", created))
            wait(lambda: received(port, "MESSAGE_CREATE") == 1, relay)
            send(fake, ("MESSAGE_DELETE", {"id": created["id"], "channel_id": created["channel_id"]}))
            wait(lambda: checkpoint(state).get("seq") == 3, relay)
            code, err = stop(relay, signal.SIGTERM)
        finally:
            relay.kill()

    assert code == 0, err
    stored = check_invariant(stack, discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
    assert batches_of(stored["lines"]) == [[1], [2, 3]]  # READY's, then the create and the delete together


def test_relay_command_sends_held_events_when_a_heartbeat_is_due(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    state, port = tmp_path / "state", free_port()
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake:
        discord = fake.discord
        assert discord is not None
        relay = start_relay(
            discord.api_base, stack.gateway_events_url, key_file, state,
            "--batch-size", "500", "--flush-ms", "200", "--linger-ms", LONG_LINGER_MS, "--health-port", str(port),
            "--status-interval", "1",
        )  # fmt: skip
        try:
            wait(lambda: checkpoint(state).get("seq") == 1, relay)
            send(fake, ("MESSAGE_CREATE", message(1)), ("MESSAGE_CREATE", message(2)))
            wait(lambda: checkpoint(state).get("seq") == 3, relay)
            code, err = stop(relay, signal.SIGTERM)
        finally:
            relay.kill()

    assert code == 0, err
    stored = check_invariant(stack, discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
    assert any(line["event"]["t"] == "GUILDLOG_HEARTBEAT" for line in stored["lines"])


def test_relay_command_sends_what_it_holds_when_stopped_with_sigterm_at_the_default_linger(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    state, port = tmp_path / "state", free_port()
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake:
        discord = fake.discord
        assert discord is not None
        relay = start_relay(
            discord.api_base, stack.gateway_events_url, key_file, state,
            "--batch-size", "500", "--flush-ms", "200", "--health-port", str(port),
        )  # fmt: skip
        try:
            wait(lambda: checkpoint(state).get("seq") == 1, relay)
            send(fake, ("MESSAGE_CREATE", message(1)), ("MESSAGE_CREATE", message(2)))
            wait(lambda: received(port, "MESSAGE_CREATE") == 2, relay)
            held = checkpoint(state).get("seq")
            code, err = stop(relay, signal.SIGTERM)
        finally:
            relay.kill()

    assert code == 0, err
    assert held == 1 and checkpoint(state)["seq"] == 3
    stored = check_invariant(stack, discord)
    assert {seq for (_, seq) in stored["gateway"]} == {1, 2, 3}
