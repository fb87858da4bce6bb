"""What guildlog needs of Discord: permission bits, privileged intents, the invite URL, and the bot's
effective permissions in a server or a channel (Discord's own algorithm: @everyone, then the member's
roles, Administrator grants everything; in a channel the @everyone, role and member overwrites).

Pure: Discord's objects (dicts) in, integers and names out. `guildlog setup` prints the invite URL
from these bits and `guildlog doctor` checks a server against them, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_WEBHOOKS = 1 << 29
ALL = (1 << 53) - 1

NAMES = {
    ADMINISTRATOR: "Administrator",
    MANAGE_CHANNELS: "Manage Channels",
    MANAGE_GUILD: "Manage Server",
    VIEW_AUDIT_LOG: "View Audit Log",
    VIEW_CHANNEL: "View Channels",
    SEND_MESSAGES: "Send Messages",
    EMBED_LINKS: "Embed Links",
    READ_MESSAGE_HISTORY: "Read Message History",
    MANAGE_WEBHOOKS: "Manage Webhooks",
}

# What the invite asks for. The gateway sends a channel's messages only to a bot that can see it
# and read its history; GUILD_AUDIT_LOG_ENTRY_CREATE (who deleted, banned, timed out) needs View Audit Log.
REQUIRED = VIEW_CHANNEL | READ_MESSAGE_HISTORY | VIEW_AUDIT_LOG
# Optional features and what each needs; without them guildlog logs everything else.
INVITES = MANAGE_GUILD  # reading a server's invites (who invited whom); invite events need Manage Channels too
LOG_CHANNEL_MESSAGES = SEND_MESSAGES | EMBED_LINKS  # posting to a server's log channel as the bot
LOG_CHANNEL_WEBHOOK = MANAGE_WEBHOOKS  # or through a webhook the bot made there

# Application flags (GET /applications/@me `flags`): a privileged intent is on when the verified
# flag (bots in 100 or more servers) or its "limited" twin (fewer than 100) is set.
GATEWAY_GUILD_MEMBERS = 1 << 14
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
# The relay's default intents include both: without them Discord closes the session with 4014.
PRIVILEGED_INTENTS = {
    "Server Members Intent": GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED,
    "Message Content Intent": GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED,
}
INTENTS_WHERE = "Developer Portal → your application → Bot → Privileged Gateway Intents"


def missing_intents(flags: Any) -> list[str]:
    """The privileged intents the application's `flags` do not switch on, by their portal names."""
    value = flags if isinstance(flags, int) and not isinstance(flags, bool) else 0
    return [name for name, bits in PRIVILEGED_INTENTS.items() if not value & bits]


def invite_url(application_id: str, permissions: int = REQUIRED) -> str:
    """The OAuth2 URL that adds the bot to a server with `permissions` and the commands scope."""
    query = urlencode({"client_id": application_id, "scope": "bot applications.commands", "permissions": permissions})
    return f"https://discord.com/oauth2/authorize?{query}"


def names(bits: int) -> list[str]:
    """The named permissions in `bits`, lowest bit first."""
    return [name for bit, name in sorted(NAMES.items()) if bits & bit]


def _bits(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def base_permissions(guild_id: str, member: Mapping[str, Any], roles: Iterable[Mapping[str, Any]]) -> int:
    """A member's server-wide permissions: @everyone's (the role whose id is the guild's) and their roles'."""
    by_id = {str(role.get("id")): role for role in roles}
    value = _bits((by_id.get(guild_id) or {}).get("permissions"))
    for role_id in member.get("roles") or []:
        value |= _bits((by_id.get(str(role_id)) or {}).get("permissions"))
    return ALL if value & ADMINISTRATOR else value


def channel_permissions(
    base: int, guild_id: str, user_id: str, member: Mapping[str, Any], channel: Mapping[str, Any]
) -> int:
    """`base` after the channel's overwrites, in Discord's order: @everyone, the roles together, the member."""
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    overwrites = {str(o.get("id")): o for o in channel.get("permission_overwrites") or []}
    value = base
    everyone = overwrites.get(guild_id)
    if everyone:
        value = (value & ~_bits(everyone.get("deny"))) | _bits(everyone.get("allow"))
    allow = deny = 0
    for role_id in member.get("roles") or []:
        found = overwrites.get(str(role_id))
        if found and found.get("type", 0) == 0:
            allow |= _bits(found.get("allow"))
            deny |= _bits(found.get("deny"))
    value = (value & ~deny) | allow
    own = overwrites.get(user_id)
    if own and own.get("type", 1) == 1:
        value = (value & ~_bits(own.get("deny"))) | _bits(own.get("allow"))
    return value
