"""Interactions as Discord sends them, made by hand for the tests: commands, button clicks, PINGs,
and the signed API Gateway events that carry them."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from guildlog.adapters.signatures import Signer
from guildlog.services.commands import protocol as p
from guildlog.services.timefmt import DISCORD_EPOCH_MS

APPLICATION = "1300000000000000001"
GUILD = "1300000000000000100"
OTHER_GUILD = "1300000000000000200"
CHANNEL = "1300000000000000110"
OTHER_CHANNEL = "1300000000000000111"
MEMBER = "1300000000000000120"
MODERATOR = "1300000000000000130"
STRANGER = "1300000000000000140"
EVERYONE = 1 << 10 | 1 << 11  # view channel, send messages: no Manage Server
MANAGER = EVERYONE | p.MANAGE_GUILD
_OPTION_TYPES = {
    "user": p.USER,
    "member": p.USER,
    "channel": p.CHANNEL,
    "role": p.ROLE,
    "days": p.INTEGER,
    "enabled": p.BOOLEAN,
    "ignored": p.BOOLEAN,
    "off": p.BOOLEAN,
    "logged": p.BOOLEAN,
}
_sequence = itertools.count(1)


def snowflake(moment: datetime | None = None) -> str:
    """A snowflake created at `moment` (default now), unique within the test run."""
    at = moment or datetime.now(UTC)
    millis = int(at.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((millis << 22) | (next(_sequence) % (1 << 22)))


def command(
    *path: str,
    options: dict[str, Any] | None = None,
    by: str = MODERATOR,
    permissions: int = MANAGER,
    guild_id: str | None = GUILD,
    not_members: Iterable[str] = (),
    channel_guilds: dict[str, str | None] | None = None,
    interaction_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A chat-input command interaction: `command("logs", "search", options={"user": MEMBER})`."""
    values = options or {}
    leaf_options = [
        {"name": name, "type": _OPTION_TYPES.get(name, p.STRING), "value": value}
        for name, value in values.items()
        if value is not None
    ]
    nested: list[dict[str, Any]] = leaf_options
    for depth, name in reversed(list(enumerate(path[1:], start=1))):
        kind = p.SUB_COMMAND if depth == len(path) - 1 else p.SUB_COMMAND_GROUP
        nested = [{"name": name, "type": kind, "options": nested}]
    resolved: dict[str, Any] = {}
    skipped = set(not_members)
    for option in leaf_options:
        if option["type"] == p.USER:
            user = str(option["value"])
            resolved.setdefault("users", {})[user] = {"id": user, "username": f"user{user[-3:]}"}
            if user not in skipped:
                resolved.setdefault("members", {})[user] = {"roles": [], "permissions": str(EVERYONE)}
        if option["type"] == p.CHANNEL:
            channel = str(option["value"])
            entry: dict[str, Any] = {"id": channel, "name": f"channel{channel[-3:]}", "type": 0}
            owner = (channel_guilds or {}).get(channel, guild_id)
            if owner is not None:
                entry["guild_id"] = owner
            resolved.setdefault("channels", {})[channel] = entry
    data: dict[str, Any] = {"id": "1300000000000000900", "name": path[0], "type": p.CHAT_INPUT}
    if nested:
        data["options"] = nested
    if resolved:
        data["resolved"] = resolved
    return _interaction(p.APPLICATION_COMMAND, data, by, permissions, guild_id, interaction_id, at)


def click(
    custom_id: str,
    *,
    by: str = MODERATOR,
    permissions: int = MANAGER,
    guild_id: str | None = GUILD,
    interaction_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A button click on an ephemeral message of ours."""
    data = {"custom_id": custom_id, "component_type": p.BUTTON}
    payload = _interaction(p.MESSAGE_COMPONENT, data, by, permissions, guild_id, interaction_id, at)
    payload["message"] = {"id": snowflake(at), "flags": p.EPHEMERAL, "content": "…"}
    return payload


def _interaction(
    kind: int,
    data: dict[str, Any],
    by: str,
    permissions: int,
    guild_id: str | None,
    interaction_id: str | None,
    at: datetime | None,
) -> dict[str, Any]:
    user = {"id": by, "username": f"user{by[-3:]}", "global_name": None}
    payload: dict[str, Any] = {
        "id": interaction_id or snowflake(at),
        "application_id": APPLICATION,
        "type": kind,
        "token": "interaction-token-" + (interaction_id or "x"),
        "version": 1,
        "channel_id": CHANNEL,
        "data": data,
        "locale": "en-US",
        "app_permissions": "442368",
    }
    if guild_id is not None:
        payload["guild_id"] = guild_id
        payload["member"] = {"user": user, "roles": [], "permissions": str(permissions), "nick": None}
    else:
        payload["user"] = user
    return payload


def ping() -> dict[str, Any]:
    return {"id": snowflake(), "application_id": APPLICATION, "type": p.PING, "token": "ping-token", "version": 1}


def signed_event(
    payload: dict[str, Any] | bytes,
    signer: Signer,
    *,
    timestamp: int | None = None,
    base64_body: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload v2) event of `payload` signed by `signer`."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    signed = {k.lower(): v for k, v in signer.headers(body, timestamp=timestamp).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "POST /interactions",
        "rawPath": "/interactions",
        "headers": {"content-type": "application/json", **signed, **(headers or {})},
        "isBase64Encoded": base64_body,
        "body": base64.b64encode(body).decode("ascii") if base64_body else body.decode("utf-8", "surrogateescape"),
        "requestContext": {"http": {"method": "POST", "path": "/interactions", "sourceIp": "127.0.0.1"}},
    }
    return event


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a handler's API Gateway answer."""
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed
