"""guildlog.services.ingest: an envelope → archive objects and hot items, over in-memory fakes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from guildlog.errors import StorageError
from guildlog.models.config import GuildConfig
from guildlog.models.envelope import Envelope
from guildlog.services import keys
from guildlog.services.feed_shards import LEAD, Epoch, ShardPlan
from guildlog.services.hot_items import Item, fold
from guildlog.services.ingest import ConfigCache, Ingestor, IngestResult, PlanCache
from guildlog.services.timefmt import iso

GUILD = "100000000000000001"
CHANNEL = "100000000000000002"
QUIET_CHANNEL = "100000000000000009"
USER = "100000000000000003"
NOW = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
_serializer = TypeSerializer()


class FakeArchive:
    """The archive port: a dict of object texts by key, encoded as S3Archive encodes them."""

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.puts = 0

    def put(self, key: str, text: str) -> None:
        text.encode("utf-8")  # what the real archive does before gzip; refuses what S3 could not hold
        self.objects[key] = text
        self.puts += 1

    def lines(self, prefix: str) -> list[dict[str, Any]]:
        found = [k for k in sorted(self.objects) if k.startswith(prefix)]
        return [json.loads(line) for k in found for line in self.objects[k].splitlines()]


class FakeStore:
    """The HotStore port in memory: items by key (counter deltas among them), guild configs."""

    def __init__(self, configs: dict[str, GuildConfig] | None = None) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.configs = configs or {}
        # The next put_items writes this many items, then fails (None: no failure).
        self.fail_next_put_after: int | None = None

    def put_items(self, items: list[Item]) -> int:
        for n, item in enumerate(items):
            if self.fail_next_put_after is not None and n == self.fail_next_put_after:
                self.fail_next_put_after = None
                raise StorageError("scripted failure")
            {k: _serializer.serialize(v) for k, v in item.items()}  # DynamoDB's types, or TypeError
            self.items[(item["PK"], item["SK"])] = copy.deepcopy(item)
        return 1

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {key: self.items[key].get("batch_id", "") for key in keys if key in self.items}

    @property
    def counters(self) -> dict[str, dict[str, int]]:
        """Each guild-day's counters, folded from its delta items as `/stats` reads them."""
        by_day: dict[str, list[Item]] = {}
        for (pk, _), item in self.items.items():
            if item.get("kind") in ("counter_delta", "counter_window"):
                by_day.setdefault(pk, []).append(item)
        return {pk: fold(items) for pk, items in sorted(by_day.items())}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, GuildConfig]:
        return {g: self.configs[g] for g in guild_ids if g in self.configs}

    def feed(self) -> list[Item]:
        return [item for (pk, sk), item in sorted(self.items.items()) if sk.startswith("E#")]


def message(seq: int, at: str, *, content: str = "hello", message_id: int | None = None, **d: Any) -> dict[str, Any]:
    mid = str(200000000000000000 + (message_id if message_id is not None else seq))
    data = {
        "id": mid,
        "channel_id": CHANNEL,
        "guild_id": GUILD,
        "author": {"id": USER, "username": "alice"},
        "content": content,
        "timestamp": at,
        **d,
    }
    return {"t": "MESSAGE_CREATE", "seq": seq, "received_at": at, "d": data}


def create_id(seq: int) -> str:
    """The event id of `message(seq, …)`'s create: its message id's (services/event_ids.py)."""
    return f"msg:{200000000000000000 + seq}"


def body(*events: dict[str, Any], batch_id: str = "s1-0-1-9") -> dict[str, Any]:
    return {"v": 1, "batch_id": batch_id, "relay": {"session_id": "s1", "shard": [0, 1]}, "events": list(events)}


def run(ingestor: Ingestor, payload: dict[str, Any]) -> IngestResult:
    payload = json.loads(json.dumps(payload))  # the raw events are what json.loads gave, as in the handler
    return ingestor.ingest(Envelope.model_validate(payload), payload["events"])


