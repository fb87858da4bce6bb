"""The `guildlog` command's mistakes: each ends in one line on stderr that names the cause and the
fix, exit 2 for a command line that cannot run as typed and 1 for a failure, and no traceback
unless --debug asks for it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from guildlog.errors import QueryError
from guildlog_tools.cli import main
from guildlog_tools.cli.errors import describe

GUILD = "123456789012345678"
NAMED = ["query", "--named", "top_members", "--param", f"guild={GUILD}"]


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, no region, no instance metadata: nothing here may reach a network."""
    for name in (
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "GUILDLOG_BUCKET_NAME",
        "GUILDLOG_STACK", "GUILDLOG_ATHENA_WORKGROUP", "GUILDLOG_GLUE_DATABASE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3's default session keeps the credentials an earlier test resolved, and other sources may
    # be set up by tests that ran before: start from none, and whatever is left finds no credentials.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: None)
    monkeypatch.chdir(tmp_path)


def existing_key(tmp: Path) -> list[str]:
    (tmp / "relay.key").write_text("the key the stack trusts\n")
    return ["keygen", "--out", "relay.key"]


# (id, argv or a function of the temporary folder giving it, exit code, words the one line must hold)
MISTAKES: list[Any] = [
    ("keygen-out-missing-folder", ["keygen", "--out", "nowhere/relay.key"], 2, ["nowhere", "does not exist", "create"]),
    ("keygen-out-existing-file", existing_key, 2, ["relay.key", "already exists", "delete"]),
    ("keygen-out-a-folder", ["keygen", "--out", "."], 2, ["is a folder", "file name"]),
    (
        "export-out-missing-folder",
        ["export", "--local", "--dev-file", "dev.json", "--guild", GUILD, "--day", "2026-11-20", "--out", "no/x.json"],
        2,
        ["--out", "does not exist"],
    ),
    ("export-no-days", ["export", "--local", "--guild", GUILD], 2, ["--day", "--from", "--to"]),
    ("export-bad-day", ["export", "--local", "--guild", GUILD, "--day", "2026-02-30"], 2, ["--day", "calendar day"]),
    ("export-day-and-range", ["export", "--guild", GUILD, "--day", "2026-11-20", "--from", "2026-11-19"], 2, ["both"]),
    ("export-bad-guild", ["export", "--local", "--guild", "general", "--day", "2026-11-20"], 2, ["snowflake"]),
    ("export-unknown-format", ["export", "--guild", GUILD, "--format", "xml"], 2, ["invalid choice", "--help"]),
    ("export-no-archive", ["export", "--guild", GUILD, "--day", "2026-11-20"], 2, ["--local", "--bucket", "--stack"]),
    ("query-param-bad-day", [*NAMED, "--param", "day=2026-13-45"], 2, ["day", "YYYY-MM-DD", "--list"]),
    ("query-param-bad-calendar-day", [*NAMED, "--param", "day=2026-02-30"], 2, ["day is not a calendar day"]),
    ("query-param-no-equals", [*NAMED, "--param", "day"], 2, ["KEY=VALUE"]),
    ("query-param-unknown", [*NAMED, "--param", "colour=red"], 2, ["unknown parameter", "colour"]),
    ("query-unknown-name", ["query", "--named", "nope"], 2, ["no named query", "top_members"]),
    ("query-sql-and-named", ["query", "SELECT 1", "--named", "top_members"], 2, ["either"]),
    ("query-no-target", [*NAMED, "--param", "day=2026-11-20"], 2, ["--stack", "--local"]),
    (
        "query-stack-without-region",
        [*NAMED, "--param", "day=2026-11-20", "--stack", "guildlog"],
        1,
        ["stack 'guildlog'", "no AWS region", "--region"],
    ),
    (
        "query-stack-without-credentials",
        [*NAMED, "--param", "day=2026-11-20", "--stack", "guildlog", "--region", "eu-west-1"],
        1,
        ["stack 'guildlog'", "credentials", "aws configure"],
    ),
    ("query-local-without-dev-stack", [*NAMED, "--param", "day=2026-11-20", "--local"], 1, ["guildlog dev"]),
    ("compact-range-backwards", ["compact", "--local", "--day", "2026-11-20", "--to", "2026-11-19"], 2, ["before"]),
    ("compact-missing-day", ["compact", "--local"], 2, ["--day", "required"]),
    ("unknown-flag", ["keygen", "--colour"], 2, ["unrecognized", "--colour"]),
    ("unknown-command", ["frobnicate"], 2, ["invalid choice", "frobnicate"]),
]


@pytest.mark.parametrize(("argv", "code", "words"), [pytest.param(*m[1:], id=m[0]) for m in MISTAKES])
def test_cli_ends_in_one_line_naming_cause_and_fix_when_a_person_makes_a_mistake(
    argv: Any, code: int, words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argv(tmp_path) if callable(argv) else argv
    try:
        got = main(args)
    except SystemExit as exit_:  # argparse's own mistakes
        got = int(exit_.code or 0)

    out, err = capsys.readouterr()
    assert got == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(word in err for word in words), err


def test_cli_keeps_an_existing_key_file_when_keygen_is_pointed_at_it(tmp_path: Path) -> None:
    main(existing_key(tmp_path))

    assert (tmp_path / "relay.key").read_text() == "the key the stack trusts\n"


def test_cli_says_unexpected_in_one_line_and_points_at_debug_when_a_bug_surfaces(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> Any:
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr("guildlog_tools.cli.keygen.generate_keypair", broken)

    code = main(["keygen"])

    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1
    assert "RuntimeError: something nobody planned for" in err and "--debug" in err


@pytest.mark.parametrize("argv", [["--debug", "keygen"], ["keygen", "--debug"]], ids=["before", "after"])
def test_cli_raises_the_traceback_when_debug_is_given(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    def broken() -> Any:
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr("guildlog_tools.cli.keygen.generate_keypair", broken)

    with pytest.raises(RuntimeError, match="nobody planned"):
        main(argv)


def test_cli_exits_quietly_when_the_reader_of_its_output_goes_away(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())

    code = main(["keygen"])

    assert code == 1 and capsys.readouterr().err == ""


def test_describe_names_the_reason_when_the_error_carries_one() -> None:
    error = QueryError("the query failed on DuckDB", reason='Binder Error: column "nope" not found')

    assert describe(error) == 'the query failed on DuckDB (reason: Binder Error: column "nope" not found)'
