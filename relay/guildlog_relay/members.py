"""Asking Discord for the members a GUILD_CREATE left out (Request Guild Members, opcode 8).

A guild above the identify's `large_threshold` arrives without its offline members, so the roles,
nick and join date of everyone who joined before the bot are unknown until they act. With the
GUILD_MEMBERS intent the relay asks for them all (`query ""`, `limit 0`); Discord answers with
GUILD_MEMBERS_CHUNK dispatches (up to 1,000 members each), which the relay forwards like any other
event and ingest's directory takes in. Requests go through the shard's send limiter, so they share
the 120-frames-a-minute budget with IDENTIFY and RESUME and never touch the heartbeats' reserve.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from guildlog_relay.protocol import Intent, Op


def members_left_out(data: Any) -> str | None:
    """The guild id when this GUILD_CREATE's `d` (parsed, or Discord's bytes) lists fewer members
    than its `member_count`; None otherwise (all there, unavailable, or not a guild)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = json.loads(data)
        except ValueError:
            return None  # the ingest quarantines it; nothing to ask for
    if not isinstance(data, dict) or data.get("unavailable"):
        return None
    guild_id, count, members = data.get("id"), data.get("member_count"), data.get("members")
    if not isinstance(guild_id, str) or not guild_id.isdigit():
        return None
    if not isinstance(count, int) or isinstance(count, bool):
        return None
    listed = len(members) if isinstance(members, list) else 0
    return guild_id if count > listed else None


def member_request(guild_id: str) -> dict[str, Any]:
    """The opcode 8 payload asking for every member of the guild."""
    return {"op": Op.REQUEST_GUILD_MEMBERS, "d": {"guild_id": guild_id, "query": "", "limit": 0}}


class MemberRequests:
    """The guilds one session still has to ask members for, each asked once per session."""

    def __init__(self, intents: int) -> None:
        # Without the privileged intent Discord refuses a request for all members.
        self.enabled = bool(intents & Intent.GUILD_MEMBERS)
        self._pending: deque[str] = deque()
        self._asked: set[str] = set()
        self._waiting = asyncio.Event()

    def reset(self) -> None:
        """A new session: its GUILD_CREATEs come again, and are asked for again."""
        self._pending.clear()
        self._asked.clear()
        self._waiting.clear()

    def note_guild_create(self, data: Any) -> bool:
        """Queue the guild when its GUILD_CREATE left members out; whether it was queued."""
        if not self.enabled:
            return False
        guild_id = members_left_out(data)
        if guild_id is None or guild_id in self._asked:
            return False
        self._asked.add(guild_id)
        self._pending.append(guild_id)
        self._waiting.set()
        return True

    def put_back(self, guild_id: str) -> None:
        """A request that was not sent (the connection ended): first in line on the next one."""
        self._pending.appendleft(guild_id)
        self._waiting.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def next(self) -> str:
        """The next guild to ask for, waiting until there is one."""
        while not self._pending:
            self._waiting.clear()
            await self._waiting.wait()
        return self._pending.popleft()
