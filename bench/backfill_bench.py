"""REST backfill figures, side by side in one run: Discord requests per 1,000 messages beside the floor.

The floor is ⌈messages / 100⌉ message pages per channel (Discord's largest page). A backfill also
lists the guild's channels and active threads (2 requests a guild) and each text channel's archived
threads (public and private: 2 a channel); those are shown apart. Channels of several sizes are read
by the real `services.backfill.Backfill` and `DiscordRest` from the fake Discord on loopback (its
buckets and global limit enforced); the messages go to a counting sink, since storage is not what
is measured here (`make bench` ingest figures cover it).

Then the duplicate check's reads: the same channels backfilled through the real Ingestor into an
in-memory hot table that meters every read as DynamoDB bills it on demand (eventually consistent: half
a unit per 4 KB started, of a Query's items summed, of each BatchGetItem key's own item), beside the
duplicate read ingest makes anyway — first into an empty table, then again over it, then into a table
where the relay had stored every create under a `gw:<session>:<seq>` id.
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


class _MeteredTable:
    """The hot table for the Ingestor (HotStore) and the check (HotReader), with its reads metered."""

    def __init__(self) -> None:
        from tests.fakes.memory_table import MemoryTable

        self.table = MemoryTable()
        self.check_queries = 0
        self.check_units = 0.0
        self.ingest_keys = 0
        self.ingest_units = 0.0

    # -- HotStore (services.ingest)
    def put_items(self, items: list[dict[str, Any]]) -> int:
        for item in items:
            self.table.put(item)
        return 1

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        from guildlog.services.hot_items import item_size

        items = self.table.items
        self.ingest_keys += len(keys)
        # An absent key costs the minimum read, as a present one of up to 4 KB does.
        self.ingest_units += sum(
            0.5 * max(1, math.ceil(item_size(items[k]) / 4096)) if k in items else 0.5 for k in keys
        )
        return {k: str(items[k].get("batch_id", "")) for k in keys if k in items}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, Any]:
        return {}

    # -- HotReader (services.known_creates)
    def query(self, pk: str, **kwargs: Any) -> Any:
        from guildlog.services.hot_items import item_size

        page = self.table.query(pk, **kwargs)
        self.check_queries += 1
        size = sum(item_size(self.table.items[(i["PK"], i["SK"])]) for i in page.items)
        self.check_units += 0.5 * max(1, math.ceil(size / 4096))
        return page

    def get(self, pk: str, sk: str) -> Any:
        return self.table.get(pk, sk)


def _checked_run(rest: Any, table: _MeteredTable, clock: Any) -> tuple[Any, _MeteredTable]:
    from guildlog.services.backfill import Backfill
    from guildlog.services.ingest import Ingestor
    from guildlog.services.known_creates import HotCreates

    ingestor = Ingestor(_CountingSink._Archive(), table, clock=clock)
    checked = Backfill(rest, ingestor, clock=clock, known=HotCreates(table))
    return checked.run(GUILD), table


def _logged_by_relay(channels: dict[str, list[dict[str, Any]]]) -> _MeteredTable:
    """A table where the relay stored every create as `gw:<session>:<seq>` (before a create's id was its message's)."""
    from guildlog.models.envelope import EnvelopeEvent
    from guildlog.services.normalize import normalize

    table = _MeteredTable()
    seq = 0
    for messages in channels.values():
        rows = []
        for message in messages:
            seq += 1
            event = EnvelopeEvent.model_validate(
                {
                    "t": "MESSAGE_CREATE",
                    "seq": seq,
                    "received_at": message["timestamp"],
                    "d": {**message, "guild_id": GUILD},
                }
            )
            rows.append(normalize(event, event_id=f"gw:bench:{seq}", batch_id=f"relay-{seq}"))
        table.table.add_rows(rows, batch_id="relay-bench")
    return table


def report() -> None:
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.services.backfill import Backfill
    from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest
    from tests.fakes.discord_history import history

    start = datetime(2026, 11, 1, tzinfo=UTC)
    channels = {str(1300000000000001000 + n): size for n, size in enumerate(SIZES)}
    histories = {
        channel: history(channel, start, size, every=timedelta(seconds=2)) for channel, size in channels.items()
    }
    with FakeDiscordRest() as fake:
        fake.history.add_guild(GUILD)
        for channel in channels:
            fake.history.add_channel(GUILD, channel)
            fake.history.add_messages(channel, histories[channel])
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
        # Inside the hot retention of the messages: what a backfill of recent history meets.
        clock = lambda: start + timedelta(days=1)  # noqa: E731
        fresh = _checked_run(rest, _MeteredTable(), clock)
        again = _checked_run(rest, _metered_copy(fresh[1]), clock)
        before = _checked_run(rest, _logged_by_relay(histories), clock)

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
    messages = sum(channels.values())
    print("Duplicate check of a backfill (services/known_creates.py) beside ingest's own duplicate read, per message")
    print("  (read units: on demand, eventually consistent; the same run, the same 7 channels)")
    print(
        f"  {'case':<44} {'check Queries':>13} {'check units':>12} {'ingest keys':>12} {'ingest units':>13} "
        f"{'left out':>9} {'new':>7}"
    )
    for label, (summary, table) in (
        ("first backfill, nothing stored before", fresh),
        ("again (creates stored as msg:<id>)", again),
        ("relay stored every create as gw:<s>:<seq>", before),
    ):
        known = sum(c.known for c in summary.channels)
        print(
            f"  {label:<44} {table.check_queries / messages:>13.4f} {table.check_units / messages:>12.4f} "
            f"{table.ingest_keys / messages:>12.2f} {table.ingest_units / messages:>13.3f} {known:>9,} "
            f"{summary.stored:>7,}"
        )


def _metered_copy(table: _MeteredTable) -> _MeteredTable:
    """The same items, its meters at zero."""
    copy = _MeteredTable()
    copy.table.items = dict(table.table.items)
    return copy