def make(configs: dict[str, GuildConfig] | None = None) -> tuple[Ingestor, FakeArchive, FakeStore]:
    archive, store = FakeArchive(), FakeStore(configs)
    return Ingestor(archive, store, clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0)), archive, store


def counts(result: IngestResult) -> tuple[int, int, int]:
    return result.accepted, result.duplicates, result.quarantined


# --- routing --------------------------------------------------------------------------------------


def test_ingest_writes_each_dataset_per_partition_day_when_batch_spans_midnight() -> None:
    ingestor, archive, _ = make()

    result = run(
        ingestor,
        body(message(1, "2026-03-07T23:59:59.999000+00:00"), message(2, "2026-03-08T00:00:00.000000+00:00")),
    )

    assert sorted(archive.objects) == [
        "events/year=2026/month=03/day=07/s1-0-1-9.jsonl.gz",
        "events/year=2026/month=03/day=08/s1-0-1-9.jsonl.gz",
        "events_csv/year=2026/month=03/day=07/s1-0-1-9.csv.gz",
        "events_csv/year=2026/month=03/day=08/s1-0-1-9.csv.gz",
        "raw/year=2026/month=03/day=07/s1-0-1-9.jsonl.gz",
        "raw/year=2026/month=03/day=08/s1-0-1-9.jsonl.gz",
    ]
    assert (result.objects, counts(result)) == (6, (2, 0, 0))
    assert [r["event_id"] for r in archive.lines("events/year=2026/month=03/day=07/")] == [create_id(1)]
    assert [r["event"]["seq"] for r in archive.lines("raw/year=2026/month=03/day=08/")] == [2]


def test_ingest_archives_events_exactly_as_received_when_writing_raw() -> None:
    ingestor, archive, _ = make()
    event = message(1, "2026-03-07T12:00:00+00:00", unknown_new_field={"nested": [1, 2.5, None]})

    run(ingestor, body(event))

    [line] = archive.lines("raw/")
    assert line["event"] == event
    assert (line["event_id"], line["batch_id"]) == (create_id(1), "s1-0-1-9")


def test_ingest_writes_csv_with_a_header_when_rows_are_archived() -> None:
    ingestor, archive, _ = make()

    run(ingestor, body(message(1, "2026-03-07T12:00:00+00:00", content="line\nbreak")))

    text = archive.objects["events_csv/year=2026/month=03/day=07/s1-0-1-9.csv.gz"]
    assert text.startswith('"event_id",')
    assert text.count("\r\n") == 2


# --- poison events --------------------------------------------------------------------------------


def test_ingest_quarantines_the_poison_event_when_it_sits_beside_good_ones() -> None:
    ingestor, archive, store = make()
    poison = message(2, "2026-03-07T12:00:01+00:00", channel_id="not-a-snowflake")

    result = run(
        ingestor, body(message(1, "2026-03-07T12:00:00+00:00"), poison, message(3, "2026-03-07T12:00:02+00:00"))
    )

    assert counts(result) == (2, 0, 1)
    [line] = archive.lines("quarantine/year=2026/month=03/day=07/")
    assert line["event"] == poison
    assert line["event_id"] == create_id(2)
    assert "d.channel_id" in line["reason"]
    assert [r["seq"] for r in archive.lines("events/")] == [1, 3]
    assert len(archive.lines("raw/")) == 3
    assert [i["event_id"] for i in store.feed()] == [create_id(1), create_id(3)]


