"""A synthetic guild history for the archive benchmark: days of gateway dispatches, batch by batch.

Deterministic by seed. Three guilds, their channels and a couple of thousand members; a day's
traffic follows a day-night curve; the mix is mostly messages, with edits, deletions (single and
bulk), reactions, voice, joins and leaves, audit-log entries and slash commands, so every named
query has something to find. Message text is drawn from a Zipf-distributed vocabulary, closer to
chat than a dozen repeated words (which would flatter the compression ratio).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
GUILDS = 3
CHANNELS_PER_GUILD = 8
MEMBERS = 2_000
MODERATORS = 6
VOCABULARY = 5_000
# Moderation audit-log action types and their share of audit entries.
AUDIT_ACTIONS = (72, 73, 24, 25, 20, 22, 10, 11)
COMMANDS = ("/logs search", "/logs message", "/logs status", "/stats", "/logs export")


def snowflake(moment: datetime, n: int) -> str:
    return str(((int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + (n % 4_194_304))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class History:
    """`batches()` yields (batch_id, events) in time order: `total` events spread over `days` days."""

    def __init__(self, *, start: datetime, days: int, total: int, batch_size: int = 500, seed: int = 11) -> None:
        self.start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.days = days
        # Equal days; the first days take one more event each when `total` does not divide.
        self.per_day = [total // days + (1 if n < total % days else 0) for n in range(days)]
        self.batch_size = batch_size
        self.rng = random.Random(seed)
        origin = self.start - timedelta(days=900)
        self.guilds = [snowflake(origin + timedelta(days=g), g) for g in range(GUILDS)]
        self.channels = {
            g: [snowflake(origin + timedelta(days=10, minutes=c + 100 * i), c) for c in range(CHANNELS_PER_GUILD)]
            for i, g in enumerate(self.guilds)
        }
        self.members = [snowflake(origin + timedelta(days=20, seconds=m), m) for m in range(MEMBERS)]
        self.moderators = self.members[:MODERATORS]
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.words = [
            "".join(self.rng.choice(letters) for _ in range(self.rng.randint(2, 9))) for _ in range(VOCABULARY)
        ]
        weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
        total = sum(weights)
        self.cumulative = list(itertools.accumulate(w / total for w in weights))
        self.command_id = snowflake(origin, 99)
        self.recent: list[tuple[str, str, str, str, str]] = []  # message id, guild, channel, author, content
        self.seq = 0

    # -- traffic over a day: quiet at 05:00 UTC, busiest at 20:00
    def _moments(self, day: datetime, count: int) -> list[datetime]:
        weights = [1.0 + 0.8 * math.cos((hour - 20) / 24 * 2 * math.pi) for hour in range(24)]
        hours = self.rng.choices(range(24), weights=weights, k=count)
        seconds = sorted(h * 3600 + self.rng.random() * 3600 for h in hours)
        return [day + timedelta(seconds=s) for s in seconds]

    def batches(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        number = 0
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            moments = self._moments(day, self.per_day[offset])
            for first in range(0, len(moments), self.batch_size):
                events = [self._event(moment) for moment in moments[first : first + self.batch_size]]
                number += 1
                yield f"bench-{number:06d}", events

    def _text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.words[bisect.bisect(self.cumulative, self.rng.random())] for _ in range(count))

    def _event(self, moment: datetime) -> dict[str, Any]:
        self.seq += 1
        rng = self.rng
        when = _iso(moment)
        guild = self.guilds[min(int(rng.paretovariate(1.2)) - 1, GUILDS - 1)]
        channel = rng.choice(self.channels[guild])
        member = self.members[min(int(rng.paretovariate(0.9)) - 1, MEMBERS - 1)]
        author = {"id": member, "username": f"user{member[-5:]}", "global_name": f"Member {member[-5:]}"}
        roll = rng.random()
        if roll < 0.66 or not self.recent:
            message_id = snowflake(moment, self.seq)
            content = self._text(2, 30)
            self.recent.append((message_id, guild, channel, member, content))
            del self.recent[:-5000]
            t, d = "MESSAGE_CREATE", {
                "id": message_id, "channel_id": channel, "guild_id": guild, "author": author,
                "content": content, "timestamp": when, "edited_timestamp": None, "tts": False,
                "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": [], "pinned": False, "type": 0, "flags": 0,
                "member": {"roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": False, "mute": False},
            }  # fmt: skip
        elif roll < 0.74:
            message_id, guild, channel, member, content = rng.choice(self.recent[-500:])
            edited = content + " " + self._text(1, 4)
            t, d = "MESSAGE_UPDATE", {
                "id": message_id, "channel_id": channel, "guild_id": guild,
                "author": {"id": member, "username": f"user{member[-5:]}"}, "content": edited,
                "edited_timestamp": when, "timestamp": when, "type": 0,
            }  # fmt: skip
        elif roll < 0.78:
            message_id, guild, channel, _, _ = rng.choice(self.recent[-500:])
            t, d = "MESSAGE_DELETE", {"id": message_id, "channel_id": channel, "guild_id": guild}
        elif roll < 0.785:
            picked = rng.sample(self.recent[-200:], k=min(5, len(self.recent[-200:])))
            guild, channel = picked[0][1], picked[0][2]
            t, d = "MESSAGE_DELETE_BULK", {"ids": [p[0] for p in picked], "channel_id": channel, "guild_id": guild}
        elif roll < 0.86:
            message_id, guild, channel, _, _ = rng.choice(self.recent[-500:])
            t, d = "MESSAGE_REACTION_ADD", {
                "user_id": member, "message_id": message_id, "channel_id": channel, "guild_id": guild,
                "emoji": {"id": None, "name": rng.choice(["👍", "😂", "❤️", "🎉", "👀"])}, "burst": False, "type": 0,
                "member": {"user": author, "roles": []},
            }  # fmt: skip
        elif roll < 0.93:
            t, d = "VOICE_STATE_UPDATE", {
                "guild_id": guild, "channel_id": rng.choice([channel, None]), "user_id": member,
                "session_id": f"v{self.seq}", "deaf": False, "mute": False, "self_deaf": False,
                "self_mute": rng.random() < 0.5, "self_video": False, "suppress": False,
                "member": {"user": author, "roles": []},
            }  # fmt: skip
        elif roll < 0.95:
            t, d = "GUILD_MEMBER_ADD", {"guild_id": guild, "joined_at": when, "roles": [], "user": author}
        elif roll < 0.965:
            t, d = "GUILD_MEMBER_REMOVE", {"guild_id": guild, "user": author}
        elif roll < 0.98:
            action = rng.choice(AUDIT_ACTIONS)
            t, d = "GUILD_AUDIT_LOG_ENTRY_CREATE", {
                "id": snowflake(moment, self.seq), "guild_id": guild, "action_type": action,
                "user_id": rng.choice(self.moderators), "target_id": member,
                "reason": rng.choice([None, "spam", "rule 3", "cool down"]),
                "options": {"channel_id": channel, "count": "1"} if action in (72, 73) else {},
            }  # fmt: skip
        elif roll < 0.99:
            name = rng.choice(COMMANDS)
            parts = name[1:].split()
            options = [{"name": parts[1], "type": 1, "options": []}] if len(parts) > 1 else []
            t, d = "INTERACTION_CREATE", {
                "id": snowflake(moment, self.seq), "type": 2, "guild_id": guild, "channel_id": channel,
                "member": {"user": author, "roles": [], "permissions": "0"},
                "data": {"id": self.command_id, "name": parts[0], "type": 1, "options": options},
            }  # fmt: skip
        else:
            t, d = (
                "TYPING_START",
                {"channel_id": channel, "guild_id": guild, "user_id": member, "timestamp": int(moment.timestamp())},
            )
        return {"t": t, "seq": self.seq, "received_at": when, "source": "gateway", "d": d}
