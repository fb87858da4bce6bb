"""`guildlog relay` as a process against the fake Discord and the local stack: killed with SIGKILL
in the middle of a flush and started again, and started again after Discord expired its session.

The invariant of test_relay_gateway.py holds after each: per session, the raw archive's sequence
numbers plus the gap records cover 1..N, gaps are exact, and no hot item is duplicated.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from guildlog_relay.spool import Spool
from guildlog_tools.local.stack import LocalStack
from tests.fakes.discord_gateway import FakeDiscordThread
from tests.integration import test_relay_gateway as gateway_tests
from tests.integration.test_relay_gateway import TOKEN, SwitchableProxy, check_invariant, message

# The module's stack and its per-test emptying, shared with the in-process gateway tests.
shared_stack = gateway_tests.shared_stack
stack = gateway_tests.stack

pytestmark = pytest.mark.integration

PATIENCE_S = 120.0


def start_relay(
    api_base: str,
    endpoint: str | None,
    key_file: Path | None,
    state: Path,
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GUILDLOG_", "DISCORD_"))}
    environ.update({"DISCORD_TOKEN": TOKEN, **(env or {})})
    target = ["--endpoint", endpoint, "--signing-key-file", str(key_file)] if endpoint else []
    command = [
        sys.executable, "-m", "guildlog_tools.cli", "relay", "--api-base", api_base, *target, "--state-dir", str(state),
        # Batches of five, never sealed by age: which events are on disk when the process dies is exact.
        "--batch-size", "5", "--flush-ms", "600000",
        "--timeout", "30", "--backoff-ms", "1", "--max-backoff-ms", "10",
        "--reconnect-backoff-ms", "10", "--max-reconnect-backoff-ms", "100",
        "--identify-interval-ms", "0", "--invalid-session-wait-ms", "10-50", "--status-interval", "0",
        "--log-level", "debug", *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, env=environ, cwd=state.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"relay exited {process.returncode}: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def checkpoint(state: Path) -> dict[str, Any]:
    path = state / "shard-0" / "checkpoint.json"
    return json.loads(path.read_text()) if path.exists() else {}


def dispatch(fake: FakeDiscordThread, count: int) -> None:
    async def send(discord: Any) -> None:
        for n in range(count):
            await discord.dispatch("MESSAGE_CREATE", message(n))

    fake.call(send)


def live(fake: FakeDiscordThread, after: int = 0) -> Callable[[], bool]:
    def check() -> bool:
        discord = fake.discord
        assert discord is not None
        connection = discord.live()
        return connection is not None and discord.connections.index(connection) >= after

    return check


def stop(process: subprocess.Popen[bytes], sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=PATIENCE_S)
    finally:
        process.kill()
    return process.returncode, err.decode()


@pytest.fixture
def key_file(stack: LocalStack, tmp_path: Path) -> Path:
    assert stack.keys is not None
    path = tmp_path / "relay.key"
    path.write_text(stack.keys.relay_private_key + "\n")
    return path


def test_relay_command_resumes_after_what_is_on_disk_and_loses_nothing_when_killed_mid_flush(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    state = tmp_path / "state"
    with (
        FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake,
        SwitchableProxy(stack.gateway_events_url) as proxy,
    ):
        discord = fake.discord
        assert discord is not None
        first = start_relay(discord.api_base, proxy.url, key_file, state)
        try:
            wait(live(fake), first)
            dispatch(fake, 10)  # seqs 2..11: batches [2..6] and [7..11]
            wait(lambda: checkpoint(state).get("seq") == 11, first)
            proxy.held.set()
            dispatch(fake, 7)  # seqs 12..18: [12..16] is sealed and POSTed (held), 17 and 18 are in memory
            wait(proxy.holding.is_set, first)
            code, err = stop(first, signal.SIGKILL)
        finally:
            first.kill()
        assert code == -signal.SIGKILL
        [session_id] = discord.sessions
        assert checkpoint(state)["seq"] == 11 and checkpoint(state)["session_id"] == session_id
        assert [(e.batch_id.split("-")[-2:]) for e in Spool(state / "shard-0").pending()] == [["12", "16"]]
        proxy.released.set()
        proxy.held.clear()
        dispatch(fake, 3)  # seqs 19..21, while no relay runs: Discord keeps them for the resume

        second = start_relay(discord.api_base, proxy.url, key_file, state)
        try:
            wait(live(fake, after=1), second)
            dispatch(fake, 3)
            wait(lambda: discord.sessions[session_id].seq == 25, second)
            code, err = stop(second, signal.SIGTERM)
        finally:
            second.kill()

    assert code == 0, err
    # Resumed after the spooled batch, not after the checkpoint: Discord replayed 17..21 only.
    assert discord.resumes == [{"session_id": session_id, "seq": 16, "path": discord.resumes[0]["path"]}]
    assert discord.resumes[0]["path"].startswith("/resume")
    stored = check_invariant(stack, discord)
    assert not stored["gaps"] and {seq for (_, seq) in stored["gateway"]} == set(range(1, 26))
    assert checkpoint(state)["seq"] == 25 and not Spool(state / "shard-0").pending()
    assert discord.connections[-1].client_close == 4000  # SIGTERM closes resumably: Discord keeps the session
    assert TOKEN not in err


def test_relay_command_records_exactly_the_lost_range_as_a_gap_when_restarted_after_the_session_expired(
    stack: LocalStack, tmp_path: Path, key_file: Path
) -> None:
    state = tmp_path / "state"
    with (
        FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake,
        SwitchableProxy(stack.gateway_events_url) as proxy,
    ):
        discord = fake.discord
        assert discord is not None
        first = start_relay(discord.api_base, proxy.url, key_file, state)
        try:
            wait(live(fake), first)
            dispatch(fake, 12)  # seqs 2..13: [2..6] and [7..11] go out, 12 and 13 wait in memory
            wait(lambda: checkpoint(state).get("seq") == 11, first)
            code, _ = stop(first, signal.SIGKILL)
        finally:
            first.kill()
        assert code == -signal.SIGKILL
        [old] = discord.sessions
        fake.call(lambda d: d.expire(old))
        dispatch(fake, 4)  # seqs 14..17, to a session nobody will resume

        second = start_relay(discord.api_base, proxy.url, key_file, state)
        try:
            wait(lambda: len(discord.sessions) == 2 and discord.live() is not None, second)
            dispatch(fake, 3)
            code, err = stop(second, signal.SIGTERM)
        finally:
            second.kill()

    assert code == 0, err
    assert discord.resumes[0]["session_id"] == old and discord.resumes[0]["seq"] == 11
    stored = check_invariant(stack, discord)
    [gap] = stored["gaps"]
    assert (gap["session_id"], gap["last_seq"], gap["from_seq"], gap["to_seq"]) == (old, 11, 12, None)
    assert gap["reason"] == "session_expired" and gap["since"] <= gap["until"]
    assert discord.sessions[old].seq == 17  # 12..17 existed and are exactly what the gap names
    new = next(sid for sid in discord.sessions if sid != old)
    assert {seq for (sid, seq) in stored["gateway"] if sid == new} == set(range(1, 5))
    assert checkpoint(state)["session_id"] == new and checkpoint(state)["gap"] is None


def scrape(text: str) -> list[Any]:
    """Every sample of a /metrics answer, read by prometheus_client's own parser."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        # A busy relay may be slow to answer, never silent: the read waits as long as the other waits do.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=PATIENCE_S) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def test_relay_command_forwards_to_the_dev_stack_and_serves_health_and_metrics_when_no_endpoint_is_given(
    stack: LocalStack, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FakeDiscordThread(TOKEN, heartbeat_interval_ms=5000) as fake:
        discord = fake.discord
        assert discord is not None
        relay = start_relay(
            discord.api_base,
            None,
            None,
            state,
            "--health-port",
            str(port),
            "--batch-size",
            "2",
            env={"GUILDLOG_DEV_FILE": str(stack.dev_file)},
        )
        try:
            wait(lambda: http_get(port, "/healthz")[0] == 200, relay)
            dispatch(fake, 5)
            wait(lambda: checkpoint(state).get("seq") == 5, relay)
            status, health = http_get(port, "/healthz")
            metrics = http_get(port, "/metrics")[1]
            code, err = stop(relay, signal.SIGTERM)
        finally:
            relay.kill()

    assert code == 0, err
    assert status == 200 and json.loads(health)["shards"]["0"]["connected"] is True
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in scrape(metrics)}
    assert samples[("guildlog_relay_events_total", (("shard", "0"), ("type", "MESSAGE_CREATE")))] == 5
    assert samples[("guildlog_relay_shard_connected", (("shard", "0"),))] == 1
    stored = check_invariant(stack, discord)
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, 7))
    assert TOKEN not in err and "session started" in err