@pytest.mark.parametrize(
    "poison_d",
    [
        pytest.param({"deep": json.loads("[" * 400 + "]" * 400)}, id="nested-400-levels"),
        pytest.param({"content": "\ud800 lone surrogate"}, id="lone-surrogate"),
    ],
)
def test_ingest_quarantines_an_event_that_cannot_be_archived_when_it_sits_beside_good_ones(
    poison_d: dict[str, Any],
) -> None:
    # Both parse as JSON (json.loads accepts them) yet cannot be written back out as UTF-8 JSON.
    ingestor, archive, store = make()
    poison = message(2, "2026-03-07T12:00:01+00:00", **poison_d)

    result = run(ingestor, body(message(1, "2026-03-07T12:00:00+00:00"), poison))

    assert counts(result) == (1, 0, 1)
    [line] = archive.lines("quarantine/")
    assert line["event_id"] == create_id(2)
    assert line["reason"]
    assert json.loads(line["event"]["json"]) == json.loads(json.dumps(poison))  # kept, as escaped text
    assert [r["seq"] for r in archive.lines("events/")] == [1]
    assert [i["event_id"] for i in store.feed()] == [create_id(1)]


# --- duplicates and idempotency -------------------------------------------------------------------


def test_ingest_counts_an_in_batch_repeat_as_one_duplicate_when_an_event_id_repeats() -> None:
    ingestor, archive, store = make()
    event = message(1, "2026-03-07T12:00:00+00:00")

    result = run(ingestor, body(event, event, message(2, "2026-03-07T12:00:01+00:00")))

    assert counts(result) == (2, 1, 0)
    assert len(archive.lines("raw/")) == 2
    assert store.counters[f"G#{GUILD}#D#2026-03-07"]["messages"] == 2


def test_ingest_leaves_archive_and_store_as_once_when_the_same_envelope_arrives_twice() -> None:
    ingestor, archive, store = make()
    payload = body(
        message(1, "2026-03-07T23:59:59.000+00:00"),
        message(2, "2026-03-08T00:00:01.000+00:00"),
        {
            "t": "MESSAGE_DELETE",
            "seq": 3,
            "received_at": "2026-03-08T00:00:02Z",
            "d": {"id": "200000000000000001", "channel_id": CHANNEL, "guild_id": GUILD},
        },
    )
    first = run(ingestor, payload)
    objects, items, counters = dict(archive.objects), copy.deepcopy(store.items), copy.deepcopy(store.counters)

    second = run(ingestor, payload)

    assert counts(first) == (3, 0, 0)
    assert counts(second) == (0, 3, 0)
    assert archive.objects == objects
    assert store.items == items
    assert store.counters == counters


def test_ingest_ends_in_the_same_items_when_batches_arrive_in_either_order() -> None:
    create = body(message(1, "2026-03-07T12:00:00+00:00", content="before"), batch_id="b1")
    later = body(
        {
            "t": "MESSAGE_UPDATE",
            "seq": 2,
            "received_at": "2026-03-07T12:05:00Z",
            "d": {
                "id": "200000000000000001",
                "channel_id": CHANNEL,
                "guild_id": GUILD,
                "content": "after",
                "edited_timestamp": "2026-03-07T12:04:59+00:00",
                "author": {"id": USER},
            },
        },
        {
            "t": "MESSAGE_DELETE",
            "seq": 3,
            "received_at": "2026-03-07T12:06:00Z",
            "d": {"id": "200000000000000001", "channel_id": CHANNEL, "guild_id": GUILD},
        },
        batch_id="b2",
    )
    in_order, _, in_order_store = make()
    reversed_order, _, reversed_store = make()

    run(in_order, create)
    run(in_order, later)
    run(reversed_order, later)
    run(reversed_order, create)

    assert in_order_store.items == reversed_store.items
    assert in_order_store.counters == reversed_store.counters
    versions = sorted(
        (i["occurred_at"], i["content"])
        for (_, sk), i in in_order_store.items.items()
        if sk.startswith("V#") or i.get("whole")
    )
    assert [content for _, content in versions] == ["before", "after"]


