"""Message histories for the fake Discord REST server: Discord's REST message objects, ids from their times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from guildlog.services.backfill import snowflake_at
from guildlog.services.timefmt import iso

AUTHOR = {"id": "100000000000000003", "username": "alice", "global_name": "Alice"}


def history(
    channel_id: str, start: datetime, count: int, *, every: timedelta = timedelta(seconds=1)
) -> list[dict[str, Any]]:
    """`count` messages of `channel_id`, one per `every` from `start`, as `GET /channels/{id}/messages` returns them."""
    return [rest_message(channel_id, start + n * every, f"message {n}", n) for n in range(count)]


def rest_message(channel_id: str, at: datetime, content: str, n: int = 0, **extra: Any) -> dict[str, Any]:
    """One message as Discord's REST API sends it (no `guild_id`, unlike the gateway's MESSAGE_CREATE).

    Its id is `at`'s snowflake with the channel in the worker and process bits and `n` in the
    increment, so no two channels' histories share an id, as no two Discord messages do."""
    channel_bits = (int(channel_id) % 1024) << 12 if channel_id.isdigit() else 0
    return {
        "id": str(snowflake_at(at) + channel_bits + (n % 4096)),
        "channel_id": channel_id,
        "type": 0,
        "author": dict(AUTHOR),
        "content": content,
        "timestamp": iso(at).replace("Z", "+00:00"),
        "edited_timestamp": None,
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "pinned": False,
        "tts": False,
        **extra,
    }
