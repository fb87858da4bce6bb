"""Feed shards on moto's DynamoDB: the stored plan, ingest raising it, and the merged read through HotReader."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.models.envelope import Envelope
from guildlog.services import keys
from guildlog.services.feed_shards import LEAD, Epoch, ShardPlan
from guildlog.services.ingest import Ingestor
from guildlog.services.timefmt import iso

GUILD = "100000000000000001"
CHANNEL = "100000000000000002"
USER = "100000000000000003"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class NullArchive:
    def put(self, key: str, text: str) -> None:
        pass


def batch(count: int, per_second: float, *, first: int = 1, start: datetime, batch_id: str) -> Envelope:
    events = []
    for n in range(first, first + count):
        at = iso(start + timedelta(seconds=(n - first) / per_second))
        data = {
            "id": str(300000000000000000 + n), "channel_id": CHANNEL, "guild_id": GUILD,
            "author": {"id": USER, "username": "alice"}, "content": f"m{n}", "timestamp": at,
        }  # fmt: skip
        events.append({"t": "MESSAGE_CREATE", "seq": n, "received_at": at, "d": data})
    body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": "s", "shard": [0, 1]}, "events": events}
    return Envelope.model_validate(json.loads(json.dumps(body)))


def ingest(store: DynamoStore, envelope: Envelope, now: datetime) -> Any:
    ingestor = Ingestor(NullArchive(), store, clock=lambda: now)
    return ingestor.ingest(envelope, [e.model_dump(mode="json") for e in envelope.events])


def test_replace_shard_plan_stores_only_over_the_plan_it_read_when_two_writers_race(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["table"], aws["dynamodb"])
    first, second = ShardPlan((Epoch(iso(NOW), 4),)).text(), ShardPlan((Epoch(iso(NOW), 8),)).text()

    assert store.replace_shard_plan(GUILD, "", first) is True
    assert store.replace_shard_plan(GUILD, "", second) is False

    assert store.shard_plans([GUILD, "100000000000000009"]) == {GUILD: first}


def test_hot_reader_reads_the_feed_across_shards_when_ingest_raised_them_while_data_existed(
    aws: dict[str, Any],
) -> None:
    store = DynamoStore(aws["table"], aws["dynamodb"])
    reader = HotReader(aws["table"], aws["dynamodb"])
    start = NOW - timedelta(minutes=1)
    ingest(store, batch(500, 2_000, start=start, batch_id="b1"), NOW)  # one shard, and the rate raises it
    plan = ShardPlan.parse(store.shard_plans([GUILD])[GUILD])
    assert plan.epochs == (Epoch(iso(NOW + LEAD), 4),)
    later = NOW + LEAD + timedelta(minutes=1)
    ingest(store, batch(100, 50, first=501, start=later, batch_id="b2"), later)

    items, start_key = [], None
    while True:
        page = reader.query_feed(GUILD, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST, limit=60, start_key=start_key)
        items += page.items
        start_key = page.next_key
        if start_key is None:
            break

    assert sorted(i["content"] for i in items) == sorted(f"m{n}" for n in range(1, 601))
    assert [i["SK"] for i in items] == sorted((i["SK"] for i in items), reverse=True)
    stored_pks = {i["PK"] for i in items}
    assert stored_pks == {keys.feed_pk(GUILD, n) for n in range(4)}
