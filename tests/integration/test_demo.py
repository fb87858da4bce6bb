"""`guildlog demo` end to end: a fresh stack, the real relay as a subprocess, the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guildlog.local.demo import default_session_file

pytestmark = pytest.mark.integration

DEMO_TIMEOUT_S = 600


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guildlog.cli", "demo", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, check=False)


def edited_then_deleted(session: Path) -> tuple[str, str]:
    """(message id, last content) of the message the recording edits and then deletes."""
    latest: dict[str, str] = {}
    edited: set[str] = set()
    for line in session.read_text(encoding="utf-8").splitlines():
        frame = json.loads(line)
        if frame.get("op") != 0:
            continue
        data = frame["d"]
        if frame["t"] in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and "content" in data:
            latest[data["id"]] = data["content"]
        if frame["t"] == "MESSAGE_UPDATE":
            edited.add(data["id"])
        if frame["t"] == "MESSAGE_DELETE" and data["id"] in edited:
            return data["id"], latest[data["id"]]
    raise AssertionError("the recorded session deletes no edited message")


def test_demo_recovers_deleted_message_when_session_is_replayed() -> None:
    message_id, content = edited_then_deleted(default_session_file())
    done = run_demo()
    assert done.returncode == 0, done.stdout + done.stderr
    assert message_id in done.stdout
    assert content in done.stdout


def test_demo_exits_nonzero_with_message_when_session_file_is_missing(tmp_path: Path) -> None:
    done = run_demo("--session", str(tmp_path / "absent.jsonl"))
    assert done.returncode != 0
    assert "absent.jsonl" in done.stderr
