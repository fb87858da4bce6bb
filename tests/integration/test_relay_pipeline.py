"""The relay pipeline over real HTTP against a fake ingest webhook on 127.0.0.1, in process and as
`guildlog relay --replay` subprocesses (one of them killed with SIGKILL mid-run)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import defaultdict

import pytest

from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog_relay.batcher import Batcher
from guildlog_relay.pipeline import Pipeline
from guildlog_relay.poster import Poster, RetryPolicy
from guildlog_relay.replay import run_replay
from guildlog_relay.spool import Spool
from guildlog_tools.cli import main
from tests.fakes.webhook import Answer, FakeWebhook, event_id

pytestmark = pytest.mark.integration

START = 1_767_225_540  # 2025-12-31T23:59:00Z: the recording crosses a UTC midnight
# Generous upper bounds for things that normally take milliseconds; never asserted on.
PATIENCE_S = 120
# The poster's timeout where a stalled answer must make it give up: a stall outlasts it whatever its
# length, and every ordinary answer of the local fake comes well within it even on a loaded machine.
STALLED_CLIENT_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def keys():
    return generate_keypair()


@pytest.fixture
def recording(tmp_path):
    """40 dispatches (heartbeat frames between them), 0.5 s apart in received_at."""
    lines = [json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}})]
    for seq in range(1, 41):
        data = {"id": str(1_300_000_000_000_000_000 + seq), "channel_id": "1200000000000000000", "content": f"m{seq}"}
        frame = {"op": 0, "t": "MESSAGE_CREATE", "s": seq, "d": data, "received_at": START + seq / 2}
        lines.append(json.dumps(frame))
        if seq % 10 == 0:
            lines.append(json.dumps({"op": 11}))
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def pipeline_for(url: str, keys, state_dir, *, batch_size: int = 5, timeout: float = 5.0) -> Pipeline:
    poster = Poster(
        url,
        Signer(keys.private_key),
        policy=RetryPolicy(max_retries=6, base_delay=0.001, max_delay=0.01),
        timeout=timeout,
    )
    return Pipeline(spool=Spool(state_dir), poster=poster, batcher=Batcher(max_events=batch_size, max_age_ms=60_000))


def batches_per_event(hook: FakeWebhook) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for delivery in hook.deliveries:
        for event in delivery.envelope.events:
            seen[event_id(event)].add(delivery.batch_id)
    return seen


def test_pipeline_loses_nothing_when_webhook_fails_with_500_503_and_timeouts_then_recovers(tmp_path, keys, recording):
    with FakeWebhook(keys.public_key) as hook:
        hook.script(500, Answer(503, {"Retry-After": "0"}), Answer(503, stall=True), 502, Answer(503, stall=True), 500)
        pipeline = pipeline_for(hook.url, keys, tmp_path / "state", timeout=STALLED_CLIENT_TIMEOUT_S)

        result = run_replay(recording, pipeline)

    assert result.ok, result.errors
    assert sorted(e.seq for d in hook.deliveries for e in d.envelope.events) == list(range(1, 41))
    assert all(len(batch_ids) == 1 for batch_ids in batches_per_event(hook).values())
    assert {r.batch_id for r in hook.requests if r.batch_id} == set(hook.delivered_ids)
    assert result.stats.retries == 6 and result.stats.accepted == 40
    assert not list((tmp_path / "state" / "spool").iterdir())


def test_pipeline_splits_until_accepted_when_webhook_answers_413(tmp_path, keys, recording):
    with FakeWebhook(keys.public_key, max_events=3) as hook:
        result = run_replay(recording, pipeline_for(hook.url, keys, tmp_path / "state", batch_size=10))

    assert result.ok
    assert [e.seq for d in hook.deliveries for e in d.envelope.events] == list(range(1, 41))
    assert max(len(d.envelope.events) for d in hook.deliveries) <= 3


def test_relay_command_fails_loudly_when_the_stack_has_another_public_key(tmp_path, keys, recording, capsys):
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key)
    with FakeWebhook(generate_keypair().public_key) as hook:
        code = main(["relay", "--replay", str(recording), "--endpoint", hook.url, "--signing-key-file",
                     str(key_file), "--state-dir", str(tmp_path / "state")])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert "401" in err and "RelayPublicKey does not match --signing-key-file" in err
    assert len(list((tmp_path / "state" / "rejected").glob("*.reason.json"))) == 1
    assert hook.deliveries == []


def test_relay_command_uses_the_dev_stack_when_no_endpoint_is_given(tmp_path, keys, recording, capsys, monkeypatch):
    with FakeWebhook(keys.public_key) as hook:
        dev = tmp_path / "dev.json"
        dev.write_text(
            json.dumps({"api_url": hook.url.removesuffix("/gateway/events"), "relay_private_key": keys.private_key})
        )
        monkeypatch.setenv("GUILDLOG_DEV_FILE", str(dev))
        monkeypatch.setenv("GUILDLOG_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.delenv("GUILDLOG_ENDPOINT", raising=False)
        monkeypatch.delenv("GUILDLOG_SIGNING_KEY_FILE", raising=False)

        code = main(["relay", "--replay", str(recording), "--json", "--linger-ms", "0"])

    counts = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (counts["frames"], counts["dispatches"], counts["skipped"], counts["accepted"]) == (45, 40, 5, 40)
    # No linger, the default flush of 1000 ms on the frames' own clock: events 0.5 s apart go two by two.
    assert counts["batches"] == counts["acknowledged"] == 20 and counts["pending"] == 0
    assert (tmp_path / "state" / "spool").is_dir()


def test_relay_command_prints_its_progress_in_plain_lines_when_stderr_is_not_a_terminal(
    tmp_path, keys, recording, capsys, monkeypatch
):
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key)
    monkeypatch.setenv("GUILDLOG_PROGRESS_INTERVAL", "0")  # a line at every step, not every 10 s
    with FakeWebhook(keys.public_key) as hook:
        code = main(["relay", "--replay", str(recording), "--endpoint", hook.url, "--signing-key-file",
                     str(key_file), "--state-dir", str(tmp_path / "state")])  # fmt: skip

    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("replay:")]
    assert code == 0
    assert lines[0].startswith("replay: 2/45 frames (4%), ")  # the first dispatch comes after a HELLO
    assert "replay: 45/45 frames (100%), " in "\n".join(lines)
    assert lines[-1].startswith("replay: done, 45/45 frames (100%) in ")


def relay_process(recording, hook: FakeWebhook, key_file, state_dir, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDLOG_")}
    command = [
        sys.executable, "-c", "import sys; from guildlog_tools.cli import main; sys.exit(main())",
        "relay", "--replay", str(recording), "--endpoint", hook.url, "--signing-key-file", str(key_file),
        "--state-dir", str(state_dir), "--batch-size", "5", "--flush-ms", "60000", "--timeout", str(PATIENCE_S),
        "--backoff-ms", "1", "--max-backoff-ms", "10", "--json", *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=state_dir.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_relay_command_delivers_everything_with_the_spooled_batch_ids_when_restarted_after_sigkill(
    tmp_path, keys, recording
):
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key + "\n")
    state = tmp_path / "state"
    with FakeWebhook(keys.public_key) as reference_hook:
        assert run_replay(recording, pipeline_for(reference_hook.url, keys, tmp_path / "reference")).ok
    reference_ids = reference_hook.delivered_ids

    with FakeWebhook(keys.public_key) as first_hook:
        first_hook.hold_from(4)  # three batches acknowledged, the fourth is in flight when the relay dies
        first = relay_process(recording, first_hook, key_file, state)
        try:
            assert first_hook.holding.wait(PATIENCE_S), first.stderr.read() if first.poll() is not None else ""
            first.send_signal(signal.SIGKILL)
            first.wait(PATIENCE_S)
        finally:
            first.kill()
            first.communicate()
        spooled = [entry.batch_id for entry in Spool(state).pending()]
    assert first.returncode == -signal.SIGKILL
    assert first_hook.delivered_ids == reference_ids[:3]
    assert spooled == [reference_ids[3]]

    with FakeWebhook(keys.public_key) as second_hook:
        second = relay_process(recording, second_hook, key_file, state)
        out, err = second.communicate(timeout=PATIENCE_S)

    assert second.returncode == 0, err.decode()
    assert second_hook.delivered_ids == [*spooled, *reference_ids]
    delivered = {event_id(e) for hook in (first_hook, second_hook) for d in hook.deliveries for e in d.envelope.events}
    assert delivered == {event_id(e) for d in reference_hook.deliveries for e in d.envelope.events}
    assert len(delivered) == 40
    counts = json.loads(out)
    assert counts["recovered"] == 1 and counts["ok"] is True
    assert not list((state / "spool").iterdir())


def test_relay_command_exits_1_and_keeps_the_batch_when_nothing_listens_at_the_endpoint(
    tmp_path, keys, recording, capsys
):
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key)

    code = main(["relay", "--replay", str(recording), "--endpoint", f"http://127.0.0.1:{port}/gateway/events",
                 "--signing-key-file", str(key_file), "--state-dir", str(tmp_path / "state"),
                 "--max-retries", "2", "--backoff-ms", "1"])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert "did not take a batch after 2 retries" in err and "1 batch(es) wait in" in err
    assert len(Spool(tmp_path / "state")) == 1


class StderrWatch:
    """Reads a subprocess's stderr on a thread; `seen(text)` waits until a line contains `text`."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for raw in process.stderr:
            with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()

    def seen(self, text: str) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(text in line for line in self.lines), PATIENCE_S)

    def text(self) -> str:
        self._thread.join(PATIENCE_S)
        return "".join(self.lines)


