"""`guildlog import`'s command line: mistakes end in one line and exit 2, failures exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from guildlog_tools.cli import main
from tests.unit.tools.importers.conftest import own


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the default checkpoint folder lands here
    monkeypatch.delenv("GUILDLOG_SIGNING_KEY_FILE", raising=False)


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_import_cli_exits_2_with_one_line_when_path_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "dce", "missing-folder", "--local"]) == 2
    assert "missing-folder: no such file or folder" in one_line(capsys)


def test_import_cli_exits_2_when_guild_is_not_a_snowflake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "ndjson", str(own("ndjson")), "--guild", "my-server", "--local"]) == 2
    assert "--guild 'my-server' is not a server id" in one_line(capsys)


def test_import_cli_exits_2_naming_the_targets_when_none_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "ndjson", str(own("ndjson"))]) == 2
    assert "name the target: --local, --stack NAME or --endpoint URL" in one_line(capsys)


def test_import_cli_exits_2_when_endpoint_has_no_signing_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "ndjson", str(own("ndjson")), "--endpoint", "http://127.0.0.1:9/gateway/events"]) == 2
    assert "--signing-key-file PATH" in one_line(capsys)


def test_import_cli_exits_2_when_format_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["import", "slack", str(own("ndjson")), "--local"])
    assert exited.value.code == 2
    assert "invalid choice: 'slack'" in one_line(capsys)


def test_import_cli_exits_1_pointing_at_guildlog_dev_when_local_stack_is_not_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["import", "ndjson", str(own("ndjson")), "--local", "--dev-file", str(tmp_path / "none.json")])
    assert code == 1
    assert "start the local stack with `guildlog dev` first" in one_line(capsys)


def test_import_cli_exits_1_with_the_reason_when_nothing_could_be_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from guildlog.adapters.signatures import generate_keypair

    key = tmp_path / "relay.key"
    key.write_text(generate_keypair().private_key, encoding="utf-8")
    endpoint = "http://127.0.0.1:9/gateway/events"  # never called: there is nothing to send
    args = ["import", "dce", str(own("not-the-format.json")), "--endpoint", endpoint, "--signing-key-file", str(key)]
    assert main([*args, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "nothing in" in captured.err and "could be read as dce" in captured.err
    assert "not-the-format.json: file is not in this format" in captured.out
