"""`guildlog commands sync|diff` against a fake Discord REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guildlog.services.commands.definitions import registration_payload
from guildlog_tools.cli import main
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, Scripted

pytestmark = pytest.mark.integration

APP = "1300000000000000001"
GUILD = "1300000000000000100"


@pytest.fixture
def discord(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscordRest]:
    monkeypatch.setenv("DISCORD_TOKEN", BOT_TOKEN)
    monkeypatch.delenv("DISCORD_APPLICATION_ID", raising=False)
    monkeypatch.delenv("GUILDLOG_DISCORD_API_BASE", raising=False)
    with FakeDiscordRest(application_id=APP) as server:
        yield server


def cli(discord: FakeDiscordRest, *args: str) -> int:
    return main(["commands", *args, "--api-base", discord.api_base])


def test_sync_registers_every_defined_command_globally_when_run(
    discord: FakeDiscordRest, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(discord, "sync") == 0

    [put] = [r for r in discord.requests if r.method == "PUT"]
    assert put.path == f"/applications/{APP}/commands"
    assert put.body == registration_payload()
    out = capsys.readouterr().out
    assert "registered 3 commands" in out and BOT_TOKEN not in out


def test_sync_registers_in_one_server_when_a_guild_is_given(discord: FakeDiscordRest) -> None:
    assert cli(discord, "sync", "--guild", GUILD) == 0

    assert list(discord.commands) == [(APP, GUILD)]


def test_sync_sends_nothing_when_it_is_a_dry_run(discord: FakeDiscordRest, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(discord, "sync", "--dry-run") == 0

    assert [r.method for r in discord.requests] == ["GET", "GET"]  # who am I, what is registered
    assert "+ /logs" in capsys.readouterr().out


def test_sync_dry_run_shows_the_definitions_when_no_token_is_set(
    discord: FakeDiscordRest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN")

    assert cli(discord, "sync", "--dry-run") == 0

    assert discord.requests == []
    assert "would PUT 3 global commands: /logs, /stats, /forget-me" in capsys.readouterr().out


def test_diff_shows_what_differs_and_exits_1_when_asked_to(
    discord: FakeDiscordRest, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(discord, "sync")
    registered = discord.commands[(APP, None)]
    registered[0]["description"] = "an older description"
    registered.append({"id": "1", "name": "oldcommand", "type": 1, "description": "gone"})
    capsys.readouterr()

    assert cli(discord, "diff", "--exit-code") == 1

    out = capsys.readouterr().out
    assert "~ /logs" in out and "description: 'an older description' → " in out
    assert "- /oldcommand" in out and "= /stats" in out
    assert cli(discord, "diff") == 0


def test_diff_is_in_sync_right_after_a_sync_when_discord_adds_its_defaults(
    discord: FakeDiscordRest, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(discord, "sync", "--guild", GUILD)

    assert cli(discord, "diff", "--guild", GUILD, "--exit-code", "--json") == 0
    assert '"in_sync": true' in capsys.readouterr().out


def test_commands_read_the_token_from_a_file_when_given(
    discord: FakeDiscordRest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN")
    token_file = tmp_path / "bot.token"
    token_file.write_text(BOT_TOKEN + "\n")

    assert cli(discord, "diff", "--token-file", str(token_file), "--application-id", APP) == 0
    assert all(r.authorized for r in discord.requests)


def test_commands_fail_with_a_message_when_no_token_is_given(
    discord: FakeDiscordRest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN")

    assert cli(discord, "diff") == 2  # a usage mistake
    assert "no bot token" in capsys.readouterr().err


def test_commands_fail_with_discords_reason_when_the_token_is_refused(
    discord: FakeDiscordRest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")

    assert cli(discord, "sync") == 1
    err = capsys.readouterr().err
    assert "401" in err and "not-the-token" not in err
    assert discord.commands == {}


def test_sync_waits_out_a_rate_limit_when_discord_answers_429(discord: FakeDiscordRest) -> None:
    discord.script(Scripted(r"PUT /applications/\d+/commands", 429, {"retry_after": 0.01}))

    assert cli(discord, "sync") == 0
    assert [r.status for r in discord.requests if r.method == "PUT"] == [429, 200]
