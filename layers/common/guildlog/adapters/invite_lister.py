"""The directory's InviteLister for ingest: `GET /guilds/{id}/invites` through the one REST client.

A join is attributed to the invite whose use count rose, so ingest lists a guild's invites when a
batch holds a join of it (one call per guild and batch, however many joins). A join is never held
up for it: without Manage Guild (403), or when Discord fails or is slow, the join is logged without
its invite. A 403 is remembered for an hour per guild, because every refused request counts toward
Discord's invalid-request limit, which bans the bot's address when exceeded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from guildlog.errors import DiscordTargetGoneError, GuildlogError

log = logging.getLogger(__name__)

REFUSED_FOR_SECONDS = 3600.0
# A batch's answer to the relay waits on the listing: rate-limit waits and retries included.
BUDGET_SECONDS = 3.0


class RestInviteLister:
    """`rest` makes the REST client on first use (so the bot token is read only when a join arrives)."""

    def __init__(self, rest: Callable[[], Any], clock: Callable[[], float] = time.monotonic) -> None:
        self._make_rest = rest
        self._rest: Any = None
        self.clock = clock
        self._refused: dict[str, float] = {}  # guild id → when listing its invites was refused

    def list_invites(self, guild_id: str) -> list[dict[str, Any]] | None:
        refused_at = self._refused.get(guild_id)
        if refused_at is not None and self.clock() - refused_at < REFUSED_FOR_SECONDS:
            return None
        try:
            if self._rest is None:
                self._rest = self._make_rest()
            listed = self._rest.get_guild_invites(guild_id, budget=BUDGET_SECONDS)
        except DiscordTargetGoneError:
            self._refused[guild_id] = self.clock()
            return None
        except GuildlogError as exc:
            log.warning("could not list invites; the join is logged without one", extra={"error": type(exc).__name__})
            return None
        return listed if isinstance(listed, list) else None
