"""services/gap_repair.py: a relay gap's window backfilled for the guilds of its shard, against the fake Discord."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.discord_rest import DiscordRest
from guildlog.errors import DiscordApiError
from guildlog.models.envelope import EnvelopeEvent
from guildlog.services import keys
from guildlog.services.backfill import MemoryCheckpoints, snowflake_at
from guildlog.services.gap_repair import NOT_RECOVERABLE, GapJob, GapRepair, gap_job, serves
from guildlog.services.timefmt import iso
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest
from tests.fakes.discord_history import history
from tests.unit.layer.services.test_backfill import Sink

SINCE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(minutes=5)
NOW = SINCE + timedelta(hours=1)


def guild_on(shard: int, count: int, n: int) -> str:
    """A guild id that shard `shard` of `count` carries (Discord: (id >> 22) % count)."""
    base = snowflake_at(datetime(2020, 1, 1, tzinfo=UTC)) >> 22
    while base % count != shard:
        base += 1
    return str((base + n * count) << 22)


HERE = guild_on(1, 2, 0)
ELSEWHERE = guild_on(0, 2, 0)
CHANNEL_HERE = "900000000000000031"
CHANNEL_ELSEWHERE = "900000000000000032"


class MemoryRecords:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.opened = 0
        self.cps: dict[str, MemoryCheckpoints] = {}

    def open(self, job: GapJob, opened_at: str) -> str:
        if job.gap_event_id not in self.records:
            self.opened += 1
            self.records[job.gap_event_id] = {"state": "open", "opened_at": opened_at}
        return str(self.records[job.gap_event_id]["state"])

    def checkpoints(self, job: GapJob) -> MemoryCheckpoints:
        return self.cps.setdefault(job.gap_event_id, MemoryCheckpoints())

    def close(self, job: GapJob, record: dict[str, Any]) -> None:
        self.records[job.gap_event_id].update(record)


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest() as fake:
        fake.history.add_channel(HERE, CHANNEL_HERE)
        fake.history.add_channel(ELSEWHERE, CHANNEL_ELSEWHERE)
        # Before, inside and after the gap's window, in both guilds.
        for channel in (CHANNEL_HERE, CHANNEL_ELSEWHERE):
            fake.history.add_messages(
                channel, history(channel, SINCE - timedelta(minutes=10), 50, every=timedelta(seconds=30))
            )
        yield fake


def job(**changes: Any) -> GapJob:
    return GapJob(gap_event_id="relay:gap-1-s1-42", shard=(1, 2), since=iso(SINCE), until=iso(UNTIL), **changes)


def repair(discord: FakeDiscordRest, sink: Sink, records: MemoryRecords) -> GapRepair:
    return GapRepair(DiscordRest(discord.api_base, lambda: BOT_TOKEN, timeout=5.0), sink, records, clock=lambda: NOW)


def test_gap_repair_recovers_the_windows_messages_of_the_shards_guilds_when_a_gap_is_repaired(
    discord: FakeDiscordRest,
) -> None:
    sink, records = Sink(), MemoryRecords()

    result = repair(discord, sink, records).run(job())

    expected = [
        m["id"]
        for m in history(CHANNEL_HERE, SINCE - timedelta(minutes=10), 50, every=timedelta(seconds=30))
        if SINCE <= datetime.fromisoformat(m["timestamp"]) <= UNTIL
    ]
    assert sorted(sink.message_ids) == sorted(expected) and len(expected) == 11
    assert result.recovered == 11
    assert records.records[job().gap_event_id]["recovered_by_guild"] == {HERE: 11}
    assert not any(r.path.startswith(f"/channels/{CHANNEL_ELSEWHERE}") for r in discord.requests)


def test_gap_repair_records_what_was_recovered_and_what_cannot_be_when_it_finishes(discord: FakeDiscordRest) -> None:
    records = MemoryRecords()

    repair(discord, Sink(), records).run(job())

    record = records.records[job().gap_event_id]
    assert record["state"] == "repaired" and record["recovered"] == 11
    assert "messages created in the window" in record["recoverable"]
    for lost in ("edits and deletions", "reactions", "members joining", "voice"):
        assert lost in record["not_recoverable"]
    assert record["not_recoverable"] == "; ".join(NOT_RECOVERABLE)


def test_gap_repair_says_partly_repaired_when_a_channel_cannot_be_read(discord: FakeDiscordRest) -> None:
    other = "900000000000000033"
    discord.history.add_channel(HERE, other)
    discord.history.add_messages(other, history(other, SINCE, 3))
    discord.history.deny_read(other)
    records = MemoryRecords()

    repair(discord, Sink(), records).run(job())

    record = records.records[job().gap_event_id]
    assert record["state"] == "partly repaired" and other in record["skipped"] and "403" in record["skipped"]


def test_gap_repair_stays_open_and_raises_when_discord_keeps_failing(discord: FakeDiscordRest) -> None:
    from guildlog_tools.fakes.discord_rest import Scripted

    discord.script(Scripted(r"GET /users/@me/guilds", 503, times=10))
    records = MemoryRecords()

    with pytest.raises(DiscordApiError):
        GapRepair(
            DiscordRest(discord.api_base, lambda: BOT_TOKEN, attempts=2, sleep=lambda s: None),
            Sink(),
            records,
            clock=lambda: NOW,
        ).run(job())

    assert records.records[job().gap_event_id]["state"] == "open"


def test_gap_repair_fetches_nothing_twice_when_a_job_is_delivered_again(discord: FakeDiscordRest) -> None:
    sink, records = Sink(), MemoryRecords()
    repair(discord, sink, records).run(job())

    repair(discord, sink, records).run(job())

    assert records.opened == 1 and len(sink.message_ids) == 11
    assert records.records[job().gap_event_id]["recovered"] == 11  # the second delivery erased nothing


def test_gap_repair_resumes_from_its_checkpoints_when_an_unfinished_job_is_delivered_again(
    discord: FakeDiscordRest,
) -> None:
    records = MemoryRecords()
    cut = Sink(fail_after=0)
    with pytest.raises(KeyboardInterrupt):
        repair(discord, cut, records).run(job())
    resumed = Sink()

    repair(discord, resumed, records).run(job())

    assert records.records[job().gap_event_id]["state"] == "repaired" and len(resumed.message_ids) == 11


def test_gap_job_takes_the_window_and_shard_when_the_relay_reports_a_lost_session() -> None:
    d = {
        "shard": [1, 2],
        "session_id": "s1",
        "last_seq": 41,
        "from_seq": 42,
        "to_seq": None,
        "since": iso(SINCE),
        "until": iso(UNTIL),
        "reason": "session_expired",
    }
    event = EnvelopeEvent.model_validate(
        {
            "t": "GUILDLOG_GAP",
            "source": "relay",
            "received_at": iso(SINCE),
            "d": d,
            "id": "gap-1-s1-42",
            "shard": [1, 2],
        }
    )

    made = gap_job(event.t, event.source, event.d, "relay:gap-1-s1-42", event.shard)

    assert made == GapJob(
        gap_event_id="relay:gap-1-s1-42", shard=(1, 2), since=iso(SINCE), until=iso(UNTIL), reason="session_expired"
    )


@pytest.mark.parametrize(
    ("t", "source", "d"),
    [
        (
            "GUILDLOG_HEARTBEAT",
            "relay",
            {"shard": [0, 1], "since": "2026-11-20T12:00:00Z", "until": "2026-11-20T12:01:00Z"},
        ),
        (
            "GUILDLOG_GAP",
            "gateway",
            {"shard": [0, 1], "since": "2026-11-20T12:00:00Z", "until": "2026-11-20T12:01:00Z"},
        ),
        ("GUILDLOG_GAP", "relay", {"shard": [0, 1], "since": "not a time", "until": "2026-11-20T12:01:00Z"}),
        ("GUILDLOG_GAP", "relay", {"shard": [0, 1], "since": "2026-11-20T12:02:00Z", "until": "2026-11-20T12:01:00Z"}),
    ],
)
def test_gap_job_is_none_when_the_event_is_not_a_repairable_gap(t: str, source: str, d: dict[str, Any]) -> None:
    assert gap_job(t, source, d, "relay:x", (0, 1)) is None


def test_serves_follows_discords_sharding_formula_when_given_a_guild() -> None:
    assert serves(HERE, (1, 2)) and not serves(ELSEWHERE, (1, 2)) and serves(ELSEWHERE, (0, 2))
    assert serves("81384788765712384", (0, 1))


def test_repair_sk_sorts_a_shards_gaps_by_time_when_built() -> None:
    assert keys.repair_sk("2026-11-20T12:00:00.000Z", "relay:gap-0-s-1") == "R#2026-11-20T12:00:00.000Z#relay:gap-0-s-1"
    assert keys.REPAIR_FIRST <= keys.repair_sk_at("2026") < keys.REPAIR_LAST


def test_gap_repair_stores_each_message_once_when_the_relay_logged_the_windows_edges(
    discord: FakeDiscordRest,
) -> None:
    from tests.unit.layer.services.test_backfill import creates, feed_of, live

    window = [
        m
        for m in history(CHANNEL_HERE, SINCE - timedelta(minutes=10), 50, every=timedelta(seconds=30))
        if SINCE <= datetime.fromisoformat(m["timestamp"]) <= UNTIL
    ]
    sink, records = Sink(), MemoryRecords()
    live(sink, creates(window[:2], guild=HERE), batch_id="relay-0-1")  # before the session was lost

    result = repair(discord, sink, records).run(job())
    late = live(sink, creates(window[-2:], first_seq=100, guild=HERE), batch_id="relay-1-1")  # the next session's spool

    assert result.recovered == 11 and sum(s.stored for s in result.summaries) == 9
    assert (late.accepted, late.duplicates) == (0, 2)
    assert all(len(feed_of(sink, m["id"])) == 1 for m in window)