# The items go out as: feed 1, version 1, feed 2, version 2, then the counter deltas.
@pytest.mark.parametrize(
    ("written", "answer"),
    [(0, (2, 0, 0)), (1, (1, 1, 0)), (3, (0, 2, 0))],
    ids=["nothing-written", "one-feed-item-written", "both-feed-items-written"],
)
def test_ingest_applies_counters_once_when_a_batch_is_retried_after_a_failed_write(
    written: int, answer: tuple[int, int, int]
) -> None:
    ingestor, _, store = make()
    payload = body(message(1, "2026-03-07T12:00:00+00:00"), message(2, "2026-03-07T12:00:01+00:00"))
    store.fail_next_put_after = written
    with pytest.raises(StorageError):
        run(ingestor, payload)

    result = run(ingestor, payload)

    assert counts(result) == answer
    assert store.counters[f"G#{GUILD}#D#2026-03-07"]["messages"] == 2
    assert store.counters[f"G#{GUILD}#D#2026-03-07"][f"u#{USER}"] == 2


def test_ingest_counts_an_event_once_when_another_batch_stored_it_first() -> None:
    ingestor, _, store = make()
    run(ingestor, body(message(1, "2026-03-07T12:00:00+00:00"), batch_id="first"))

    result = run(
        ingestor,
        body(message(1, "2026-03-07T12:00:00+00:00"), message(2, "2026-03-07T12:00:01+00:00"), batch_id="second"),
    )

    assert counts(result) == (1, 1, 0)
    assert store.counters[f"G#{GUILD}#D#2026-03-07"]["messages"] == 2
    assert store.items[(f"G#{GUILD}", store.feed()[0]["SK"])]["batch_id"] == "first"


# --- what stays out of the hot table --------------------------------------------------------------


def test_ingest_archives_but_does_not_index_when_event_is_older_than_retention() -> None:
    ingestor, archive, store = make()

    result = run(ingestor, body(message(1, "2026-01-01T12:00:00+00:00")))

    assert counts(result) == (1, 0, 0)
    assert [r["event_id"] for r in archive.lines("events/year=2026/month=01/day=01/")] == [create_id(1)]
    assert "events_csv/year=2026/month=01/day=01/s1-0-1-9.csv.gz" in archive.objects
    assert store.items == {}
    assert store.counters == {}


def test_ingest_indexes_an_old_event_when_the_guild_keeps_it_longer() -> None:
    ingestor, _, store = make({GUILD: GuildConfig(guild_id=GUILD, retention_days=365)})

    run(ingestor, body(message(1, "2026-01-01T12:00:00+00:00")))

    [item] = store.feed()
    assert item["expires_at"] == int(datetime(2027, 1, 1, 12, tzinfo=UTC).timestamp())


def test_ingest_archives_but_does_not_index_when_the_channel_is_ignored() -> None:
    ingestor, archive, store = make({GUILD: GuildConfig(guild_id=GUILD, ignored_channels={QUIET_CHANNEL})})

    run(
        ingestor,
        body(
            message(1, "2026-03-07T12:00:00+00:00"), message(2, "2026-03-07T12:00:01+00:00", channel_id=QUIET_CHANNEL)
        ),
    )

    assert len(archive.lines("events/")) == 2
    assert [i["event_id"] for i in store.feed()] == [create_id(1)]
    assert store.counters[f"G#{GUILD}#D#2026-03-07"]["messages"] == 1


def test_ingest_answers_with_counts_when_done() -> None:
    ingestor, _, _ = make()

    result = run(ingestor, body(message(1, "2026-03-07T12:00:00+00:00")))

    assert result.answer() == {"batch_id": "s1-0-1-9", "accepted": 1, "duplicates": 0, "quarantined": 0}


def _shard_seen_writes(store: FakeStore) -> list[str]:
    """The SKs of the `RELAYS` items each put_items call of `store` writes, from now on."""
    written: list[str] = []
    put = store.put_items

    def recording(items: list[Item]) -> int:
        written.extend(str(i["SK"]) for i in items if i["PK"] == "RELAYS")
        return put(items)

    store.put_items = recording  # type: ignore[method-assign]
    return written


