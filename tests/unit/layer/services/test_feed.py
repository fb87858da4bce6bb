"""guildlog.services.feed: a guild's feed read across its shards, merged as one partition would read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.services import feed, keys
from guildlog.services.feed_shards import Epoch, ShardPlan
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import message_id, row

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FOUR = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))


def events(table: MemoryTable, count: int, plan: ShardPlan | None, *, first: int = 0, same_ms_every: int = 1) -> None:
    rows = []
    for n in range(first, first + count):
        at = iso(START + timedelta(seconds=n // same_ms_every))
        rows.append(row(event_id=f"gw:s:{n:04d}", occurred_at=at, message_id=message_id(at, n), content=f"m{n}"))
    table.add_rows(rows, plan=plan)
    if plan is not None:
        table.set_plan(fx.GUILD, plan)


def feed_sks(table: MemoryTable) -> list[str]:
    """Every feed sort key of the guild, in any shard, newest first: what one partition would give."""
    pks = {keys.feed_pk(fx.GUILD, n) for n in range(64)}
    return sorted((sk for (pk, sk) in table.items if pk in pks and sk.startswith(keys.FEED_FIRST)), reverse=True)


def read_all(table: MemoryTable, *, limit: int, **kwargs: Any) -> list[list[str]]:
    pages, start_key = [], None
    while True:
        page = feed.query_feed(table, fx.GUILD, limit=limit, start_key=start_key, **kwargs)
        pages.append([str(i["SK"]) for i in page.items])
        start_key = page.next_key
        if start_key is None:
            return pages


def test_query_feed_reads_the_one_partition_when_the_guild_has_one_shard() -> None:
    table = MemoryTable()
    events(table, 30, None)

    page = feed.query_feed(table, fx.GUILD, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST, limit=10)

    assert [q["pk"] for q in table.queries] == [keys.guild_pk(fx.GUILD)]
    assert [i["SK"] for i in page.items] == feed_sks(table)[:10]


def test_query_feed_writes_to_every_shard_when_the_plan_has_four() -> None:
    table = MemoryTable()
    events(table, 60, FOUR)

    used = {pk for (pk, sk) in table.items if sk.startswith(keys.FEED_FIRST)}

    assert used == {keys.feed_pk(fx.GUILD, n) for n in range(4)}


def test_query_feed_merges_the_shards_newest_first_when_the_guild_is_sharded() -> None:
    table = MemoryTable()
    events(table, 60, FOUR, same_ms_every=3)

    page = feed.query_feed(table, fx.GUILD, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST, limit=25)

    assert [i["SK"] for i in page.items] == feed_sks(table)[:25]
    assert {q["pk"] for q in table.queries} == {keys.feed_pk(fx.GUILD, n) for n in range(4)}


def test_query_feed_pages_without_repeats_or_gaps_when_continued_across_shards() -> None:
    table = MemoryTable()
    events(table, 95, FOUR, same_ms_every=2)

    pages = read_all(table, limit=7, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST)

    assert [sk for page in pages for sk in page] == feed_sks(table)
    assert all(len(page) == 7 for page in pages[:-1])


def test_query_feed_reads_oldest_first_when_asked() -> None:
    table = MemoryTable()
    events(table, 40, FOUR)

    pages = read_all(table, limit=9, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST, newest_first=False)

    assert [sk for page in pages for sk in page] == sorted(feed_sks(table))


def test_query_feed_keeps_to_the_sort_key_range_when_bounded() -> None:
    table = MemoryTable()
    events(table, 40, FOUR)
    low, high = keys.feed_sk_at(iso(START + timedelta(seconds=10))), keys.feed_sk_at(iso(START + timedelta(seconds=19)))

    pages = read_all(table, limit=4, sk_from=low, sk_to=high + "$")

    assert [sk for page in pages for sk in page] == [sk for sk in feed_sks(table) if low <= sk <= high + "$"]


def test_query_feed_finds_events_on_both_sides_when_the_shard_count_changed_while_data_existed() -> None:
    table = MemoryTable()
    events(table, 30, None)  # one shard: G#<guild> only, as before any plan
    change = iso(START + timedelta(seconds=30))
    plan = ShardPlan((Epoch(change, 4),))
    events(table, 30, plan, first=30)

    pages = read_all(table, limit=8, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST)

    assert len({pk for (pk, sk) in table.items if sk.startswith(keys.FEED_FIRST)}) == 4
    assert [sk for page in pages for sk in page] == feed_sks(table)


def test_query_feed_reads_one_partition_when_the_range_is_before_the_first_epoch() -> None:
    table = MemoryTable()
    events(table, 20, None)
    table.set_plan(fx.GUILD, ShardPlan((Epoch(iso(START + timedelta(hours=1)), 4),)))

    feed.query_feed(table, fx.GUILD, sk_from=keys.FEED_FIRST, sk_to=keys.feed_sk_at(iso(START + timedelta(minutes=5))))

    assert [q["pk"] for q in table.queries] == [keys.guild_pk(fx.GUILD)]


def test_plan_cache_reads_the_plan_once_when_asked_twice_within_a_minute() -> None:
    table = MemoryTable()
    table.set_plan(fx.GUILD, FOUR)
    clock = [0.0]
    cache = feed.PlanCache(clock=lambda: clock[0])

    first = cache.plan(table, fx.GUILD)
    clock[0] = 59.0
    second = cache.plan(table, fx.GUILD)

    assert first == second == FOUR
    assert table.gets == 1


# --- the guild's index keys (GSI1–3), sharded as its feed -----------------------------------------

INDEX_KEYS = [
    ("GSI1", keys.member_index_pk(fx.GUILD, fx.MEMBER)),
    ("GSI2", keys.channel_index_pk(fx.GUILD, fx.CHANNEL)),
]


def index_sks(table: MemoryTable, index: str, base: str) -> list[str]:
    """Every sort key under the index key, in any of its shards, newest first: what one partition gives."""
    pks = {keys.index_shard_pk(base, n) for n in range(64)}
    return sorted((str(i[f"{index}SK"]) for i in table.items.values() if i.get(f"{index}PK") in pks), reverse=True)


@pytest.mark.parametrize(("index", "base"), INDEX_KEYS)
def test_query_feed_reads_the_one_index_partition_when_the_guild_has_one_shard(index: str, base: str) -> None:
    table = MemoryTable()
    events(table, 30, None)

    page = feed.query_feed(table, fx.GUILD, index=index, pk=base, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST)

    assert [(q["pk"], q["index"]) for q in table.queries] == [(base, index)]
    assert [i["SK"] for i in page.items] == feed_sks(table)[:30]


@pytest.mark.parametrize(("index", "base"), INDEX_KEYS)
def test_index_entries_go_to_their_feed_items_shard_when_the_guild_is_sharded(index: str, base: str) -> None:
    table = MemoryTable()
    events(table, 60, FOUR)

    feed_items = [i for (pk, sk), i in table.items.items() if sk.startswith(keys.FEED_FIRST)]

    assert {i[f"{index}PK"] for i in feed_items} == {keys.index_shard_pk(base, n) for n in range(4)}
    for item in feed_items:
        shard = 0 if item["PK"] == keys.guild_pk(fx.GUILD) else int(str(item["PK"]).rsplit("#", 1)[1])
        assert item[f"{index}PK"] == keys.index_shard_pk(base, shard)


@pytest.mark.parametrize(("index", "base"), INDEX_KEYS)
def test_query_feed_merges_an_index_keys_shards_without_repeats_or_gaps_when_paged(index: str, base: str) -> None:
    table = MemoryTable()
    events(table, 95, FOUR, same_ms_every=2)

    pages = read_all(table, limit=7, index=index, pk=base, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST)

    assert [sk for page in pages for sk in page] == index_sks(table, index, base) == feed_sks(table)
    assert {q["pk"] for q in table.queries} == {keys.index_shard_pk(base, n) for n in range(4)}
    assert {q["index"] for q in table.queries} == {index}


def test_query_feed_merges_a_category_keys_shards_oldest_first_when_asked() -> None:
    table = MemoryTable()
    rows = [
        row(event_id=f"gw:s:{n:04d}", occurred_at=iso(START + timedelta(seconds=n)), category="member", action="join")
        for n in range(40)
    ]
    table.add_rows(rows, plan=FOUR)
    table.set_plan(fx.GUILD, FOUR)
    base = keys.category_index_pk(fx.GUILD, "member")

    pages = read_all(table, limit=6, index="GSI3", pk=base, newest_first=False)

    assert [sk for page in pages for sk in page] == sorted(index_sks(table, "GSI3", base))
    assert len({keys.index_shard_pk(base, n) for n in range(4)} & {q["pk"] for q in table.queries}) == 4


def test_query_feed_refuses_an_index_without_its_key_when_called() -> None:
    with pytest.raises(ValueError, match="partition key"):
        feed.query_feed(MemoryTable(), fx.GUILD, index="GSI1")


def test_query_feed_finds_index_entries_written_before_index_keys_were_sharded_when_the_plan_has_four() -> None:
    table = MemoryTable()
    events(table, 20, None)  # unsuffixed index keys, as every entry was written before
    table.set_plan(fx.GUILD, FOUR)
    events(table, 20, FOUR, first=20)
    base = keys.channel_index_pk(fx.GUILD, fx.CHANNEL)

    pages = read_all(table, limit=9, index="GSI2", pk=base, sk_from=keys.FEED_FIRST, sk_to=keys.FEED_LAST)

    assert [sk for page in pages for sk in page] == index_sks(table, "GSI2", base)
    assert len(index_sks(table, "GSI2", base)) == 40
