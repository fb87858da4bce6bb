"""`guildlog backfill`: its arguments and checkpoint file (the paging: tests/unit/layer/services/test_backfill.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from guildlog.errors import ConfigurationError
from guildlog.services.backfill import Window
from guildlog_tools.cli import main
from guildlog_tools.cli.backfill import FileCheckpoints, checkpoint_path

GUILD = "900000000000000001"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--guild", "12"], "--guild must be a Discord id"),
        (["--guild", GUILD, "--channel", "general"], "--channel must be a Discord id"),
        (["--guild", GUILD, "--after", "yesterday"], "--after must be an ISO 8601 time"),
        (["--guild", GUILD, "--after", "2026-11-20", "--before", "2026-11-19"], "--after must be earlier"),
        (["--guild", GUILD, "--before", "2010-01-01"], "before Discord existed"),
    ],
)
def test_backfill_command_exits_2_with_the_reason_when_an_argument_is_bad(
    arguments: list[str], said: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["backfill", *arguments, "--local", "--dev-file", str(tmp_path / "none.json")])

    assert code == 2 and said in capsys.readouterr().err


def test_file_checkpoints_keep_each_channels_progress_when_read_again(tmp_path: Path) -> None:
    path = tmp_path / "backfill" / "g.json"
    FileCheckpoints(path).set("1", "555", False)
    FileCheckpoints(path).set("2", "777", True)

    again = FileCheckpoints(path)

    assert again.get("1") == ("555", False) and again.get("2") == ("777", True)
    assert again.get("3") == (None, False)


def test_file_checkpoints_refuse_to_guess_when_the_file_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="delete it to start over"):
        FileCheckpoints(path)


def test_checkpoint_path_differs_when_the_window_or_channels_differ(tmp_path: Path) -> None:
    one = checkpoint_path(tmp_path, GUILD, Window(), [])
    assert one == checkpoint_path(tmp_path, GUILD, Window(), [])
    assert one != checkpoint_path(tmp_path, GUILD, Window(datetime(2026, 1, 1, tzinfo=UTC)), [])
    assert one != checkpoint_path(tmp_path, GUILD, Window(), ["900000000000000002"])