def test_ingest_indexes_the_shard_once_a_day_per_container_when_batches_follow() -> None:
    ingestor, _, store = make()
    written = _shard_seen_writes(store)

    run(ingestor, body(message(1, "2026-03-07T12:00:00+00:00"), batch_id="s1-0-1-1"))
    run(ingestor, body(message(2, "2026-03-07T12:00:01+00:00"), batch_id="s1-0-2-2"))
    run(ingestor, body(message(3, "2026-03-08T00:00:01+00:00"), batch_id="s1-0-3-3"))
    another_container = Ingestor(FakeArchive(), store, clock=lambda: NOW)
    run(another_container, body(message(4, "2026-03-07T12:00:02+00:00"), batch_id="s1-0-4-4"))

    # The second batch of the day writes no index item; another container writes its own once.
    assert written == ["D#2026-03-07#S#0", "D#2026-03-08#S#0", "D#2026-03-07#S#0"]
    assert {("RELAYS", "D#2026-03-07#S#0"), ("RELAYS", "D#2026-03-08#S#0")} <= set(store.items)


def test_ingest_indexes_the_shard_again_when_the_write_that_held_it_failed() -> None:
    ingestor, _, store = make()
    store.fail_next_put_after = 0
    payload = body(message(1, "2026-03-07T12:00:00+00:00"))

    with pytest.raises(StorageError):
        run(ingestor, payload)
    run(ingestor, payload)

    assert ("RELAYS", "D#2026-03-07#S#0") in store.items
    assert not [sk for pk, sk in store.items if pk.startswith("RELAY#")]  # no per-batch activity item


def test_ingest_remembers_a_bounded_number_of_shard_days_when_a_container_lives_for_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("guildlog.services.ingest.SHARDS_SEEN_MAX", 2)
    ingestor, _, store = make()
    written = _shard_seen_writes(store)

    for n, day in enumerate(["2026-03-05", "2026-03-06", "2026-03-07", "2026-03-07"], start=1):
        run(ingestor, body(message(n, f"{day}T12:00:00+00:00"), batch_id=f"s1-0-{n}-{n}"))

    # The third day starts the memory again: its item is written, and the same day's next batch is not.
    assert written == ["D#2026-03-05#S#0", "D#2026-03-06#S#0", "D#2026-03-07#S#0"]
    assert len(ingestor._shards_seen) <= 2


# --- kicks and bans are not leaves ----------------------------------------------------------------


def _removal_and_ban(ban_first: bool) -> dict[str, dict[str, int]]:
    from guildlog.services.directory import Directory
    from tests.fakes.memory_directory import MemoryDirectoryStore

    archive, store = FakeArchive(), FakeStore()
    ingestor = Ingestor(
        archive,
        store,
        clock=lambda: NOW,
        config_cache=ConfigCache(ttl_seconds=0),
        directory=Directory(MemoryDirectoryStore()),
    )
    at = "2026-03-08T00:30:00.000000+00:00"
    entry_id = str((int(datetime(2026, 3, 8, 0, 30, tzinfo=UTC).timestamp() * 1000) - 1_420_070_400_000) << 22)
    audit = {
        "t": "GUILD_AUDIT_LOG_ENTRY_CREATE",
        "seq": 2,
        "received_at": at,
        "d": {"id": entry_id, "guild_id": GUILD, "action_type": 22, "target_id": USER, "user_id": "100000000000000008"},
    }
    remove = {
        "t": "GUILD_MEMBER_REMOVE",
        "seq": 1,
        "received_at": at,
        "d": {"guild_id": GUILD, "user": {"id": USER, "username": "alice"}},
    }
    first, second = (audit, remove) if ban_first else (remove, audit)
    run(ingestor, body(first, batch_id="s1-0-1-1"))
    run(ingestor, body(second, batch_id="s1-0-2-2"))
    run(ingestor, body(second, batch_id="s1-0-2-2"))  # delivered again
    return store.counters


