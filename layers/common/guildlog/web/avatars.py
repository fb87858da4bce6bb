"""Members' avatars: Discord's CDN URLs from the avatar hashes the directory keeps, read in one batch per page.

A user with an avatar: `{cdn}/avatars/{user_id}/{hash}.png?size=64`; without one, Discord's default
picture for new usernames, `{cdn}/embed/avatars/{(user_id >> 22) % 6}.png`. The CDN is Discord's for
Discord's API, and the API's own origin otherwise (the local stack's fake Discord serves the same
paths), so the page's Content-Security-Policy allows images from exactly one origin besides itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from guildlog.services.commands.context import HotReader
from guildlog.services.directory import AVATAR_HASH, dir_pk

DISCORD_CDN = "https://cdn.discordapp.com"
_DISCORD_API_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
_SNOWFLAKE = re.compile(r"^\d{15,21}$")
# A page shows at most a page of events; their distinct people are far fewer than this.
MAX_LOOKUPS = 200


def cdn_origin(api_base: str) -> str:
    """Where avatars come from for this API base: Discord's CDN, or a fake Discord's own origin."""
    parts = urlsplit(api_base)
    if parts.hostname in _DISCORD_API_HOSTS:
        return DISCORD_CDN
    return f"{parts.scheme}://{parts.netloc}"


def avatar_url(cdn: str, user_id: str, avatar_hash: str | None) -> str:
    if not _SNOWFLAKE.match(user_id):
        return f"{cdn}/embed/avatars/0.png"
    if avatar_hash and AVATAR_HASH.match(avatar_hash):
        return f"{cdn}/avatars/{user_id}/{avatar_hash}.png?size=64"
    return f"{cdn}/embed/avatars/{(int(user_id) >> 22) % 6}.png"


def avatars(reader: HotReader, cdn: str, guild_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """user id → avatar URL for these users, from their directory snapshots (one BatchGetItem)."""
    wanted = sorted({u for u in user_ids if u and _SNOWFLAKE.match(u)})[:MAX_LOOKUPS]
    pk = dir_pk(guild_id)
    found = reader.get_many([(pk, f"{prefix}#{u}") for u in wanted for prefix in ("M", "N")]) if wanted else {}
    urls: dict[str, str] = {}
    for user_id in wanted:
        avatar_hash = None
        for prefix in ("M", "N"):  # the member's snapshot first; names seen in passing fill gaps
            item = found.get((pk, f"{prefix}#{user_id}"))
            avatar_hash = _hash(item.get("state")) if item else None
            if avatar_hash:
                break
        urls[user_id] = avatar_url(cdn, user_id, avatar_hash)
    return urls


def _hash(state: object) -> str | None:
    if not isinstance(state, str):
        return None
    try:
        value = json.loads(state)
    except ValueError:
        return None
    found = value.get("user_avatar") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None