def reap(process: subprocess.Popen, watch: StderrWatch) -> None:
    """Kill the process if it still runs, then close its pipes once the watch has read stderr to the end."""
    process.kill()
    process.wait(PATIENCE_S)
    watch.text()
    process.stdout.close()
    process.stderr.close()


def test_relay_command_finishes_the_batch_in_flight_and_exits_0_when_sigterm_arrives_during_a_replay(
    tmp_path, keys, recording
):
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key)
    state = tmp_path / "state"
    with FakeWebhook(keys.public_key) as reference_hook:
        assert run_replay(recording, pipeline_for(reference_hook.url, keys, tmp_path / "reference")).ok

    with FakeWebhook(keys.public_key) as hook:
        hook.hold_from(4)  # three batches acknowledged, the fourth in flight when SIGTERM comes
        process = relay_process(recording, hook, key_file, state)
        watch = StderrWatch(process)
        try:
            assert hook.holding.wait(PATIENCE_S), watch.text()
            process.send_signal(signal.SIGTERM)
            assert watch.seen("stopping"), watch.text()
            hook.release()
            process.wait(timeout=PATIENCE_S)  # stderr is the watch's to read: no communicate()
            out = process.stdout.read()
        finally:
            reap(process, watch)

    assert process.returncode == 0, watch.text()
    assert hook.delivered_ids == reference_hook.delivered_ids[:4]
    counts = json.loads(out)
    assert counts["stopped"] is True and counts["accepted"] == 20 and counts["pending"] == 0
    assert not list((state / "spool").iterdir())


def test_relay_command_keeps_the_batch_in_the_spool_and_exits_0_when_the_drain_deadline_passes(
    tmp_path, keys, recording
):
    key_file = tmp_path / "relay.key"
    key_file.write_text(keys.private_key)
    state = tmp_path / "state"
    with FakeWebhook(keys.public_key) as hook:
        hook.hold_from(4)  # the fourth batch is never answered before the drain deadline
        process = relay_process(recording, hook, key_file, state, "--drain-timeout", "0.5")
        watch = StderrWatch(process)
        try:
            assert hook.holding.wait(PATIENCE_S), watch.text()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=PATIENCE_S)  # stderr is the watch's to read: no communicate()
            out = process.stdout.read()
        finally:
            reap(process, watch)
        spooled = [entry.batch_id for entry in Spool(state).pending()]

    assert process.returncode == 0, watch.text()
    assert len(hook.delivered_ids) == 3 and len(spooled) == 1
    assert json.loads(out)["pending"] == 1
    assert "1 batch(es) wait in" in watch.text()
