"""REST backfill figures, side by side in one run: Discord requests per 1,000 messages beside the floor.

The floor is ⌈messages / 100⌉ message pages per channel (Discord's largest page). A backfill also
lists the guild's channels and active threads (2 requests a guild) and each text channel's archived
threads (public and private: 2 a channel); those are shown apart. Channels of several sizes are read
by the real `services.backfill.Backfill` and `DiscordRest` from the fake Discord on loopback (its
buckets and global limit enforced); the messages go to a counting sink, since storage is not what
is measured here (`make bench` ingest figures cover it).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

GUILD = "1300000000000000100"
SIZES = (1, 99, 100, 101, 250, 1_000, 10_000)


class _CountingSink:
    class _Archive:
        def __init__(self) -> None:
            self.puts = 0

        def put(self, key: str, text: str) -> None:
            self.puts += 1

    def __init__(self) -> None:
        self.archive = self._Archive()
        self.messages = 0

    def ingest(self, envelope: Any, raw_events: list[dict[str, Any]]) -> Any:
        self.messages += len(raw_events)
        return type("Answer", (), {"accepted": len(raw_events)})()


def report() -> None:
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.services.backfill import Backfill
    from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest
    from tests.fakes.discord_history import history

    start = datetime(2026, 11, 1, tzinfo=UTC)
    channels = {str(1300000000000001000 + n): size for n, size in enumerate(SIZES)}
    with FakeDiscordRest() as fake:
        fake.history.add_guild(GUILD)
        for channel, size in channels.items():
            fake.history.add_channel(GUILD, channel)
            fake.history.add_messages(channel, history(channel, start, size, every=timedelta(seconds=2)))
        rest = DiscordRest(fake.api_base, lambda: BOT_TOKEN)
        sink = _CountingSink()
        began = time.perf_counter()
        summary = Backfill(rest, sink).run(GUILD)
        elapsed = time.perf_counter() - began
        pages = {
            channel: sum(1 for r in fake.requests if r.path == f"/channels/{channel}/messages" and r.status == 200)
            for channel in channels
        }
        rate_limited = sum(1 for r in fake.requests if r.status == 429)

    print("REST backfill: Discord requests per 1,000 messages beside the floor ⌈messages/100⌉")
    print(f"  {'messages':>9} {'requests':>9} {'floor':>6} {'per 1,000':>10} {'floor per 1,000':>16}")
    total_messages = total_pages = total_floor = 0
    for channel, size in channels.items():
        floor = math.ceil(size / 100)
        total_messages, total_pages, total_floor = (
            total_messages + size,
            total_pages + pages[channel],
            total_floor + floor,
        )
        per_1000, floor_per_1000 = 1000 * pages[channel] / size, 1000 * floor / size
        print(f"  {size:>9,} {pages[channel]:>9} {floor:>6} {per_1000:>10.1f} {floor_per_1000:>16.1f}")
    print(
        f"  {total_messages:>9,} {total_pages:>9} {total_floor:>6} {1000 * total_pages / total_messages:>10.2f} "
        f"{1000 * total_floor / total_messages:>16.2f}  (all channels)"
    )
    listing = summary.requests - total_pages
    print(
        f"  listing requests (channels, active threads, archived threads): {listing}; "
        f"429s met: {rate_limited}; messages stored: {sink.messages:,}; {elapsed:.1f} s"
    )
