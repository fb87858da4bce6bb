"""guildlog.services.commands.context: option parsing, the checks every service relies on, the reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guildlog.errors import CommandError
from guildlog.models.interaction import CommandOption
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import (
    Reply,
    command_path,
    parse_message_ref,
    parse_since,
    quote,
)
from tests.fakes import interactions as fx
from tests.unit.layer.services.commands.conftest import NOW, call_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(days=14)),
        (" 7D ", NOW - timedelta(days=7)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:30:00+02:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_parse_since_returns_the_moment_when_given_a_duration_or_a_date(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7", "-7d", "0m", "2027-01-01", "7 parsecs"])
def test_parse_since_refuses_with_a_hint_when_text_is_not_a_past_moment(text: str) -> None:
    with pytest.raises(CommandError):
        parse_since(text, NOW)


def test_parse_since_caps_the_lookback_when_asked_for_centuries() -> None:
    assert parse_since("99999w", NOW) == NOW - timedelta(days=3650)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+14:00", "0001-01-01"])
def test_parse_since_caps_the_lookback_when_the_date_falls_off_the_calendar_in_utc(text: str) -> None:
    assert parse_since(text, NOW) == NOW - timedelta(days=3650)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59-23:59"])
def test_parse_since_refuses_as_the_future_when_the_date_falls_off_the_calendar_in_utc(text: str) -> None:
    with pytest.raises(CommandError, match="future"):
        parse_since(text, NOW)


@pytest.mark.parametrize("text", ["７d", "٧d", "2026-11-0١"])
def test_parse_since_refuses_with_a_hint_when_digits_are_not_ascii(text: str) -> None:
    with pytest.raises(CommandError, match="30m, 24h"):
        parse_since(text, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1573123429152981023", ("1573123429152981023", None, None)),
        (
            "https://discord.com/channels/1213547418747011073/1213547418759593988/1573123429152981023",
            ("1573123429152981023", "1213547418759593988", "1213547418747011073"),
        ),
        (
            "<https://ptb.discordapp.com/channels/1213547418747011073/1213547418759593988/1573123429152981023>",
            ("1573123429152981023", "1213547418759593988", "1213547418747011073"),
        ),
        (
            "https://canary.discord.com/channels/@me/1213547418759593988/1573123429152981023",
            ("1573123429152981023", "1213547418759593988", None),
        ),
    ],
)
def test_parse_message_ref_reads_ids_and_links_when_given_either(text: str, expected: tuple[str, ...]) -> None:
    ref = parse_message_ref(text)
    assert (ref.message_id, ref.channel_id, ref.guild_id) == expected


@pytest.mark.parametrize(
    "text", ["hello", "123", "https://example.com/channels/1/2/3", "https://discord.com/channels/12/34/56"]
)
def test_parse_message_ref_refuses_when_text_is_neither_an_id_nor_a_link(text: str) -> None:
    with pytest.raises(CommandError, match="message id or a message link"):
        parse_message_ref(text)


def test_command_path_follows_groups_and_sub_commands_when_nested() -> None:
    options = [
        CommandOption(
            name="config",
            type=p.SUB_COMMAND_GROUP,
            options=[
                CommandOption(
                    name="retention", type=p.SUB_COMMAND, options=[CommandOption(name="days", type=4, value=7)]
                )
            ],
        )
    ]
    assert command_path(options, "logs") == (("logs", "config", "retention"), {"days": 7})


def test_channel_option_refuses_when_the_channel_belongs_to_another_server() -> None:
    call = call_of(
        fx.command(
            "logs", "search", options={"channel": fx.OTHER_CHANNEL}, channel_guilds={fx.OTHER_CHANNEL: fx.OTHER_GUILD}
        )
    )
    with pytest.raises(CommandError, match="not in this server"):
        call.channel_option("channel")


def test_channel_option_refuses_when_discord_did_not_resolve_the_channel() -> None:
    payload = fx.command("logs", "search", options={"channel": fx.OTHER_CHANNEL})
    del payload["data"]["resolved"]
    with pytest.raises(CommandError, match="not in this server"):
        call_of(payload).channel_option("channel")


def test_user_option_refuses_when_discord_did_not_resolve_the_user() -> None:
    payload = fx.command("logs", "search", options={"user": fx.STRANGER})
    del payload["data"]["resolved"]
    with pytest.raises(CommandError, match="did not resolve"):
        call_of(payload).user_option("user")


@pytest.mark.parametrize(("bits", "allowed"), [(fx.EVERYONE, False), (fx.MANAGER, True), (p.ADMINISTRATOR, True)])
def test_require_manage_guild_follows_the_members_permissions_when_checked(bits: int, allowed: bool) -> None:
    call = call_of(fx.command("logs", "status", permissions=bits))
    if allowed:
        call.require_manage_guild("This")
    else:
        with pytest.raises(CommandError, match="Manage Server"):
            call.require_manage_guild("This")


def test_guild_id_refuses_when_the_interaction_comes_from_a_dm() -> None:
    with pytest.raises(CommandError, match="servers only"):
        _ = call_of(fx.command("logs", "status", guild_id=None)).guild_id


def test_reply_never_pings_and_fits_discords_limit_when_content_is_long() -> None:
    data = Reply("@everyone " + "x" * 5000).message_data()
    assert data["allowed_mentions"] == {"parse": []}
    assert len(data["content"]) == p.MAX_CONTENT_CHARS
    assert data["flags"] == p.EPHEMERAL


def test_quote_keeps_member_text_on_one_line_without_markdown_when_rendered() -> None:
    assert quote("**bold**\n> `code`", 100) == "\\*\\*bold\\*\\* \\> \\`code\\`"
    assert len(quote("x" * 50, 10)) == 10
