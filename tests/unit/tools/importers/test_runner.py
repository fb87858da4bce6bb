"""guildlog_tools.importers.runner: re-runs, interrupted runs and resumes, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from guildlog.errors import ConfigurationError
from guildlog_tools.importers import source_for
from guildlog_tools.importers.checkpoint import Checkpoint
from guildlog_tools.importers.runner import run_import
from guildlog_tools.importers.sink import Counts
from tests.unit.tools.importers.conftest import MemoryStack, own

ROLLOVER = own("daf/History/2024/02/03")
BATCH = 40


class Killed(Exception):
    pass


class DyingSink:
    """Passes `batches` batches to the real sink, then dies as a killed process would."""

    def __init__(self, sink: object, batches: int) -> None:
        self.sink = sink
        self.left = batches

    def send(self, batch_id: str, body: bytes) -> Counts:
        if self.left == 0:
            raise Killed()
        self.left -= 1
        return self.sink.send(batch_id, body)  # type: ignore[attr-defined]


def test_runner_imports_nothing_new_when_the_same_folder_runs_again(stack: MemoryStack) -> None:
    run_import(source_for("discard"), own("discard"), stack.sink)
    before = stack.snapshot()
    again = run_import(source_for("discard"), own("discard"), stack.sink)
    assert stack.snapshot() == before
    assert (again.imported, again.duplicates) == (0, again.read)


def test_runner_changes_nothing_when_an_overlapping_file_holds_the_same_messages(stack: MemoryStack) -> None:
    run_import(source_for("discard"), own("discard"), stack.sink)
    hot_before = stack.snapshot()[1]
    page = own("discard/20240203T101500_guild/800000000000000001/800000000000000010.jsonl.gz")
    overlap = run_import(source_for("discard"), page, stack.sink)
    assert overlap.imported == 0
    assert stack.snapshot()[1] == hot_before


@pytest.mark.parametrize("killed_after", [0, 1, 3, 6])
def test_runner_ends_with_same_rows_as_a_straight_run_when_killed_and_resumed(
    tmp_path: Path, killed_after: int
) -> None:
    straight = MemoryStack()
    run_import(source_for("daf"), ROLLOVER, straight.sink, batch_events=BATCH)
    resumed = MemoryStack()
    checkpoint = Checkpoint(tmp_path / "cp.json", "daf-rollover")
    with pytest.raises(Killed):
        run_import(
            source_for("daf"),
            ROLLOVER,
            DyingSink(resumed.sink, killed_after),
            checkpoint=checkpoint,
            batch_events=BATCH,
        )
    summary = run_import(source_for("daf"), ROLLOVER, resumed.sink, checkpoint=checkpoint, batch_events=BATCH)
    assert resumed.snapshot() == straight.snapshot()
    assert (summary.read, summary.imported, summary.duplicates) == (
        274,
        274,
        0,
    )  # 248 sends, 25 of them also to a locked channel, 1 join
    assert not checkpoint.path.exists()


def test_runner_resumes_after_the_last_acknowledged_batch_when_checkpoint_exists(tmp_path: Path) -> None:
    stack = MemoryStack()
    checkpoint = Checkpoint(tmp_path / "cp.json", "daf-rollover")
    with pytest.raises(Killed):
        run_import(source_for("daf"), ROLLOVER, DyingSink(stack.sink, 2), checkpoint=checkpoint, batch_events=BATCH)
    saved = checkpoint.load()
    assert (saved.current, saved.position, saved.counts["read"]) == ("Test Guild.json", 2 * BATCH, 2 * BATCH)
    counted = CountingSink(stack.sink)
    run_import(source_for("daf"), ROLLOVER, counted, checkpoint=checkpoint, batch_events=BATCH)
    assert counted.events == 274 - 2 * BATCH


def test_runner_refuses_checkpoint_of_another_import_when_fingerprints_differ(tmp_path: Path) -> None:
    stack = MemoryStack()
    with pytest.raises(Killed):
        run_import(
            source_for("daf"),
            ROLLOVER,
            DyingSink(stack.sink, 1),
            checkpoint=Checkpoint(tmp_path / "cp.json", "one"),
            batch_events=BATCH,
        )
    with pytest.raises(ConfigurationError, match="another import"):
        run_import(source_for("daf"), ROLLOVER, stack.sink, checkpoint=Checkpoint(tmp_path / "cp.json", "two"))


class CountingSink:
    def __init__(self, sink: object) -> None:
        self.sink = sink
        self.events = 0

    def send(self, batch_id: str, body: bytes) -> Counts:
        import json

        self.events += len(json.loads(body)["events"])
        return self.sink.send(batch_id, body)  # type: ignore[attr-defined]
