"""Viewer roles: members without Manage Server who may read a guild's log because they hold a role the
guild allows (`/logs config viewers`, the config item's `viewer_roles`).

Whose call: the bot's `GET /guilds/{guild}/members/{user}` through the one REST client, not the
member's own `GET /users/@me/guilds/{guild}/member`. The member's OAuth token is used once at sign-in
and never kept (a cookie holding it would be a bearer credential in the browser), so only the bot can
ask again later; and the bot is in every guild guildlog logs, with no extra OAuth scope to consent to.

When: at sign-in for each guild the member is in that lists viewer roles, then again when a page of
such a guild is opened and the last answer is older than `RECHECK_SECONDS`. Answers are cached per
(session, guild) in the container, so a reader paging through a guild costs one Discord call every few
minutes, and a role taken away (or the viewer roles changed) locks the member out within that time
without signing them out. A refusal is kept only briefly, so a role given back works soon. Discord
answering 403 or 404 (the member left, or the bot lost the guild) refuses at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from guildlog.errors import DiscordApiError, DiscordTargetGoneError
from guildlog.services import keys
from guildlog.services.commands.context import HotReader

VIEWER_ROLES = "viewer_roles"
RECHECK_SECONDS = 300
REFUSAL_SECONDS = 30
# Sign-in asks Discord about at most this many guilds (each one REST call); more are left out.
MAX_SIGN_IN_CHECKS = 10
MAX_CACHED = 10_000


class MemberLookup(Protocol):
    """adapters.discord_rest.DiscordRest: the bot's view of one member (`roles`: role ids)."""

    def get_guild_member(self, guild_id: str, user_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Answer:
    allowed: bool
    at: float


class ViewerRoles:
    """Whether a member's roles let them read a guild's log, asked of Discord at most every few minutes."""

    def __init__(
        self,
        reader: Callable[[], HotReader],
        members: Callable[[], MemberLookup],
        *,
        epoch: Callable[[], float] = time.time,
        recheck_seconds: int = RECHECK_SECONDS,
        refusal_seconds: int = REFUSAL_SECONDS,
    ) -> None:
        self._reader = reader
        self._members = members
        self._epoch = epoch
        self.recheck_seconds = recheck_seconds
        self.refusal_seconds = refusal_seconds
        self._cache: OrderedDict[tuple[str, str], _Answer] = OrderedDict()
        self.discord_calls = 0

    def configured(self, guild_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        """The viewer roles of each of these guilds that has any (one BatchGetItem of their config items)."""
        wanted = [(keys.guild_pk(g), keys.CONFIG_SK) for g in guild_ids]
        found = self._reader().get_many(wanted) if wanted else {}
        roles: dict[str, frozenset[str]] = {}
        for item in found.values():
            listed = frozenset(str(r) for r in item.get(VIEWER_ROLES) or ())
            if listed and item.get("guild_id"):
                roles[str(item["guild_id"])] = listed
        return roles

    def at_sign_in(self, session_id: str, user_id: str, guilds: dict[str, str]) -> dict[str, str]:
        """Of `guilds` (id → name, the member's guilds they do not manage), those a role lets them read."""
        allowed: dict[str, str] = {}
        for guild_id, roles in list(self.configured(guilds).items())[:MAX_SIGN_IN_CHECKS]:
            try:
                holds = self._holds(guild_id, user_id, roles)
            except DiscordApiError:
                continue  # Discord did not answer for this guild: sign in without it rather than not at all
            if holds:
                allowed[guild_id] = guilds[guild_id]
                self._remember(session_id, guild_id, True)
        return allowed

    def allowed(self, session_id: str, guild_id: str, user_id: str) -> bool:
        """Whether the member may still read the guild: the cached answer while fresh, else Discord's."""
        now = self._epoch()
        cached = self._cache.get((session_id, guild_id))
        if cached is not None:
            age = now - cached.at
            if age < (self.recheck_seconds if cached.allowed else self.refusal_seconds):
                return cached.allowed
        roles = self.configured([guild_id]).get(guild_id, frozenset())
        allowed = bool(roles) and self._holds(guild_id, user_id, roles)
        self._remember(session_id, guild_id, allowed)
        return allowed

    def forget(self, session_id: str, guild_id: str) -> None:
        """Drop a cached answer: the next page of this guild asks Discord again."""
        self._cache.pop((session_id, guild_id), None)

    def _holds(self, guild_id: str, user_id: str, roles: frozenset[str]) -> bool:
        self.discord_calls += 1
        try:
            member = self._members().get_guild_member(guild_id, user_id)
        except DiscordTargetGoneError:
            return False  # 404: no longer a member; 403: the bot cannot see the guild any more
        held = member.get("roles") if isinstance(member, dict) else None
        return isinstance(held, list) and bool(roles & {str(r) for r in held})

    def _remember(self, session_id: str, guild_id: str, allowed: bool) -> None:
        self._cache[(session_id, guild_id)] = _Answer(allowed, self._epoch())
        self._cache.move_to_end((session_id, guild_id))
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