def test_ingest_counts_no_leave_when_the_ban_entry_came_before_the_removal() -> None:
    (counters,) = _removal_and_ban(ban_first=True).values()

    assert counters.get("leaves", 0) == 0


def test_ingest_takes_the_leave_back_once_when_the_ban_entry_comes_after_the_removal() -> None:
    (counters,) = _removal_and_ban(ban_first=False).values()

    assert counters.get("leaves", 0) == 0
    assert counters["k#member"] == 1


# --- times outside the accepted range -------------------------------------------------------------


def received(event: dict[str, Any], at: str) -> dict[str, Any]:
    return {**event, "received_at": at}


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "2014-12-31T23:59:59.999Z",
        "2026-03-09T01:00:00.001Z",  # a day and a millisecond ahead of ingest's clock (NOW)
        "2099-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_ingest_quarantines_an_event_with_the_reason_when_its_time_is_outside_the_accepted_range(
    timestamp: str,
) -> None:
    ingestor, archive, store = make()
    odd = received(message(2, timestamp), "2026-03-07T12:00:00Z")

    result = run(ingestor, body(message(1, "2026-03-07T11:00:00Z"), odd))

    assert counts(result) == (1, 0, 1)
    [line] = archive.lines("quarantine/year=2026/month=03/day=07/")
    assert line["event"] == odd and "outside the accepted range" in line["reason"]
    assert [r["event"]["seq"] for r in archive.lines("raw/year=2026/month=03/day=07/")] == [1, 2]
    assert all(key.split("/")[1] == "year=2026" for key in archive.objects)
    assert [i["event_id"] for i in store.feed()] == [create_id(1)]


@pytest.mark.parametrize(
    ("timestamp", "received_at", "day"),
    [
        ("2015-01-01T00:00:00Z", "2015-01-01T00:00:00Z", "year=2015/month=01/day=01"),
        ("2026-03-09T01:00:00Z", "2026-03-07T12:00:00Z", "year=2026/month=03/day=09"),
    ],
    ids=["discord-epoch", "a-day-ahead-of-ingest"],
)
def test_ingest_accepts_an_event_when_its_time_is_on_the_edge_of_the_accepted_range(
    timestamp: str, received_at: str, day: str
) -> None:
    ingestor, archive, _ = make()

    result = run(ingestor, body(received(message(1, timestamp), received_at)))

    assert counts(result) == (1, 0, 0)
    assert [r["event_id"] for r in archive.lines(f"events/{day}/")] == [create_id(1)]


def test_ingest_accepts_an_event_when_it_is_the_last_moment_the_partitions_project() -> None:
    archive, store = FakeArchive(), FakeStore()
    late = datetime(2099, 12, 31, 12, tzinfo=UTC)
    ingestor = Ingestor(archive, store, clock=lambda: late, config_cache=ConfigCache(ttl_seconds=0))

    result = run(ingestor, body(received(message(1, "2099-12-31T23:59:59.999Z"), "2099-12-31T12:00:00Z")))

    assert counts(result) == (1, 0, 0)
    assert [r["event_id"] for r in archive.lines("events/year=2099/month=12/day=31/")] == [create_id(1)]


# --- snowflakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "guild_id",
    ["１００００００００００００００００１", "١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠١", "10000000000000000١"],
    ids=["full-width", "arabic-indic", "one-arabic-indic-digit"],
)
def test_ingest_quarantines_an_event_when_its_guild_id_has_non_ascii_digits(guild_id: str) -> None:
    ingestor, archive, store = make()

    result = run(ingestor, body(message(1, "2026-03-07T12:00:00Z", guild_id=guild_id)))

    assert counts(result) == (0, 0, 1)
    [line] = archive.lines("quarantine/")
    assert "d.guild_id" in line["reason"]
    assert store.items == {}


