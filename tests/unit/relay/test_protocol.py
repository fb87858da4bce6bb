"""Gateway protocol constants: the close-code policy, intents and the connect URL."""

from __future__ import annotations

import pytest

from guildlog_relay.protocol import (
    DEFAULT_INTENTS,
    PRIVILEGED_INTENTS,
    CloseAction,
    Intent,
    close_policy,
    gateway_url,
    parse_intents,
)


@pytest.mark.parametrize("code", [4004, 4010, 4011, 4012, 4013, 4014])
def test_close_policy_is_fatal_when_retrying_cannot_help(code: int) -> None:
    assert close_policy(code).action is CloseAction.FATAL


@pytest.mark.parametrize("code", [4007, 4009])
def test_close_policy_identifies_again_when_the_session_is_gone(code: int) -> None:
    assert close_policy(code).action is CloseAction.REIDENTIFY


@pytest.mark.parametrize("code", [None, 1000, 1001, 1006, 1011, 3000, 4000, 4001, 4002, 4003, 4005, 4008, 4999])
def test_close_policy_resumes_when_the_session_may_still_be_there(code: int | None) -> None:
    assert close_policy(code).action is CloseAction.RESUME


def test_close_policy_names_the_portal_setting_when_intents_are_disallowed() -> None:
    meaning = close_policy(4014).meaning
    assert "privileged intent" in meaning and "Developer Portal" in meaning


def test_default_intents_include_what_a_server_log_needs_when_not_configured() -> None:
    for needed in (
        Intent.MESSAGE_CONTENT,
        Intent.GUILD_MEMBERS,
        Intent.GUILD_MODERATION,
        Intent.GUILD_VOICE_STATES,
        Intent.GUILD_INVITES,
        Intent.GUILD_MESSAGE_REACTIONS,
        Intent.GUILD_MESSAGES,
    ):
        assert DEFAULT_INTENTS & needed, needed.name
    assert not DEFAULT_INTENTS & Intent.GUILD_PRESENCES
    assert DEFAULT_INTENTS & PRIVILEGED_INTENTS == Intent.GUILD_MEMBERS | Intent.MESSAGE_CONTENT


@pytest.mark.parametrize(
    ("text", "value"),
    [("513", 513), ("GUILDS,GUILD_MESSAGES", 513), (" guilds , message_content ", 1 | 1 << 15), ("default", None)],
)
def test_parse_intents_reads_numbers_and_names_when_given_either(text: str, value: int | None) -> None:
    assert parse_intents(text) == (int(DEFAULT_INTENTS) if value is None else value)


def test_parse_intents_raises_naming_the_intent_when_a_name_is_unknown() -> None:
    with pytest.raises(ValueError, match="GUILD_TYPO"):
        parse_intents("GUILDS,GUILD_TYPO")


def test_gateway_url_sets_version_encoding_and_compression_when_the_url_has_its_own_query() -> None:
    url = gateway_url("wss://gateway-us-east1-b.discord.gg/?v=9&region=x")

    assert url == "wss://gateway-us-east1-b.discord.gg/?region=x&v=10&encoding=json&compress=zlib-stream"
    assert (
        gateway_url("wss://gateway.discord.gg") == "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream"
    )
