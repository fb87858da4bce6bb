"""Discord's permission arithmetic as guildlog_tools.discord_permissions computes it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from guildlog_tools import discord_permissions as perms

GUILD, BOT, ROLE, OTHER = "100", "200", "300", "400"
ROLES = [
    {"id": GUILD, "permissions": str(perms.VIEW_CHANNEL)},
    {"id": ROLE, "permissions": str(perms.VIEW_AUDIT_LOG | perms.READ_MESSAGE_HISTORY)},
    {"id": OTHER, "permissions": str(perms.ADMINISTRATOR)},
]


def test_base_permissions_add_the_members_roles_to_everyone_when_computed() -> None:
    assert perms.base_permissions(GUILD, {"roles": [ROLE]}, ROLES) == perms.REQUIRED


def test_base_permissions_grant_everything_when_a_role_is_administrator() -> None:
    assert perms.base_permissions(GUILD, {"roles": [OTHER]}, ROLES) == perms.ALL


def test_channel_permissions_apply_the_role_deny_when_a_channel_overwrites_it() -> None:
    channel = {"permission_overwrites": [{"id": ROLE, "type": 0, "allow": "0", "deny": str(perms.SEND_MESSAGES)}]}
    base = perms.VIEW_CHANNEL | perms.SEND_MESSAGES

    assert perms.channel_permissions(base, GUILD, BOT, {"roles": [ROLE]}, channel) == perms.VIEW_CHANNEL


def test_channel_permissions_let_the_member_overwrite_win_when_roles_deny() -> None:
    channel = {
        "permission_overwrites": [
            {"id": ROLE, "type": 0, "allow": "0", "deny": str(perms.SEND_MESSAGES)},
            {"id": BOT, "type": 1, "allow": str(perms.SEND_MESSAGES), "deny": "0"},
        ]
    }

    bits = perms.channel_permissions(perms.SEND_MESSAGES, GUILD, BOT, {"roles": [ROLE]}, channel)

    assert bits & perms.SEND_MESSAGES


def test_missing_intents_names_both_when_no_flag_is_set() -> None:
    assert perms.missing_intents(0) == ["Server Members Intent", "Message Content Intent"]


def test_missing_intents_accepts_the_verified_flags_when_the_bot_is_large() -> None:
    assert perms.missing_intents(perms.GATEWAY_GUILD_MEMBERS | perms.GATEWAY_MESSAGE_CONTENT) == []


def test_invite_url_asks_for_the_bot_and_commands_scopes_when_built() -> None:
    query = parse_qs(urlsplit(perms.invite_url("42")).query)

    assert query == {"client_id": ["42"], "scope": ["bot applications.commands"], "permissions": [str(perms.REQUIRED)]}