# ---------------------------------------------------------------- feed shards


class ShardedStore(FakeStore):
    """FakeStore with the shard plans (`ShardPlanStore`), conditional as DynamoDB's put is."""

    def __init__(self, plans: dict[str, str] | None = None) -> None:
        super().__init__()
        self.plans = dict(plans or {})
        self.replaced: list[tuple[str, str]] = []

    def shard_plans(self, guild_ids: list[str]) -> dict[str, str]:
        return {g: self.plans[g] for g in guild_ids if g in self.plans}

    def replace_shard_plan(self, guild_id: str, expected: str, plan: str) -> bool:
        if self.plans.get(guild_id, "") != expected:
            return False
        self.plans[guild_id] = plan
        self.replaced.append((guild_id, plan))
        return True


def busy_batch(count: int, per_second: int, *, batch_id: str = "busy-1", first: int = 1) -> dict[str, Any]:
    """`count` messages received at `per_second`, an hour before NOW."""
    start = NOW - timedelta(hours=1)
    events = []
    for n in range(first, first + count):
        at = (start + timedelta(seconds=n / per_second)).isoformat()
        events.append(message(n, at, content=f"m{n}"))
    return body(*events, batch_id=batch_id)


def sharded_ingestor(store: ShardedStore) -> Ingestor:
    return Ingestor(
        FakeArchive(), store, clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0), plan_cache=PlanCache(0)
    )


def test_ingest_raises_the_guilds_shards_from_the_lead_on_when_a_batch_arrives_at_2000_a_second() -> None:
    store = ShardedStore()

    run(sharded_ingestor(store), busy_batch(500, 2_000))

    assert ShardPlan.parse(store.plans[GUILD]).epochs == (Epoch(iso(NOW + LEAD), 4),)


def test_ingest_keeps_one_shard_when_the_guild_writes_below_what_one_takes() -> None:
    store = ShardedStore()

    run(sharded_ingestor(store), busy_batch(500, 400))

    assert store.plans == {}
    assert {pk for (pk, sk) in store.items if sk.startswith("E#")} == {keys.guild_pk(GUILD)}


class StaleStore(ShardedStore):
    """Another writer stored `plans` after this ingest read the guild's plan: it reads none."""

    def shard_plans(self, guild_ids: list[str]) -> dict[str, str]:
        return {}


def test_ingest_keeps_the_plan_another_writer_stored_when_both_raise_at_once() -> None:
    other = ShardPlan((Epoch(iso(NOW), 8),)).text()
    store = StaleStore({GUILD: other})

    run(sharded_ingestor(store), busy_batch(500, 2_000))

    assert store.plans[GUILD] == other and store.replaced == []


def test_ingest_writes_each_event_to_the_shard_its_plan_gives_when_the_guild_is_sharded() -> None:
    plan = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))
    store = ShardedStore({GUILD: plan.text()})

    run(sharded_ingestor(store), busy_batch(40, 10))

    feed_pks = {pk for (pk, sk) in store.items if sk.startswith("E#")}
    assert feed_pks == {keys.feed_pk(GUILD, n) for n in range(4)}
    for (pk, sk), item in store.items.items():
        if sk.startswith("E#"):
            assert pk == keys.feed_pk(GUILD, plan.shard_of(item["occurred_at"], item["message_id"]))


def test_ingest_counts_every_event_a_duplicate_when_a_sharded_batch_is_retried_after_the_plan_was_raised() -> None:
    store = ShardedStore()
    ingestor = sharded_ingestor(store)
    batch = busy_batch(500, 2_000)
    run(ingestor, batch)
    written = copy.deepcopy(store.items)
    assert store.plans[GUILD]  # raised by the first attempt

    again = run(ingestor, batch)

    assert counts(again) == (0, 500, 0)
    assert store.items == written
