"""The sam commands `guildlog setup` runs."""

from __future__ import annotations

from guildlog_tools.setup.deploy import sam_commands


def test_sam_commands_pass_every_parameter_when_deploying() -> None:
    build, deploy = sam_commands("guildlog", "eu-west-1", {"RelayPublicKey": "ab", "DiscordApplicationId": "1"})

    assert build == ["sam", "build"]
    overrides = deploy[deploy.index("--parameter-overrides") + 1 :]
    assert overrides == ["RelayPublicKey=ab", "DiscordApplicationId=1"]
    assert "--no-confirm-changeset" in deploy and "--no-fail-on-empty-changeset" in deploy
