"""A sharded guild's index keys on moto: the entries its events write land in the shards of the member's,
channel's and category's keys, and every reader of them (the HotReader merge, erasure's member Query)
finds all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.erasure_store import ErasureStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.models.row import EventRow
from guildlog.services import hot_items, keys
from guildlog.services.feed_shards import Epoch, ShardPlan
from guildlog.services.timefmt import iso

GUILD, CHANNEL, ALICE, BOB = "100000000000000001", "100000000000000002", "100000000000000003", "100000000000000004"
FOUR = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _row(n: int, user: str, category: str = "message") -> EventRow:
    at = iso(START + timedelta(seconds=n))
    action = "create" if category == "message" else "join"
    return EventRow(
        event_id=f"gw:s:{n:04d}", batch_id="b1", source="gateway", event_type="MESSAGE_CREATE", category=category,
        action=action, occurred_at=at, received_at=at, guild_id=GUILD, channel_id=CHANNEL, user_id=user,
        message_id=str(300000000000000000 + n), content=f"m{n}",
    )  # fmt: skip


def _store(aws: dict[str, Any], plan: ShardPlan | None) -> list[dict[str, Any]]:
    rows = [_row(n, ALICE if n % 3 else BOB, "member" if n % 5 == 0 else "message") for n in range(60)]
    ttl = int(START.timestamp()) + 30 * 86_400
    items = [hot_items.feed_item(r, ttl, plan) for r in rows]
    if plan is not None:
        items.append({"PK": keys.guild_pk(GUILD), "SK": keys.SHARDS_SK, "kind": "feed_shards", "plan": plan.text()})
    DynamoStore(aws["table"], aws["dynamodb"]).put_items(items)
    return [i for i in items if str(i["SK"]).startswith(keys.FEED_FIRST)]


def test_erasure_finds_every_event_of_the_member_when_the_guilds_member_key_is_sharded(aws: dict[str, Any]) -> None:
    feed = _store(aws, FOUR)
    alices = sorted(str(i["SK"]) for i in feed if i.get("user_id") == ALICE)

    found = ErasureStore(aws["table"], aws["dynamodb"]).member_items(GUILD, ALICE)

    assert len({str(i["GSI1PK"]) for i in found}) == 4  # the entries are in four shards of the key
    assert sorted(str(i["SK"]) for i in found) == alices


def test_reader_merges_each_index_key_across_its_shards_when_the_guild_is_sharded(aws: dict[str, Any]) -> None:
    feed = _store(aws, FOUR)
    reader = HotReader(aws["table"], aws["dynamodb"])
    wanted = {
        ("GSI1", keys.member_index_pk(GUILD, BOB)): [i for i in feed if i.get("user_id") == BOB],
        ("GSI2", keys.channel_index_pk(GUILD, CHANNEL)): feed,
        ("GSI3", keys.category_index_pk(GUILD, "member")): [i for i in feed if i["category"] == "member"],
    }

    for (index, pk), items in wanted.items():
        read, start_key = [], None
        while True:
            page = reader.query_feed(GUILD, index=index, pk=pk, limit=7, start_key=start_key, plan=FOUR)
            read += [str(i["SK"]) for i in page.items]
            start_key = page.next_key
            if start_key is None:
                break
        assert read == sorted((str(i["SK"]) for i in items), reverse=True), index


def test_erasure_reads_the_one_member_key_when_the_guild_was_never_sharded(aws: dict[str, Any]) -> None:
    feed = _store(aws, None)

    found = ErasureStore(aws["table"], aws["dynamodb"]).member_items(GUILD, ALICE)

    assert {str(i["GSI1PK"]) for i in found} == {keys.member_index_pk(GUILD, ALICE)}
    assert len(found) == sum(1 for i in feed if i.get("user_id") == ALICE)
