"""`guildlog demo` end to end: a fresh stack, the real relay as a subprocess, the report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from guildlog_tools.local.demo import default_session_file

pytestmark = pytest.mark.integration

DEMO_TIMEOUT_S = 600


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guildlog_tools.cli", "demo", *args]
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


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """One run of the demo, shared by the tests that read its report."""
    return run_demo()


def section(output: str, heading: str) -> str:
    """The report's section under `== <heading>…`, up to the next one."""
    start = output.index("== " + heading)
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else len(output)]


def test_demo_recovers_deleted_message_when_session_is_replayed(demo: subprocess.CompletedProcess[str]) -> None:
    message_id, content = edited_then_deleted(default_session_file())
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert message_id in demo.stdout
    assert content in demo.stdout


def test_demo_answers_slash_commands_signed_as_discord_would_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    report = section(demo.stdout, "Slash commands")
    assert "<- HTTP 200, type 1 PONG" in report
    # The moderator's deletion, recovered by its link, with the moderator named by the audit log.
    recovered = report[report.index("-> /logs message message:https://discord.com/channels/") :]
    assert "deleted by @" in recovered.split("\n  -> ", 1)[0] and "(audit log)" in recovered
    assert "type 7 updated message" in report and "page 2" in report
    # /stats 30d: deferred, then WorkerFunction's edit of @original on the local fake Discord.
    deferred = report[report.index("-> /stats period:30d") :]
    assert "type 5 deferred" in deferred and "WorkerFunction: PATCH /webhooks/" in deferred
    assert "Activity · 30d" in deferred
    assert "logged as `command` events" in report


def test_demo_compacts_each_partition_day_to_one_object_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    report = section(demo.stdout, "Nightly compaction")
    rows = [
        line.split() for line in report.splitlines() if line.split()[:1] in (["raw/"], ["events/"], ["events_csv/"])
    ]
    assert len(rows) == 3
    for row in rows:
        cells = " ".join(row[1:]).split("->")
        assert [cell.strip().split()[0] for cell in cells[1:]] == ["1"] * (len(cells) - 1), row


def test_demo_exports_a_channel_through_logs_export_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    report = section(demo.stdout, "/logs export")
    assert "type 5" in report
    assert ".dce.json](http://127.0.0.1:" in report
    assert "the link downloads" in report and "(DiscordChatExporter's layout)" in report


def test_demo_ends_with_every_named_query_run_locally_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    from guildlog.queries import named_queries

    message_id, content = edited_then_deleted(default_session_file())
    report = section(demo.stdout, "The named Athena queries")
    assert demo.stdout.rstrip().endswith("guildlog demo: done")
    for name in named_queries():
        assert f"-- {name}  (" in report, name
    deleted = report[report.index("-- deleted_messages") : report.index("-- joins_and_leaves")]
    assert message_id in deleted and content in deleted
    assert "partition pruning: top_members for 2026-11-19 read" in report


def test_demo_opens_with_a_summary_of_every_step_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    report = demo.stdout
    summary = section(report, "Summary")

    assert report.index("== Summary") < report.index("== Replaying")
    for words in ("replayed", "S3 archive", "normalized rows", "deleted message", "slash commands", "named Athena"):
        assert words in summary, words


def test_demo_shows_the_stacks_real_default_retention_when_logs_status_is_asked(
    demo: subprocess.CompletedProcess[str],
) -> None:
    status = section(demo.stdout, "Slash commands").split("-> /logs status", 1)[1].split("\n  -> ", 1)[0]

    assert "Retention 30 days (the stack's default)" in status


def test_demo_dates_the_command_events_by_its_pinned_clock_when_commands_are_logged(
    demo: subprocess.CompletedProcess[str],
) -> None:
    used = section(demo.stdout, "The named Athena queries").split("-- commands_used", 1)[1].split("\n\n", 1)[0]
    days = set(re.findall(r"(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}", used))

    assert days and days <= {"2026-11-19", "2026-11-20"}  # the recording's days, not the day the demo runs


def test_demo_exits_nonzero_with_message_when_session_file_is_missing(tmp_path: Path) -> None:
    done = run_demo("--session", str(tmp_path / "absent.jsonl"))
    assert done.returncode != 0
    assert "absent.jsonl" in done.stderr


def test_demo_ends_by_showing_the_log_channel_as_a_moderator_sees_it_when_session_is_replayed(
    demo: subprocess.CompletedProcess[str],
) -> None:
    log = section(demo.stdout, "The log channels, as a moderator sees them")
    assert "#mod-log" in log
    assert "┃ Message deleted" in log and "Deleted by: @" in log
    assert "┃ Member banned" in log and "Moderator: @" in log
    assert "📎 deleted-" in log  # the bulk delete's transcript
