"""Synthetic gateway traffic for benchmarks: a plausible mix of dispatch types, deterministic by seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
WORDS = ("the", "a", "logs", "moderator", "server", "voice", "channel", "deleted", "edited", "message", "hello", "ok")


def snowflake(moment: datetime, n: int) -> str:
    return str(((int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + (n % 4096))


def gateway_events(
    count: int, *, start: datetime | None = None, seed: int = 7, guilds: int = 3
) -> list[dict[str, Any]]:
    """`count` envelope events (t, seq, received_at, d) spread over a few hours ending now."""
    rng = random.Random(seed)
    start = start or datetime.now(UTC) - timedelta(hours=3)
    guild_ids = [snowflake(start - timedelta(days=400 + g), g) for g in range(guilds)]
    channels = {g: [snowflake(start - timedelta(days=300, minutes=c), c) for c in range(6)] for g in guild_ids}
    users = [snowflake(start - timedelta(days=200, minutes=u), u) for u in range(200)]
    messages: list[tuple[str, str, str, str]] = []
    events: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        moment = start + timedelta(milliseconds=seq * 37)
        when = moment.isoformat().replace("+00:00", "Z")
        guild = rng.choice(guild_ids)
        channel = rng.choice(channels[guild])
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.70 or not messages:
            message_id = snowflake(moment, seq)
            content = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
            messages.append((message_id, guild, channel, user))
            t, d = (
                "MESSAGE_CREATE",
                {
                    "id": message_id,
                    "channel_id": channel,
                    "guild_id": guild,
                    "content": content,
                    "timestamp": when,
                    "edited_timestamp": None,
                    "author": {"id": user, "username": f"user{user[-4:]}"},
                    "attachments": [],
                    "embeds": [],
                    "mentions": [],
                    "type": 0,
                    "tts": False,
                    "pinned": False,
                    "flags": 0,
                },
            )
        elif roll < 0.80:
            message_id, guild, channel, user = rng.choice(messages)
            t, d = (
                "MESSAGE_UPDATE",
                {
                    "id": message_id,
                    "channel_id": channel,
                    "guild_id": guild,
                    "content": "edited " + rng.choice(WORDS),
                    "edited_timestamp": when,
                    "author": {"id": user, "username": f"user{user[-4:]}"},
                },
            )
        elif roll < 0.85:
            message_id, guild, channel, _ = rng.choice(messages)
            t, d = "MESSAGE_DELETE", {"id": message_id, "channel_id": channel, "guild_id": guild}
        elif roll < 0.92:
            message_id, guild, channel, _ = rng.choice(messages)
            t, d = (
                "MESSAGE_REACTION_ADD",
                {
                    "message_id": message_id,
                    "channel_id": channel,
                    "guild_id": guild,
                    "user_id": user,
                    "emoji": {"id": None, "name": "👍"},
                    "burst": False,
                    "type": 0,
                },
            )
        elif roll < 0.95:
            t, d = (
                "VOICE_STATE_UPDATE",
                {
                    "guild_id": guild,
                    "channel_id": rng.choice([channel, None]),
                    "user_id": user,
                    "session_id": "x",
                    "deaf": False,
                    "mute": False,
                    "self_deaf": False,
                    "self_mute": rng.random() < 0.5,
                    "self_video": False,
                    "suppress": False,
                    "member": {"user": {"id": user, "username": "v"}},
                },
            )
        elif roll < 0.98:
            t, d = (
                "GUILD_MEMBER_ADD",
                {
                    "guild_id": guild,
                    "joined_at": when,
                    "roles": [],
                    "user": {"id": user, "username": "new"},
                },
            )
        else:
            t, d = (
                "TYPING_START",
                {"channel_id": channel, "guild_id": guild, "user_id": user, "timestamp": int(moment.timestamp())},
            )
        events.append({"t": t, "seq": seq, "received_at": when, "source": "gateway", "d": d})
    return events
