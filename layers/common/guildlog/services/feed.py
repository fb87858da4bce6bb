"""Reading a guild's feed, or one of its GSI keys, across its shards (feed_shards.py): every shard's
Query, merged newest first.

A guild with one shard (every guild that never needed more) is read with exactly the one Query it
always was. A sharded guild's shards are read side by side and merged by sort key (a k-way merge:
each shard is read a little at a time and read again only when the merge has used what it gave), so
the merged order is the order one partition would have given — same sort keys, same ties — and
anything that pages by sort key (the `/logs search` cursor) pages the same way.

Works over any `HotReader` (its `query` and `get` only), so the adapters, the fakes and the local
stack need nothing new.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from guildlog.services import keys
from guildlog.services.commands.context import Clause, HotReader, Item, QueryPage
from guildlog.services.feed_shards import ShardPlan

PLAN_CACHE_SECONDS = 60.0  # feed_shards.LEAD is longer: a cached plan is never wrong for what is written
_PLAN_CACHE_ENTRIES = 1024
_ISO_CHARS = len("2026-11-20T12:34:56.789Z")


class PlanCache:
    """Shard plans per reader and guild for `PLAN_CACHE_SECONDS`: one GetItem a guild a minute at most."""

    def __init__(self, ttl_seconds: float = PLAN_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        # Keyed by the reader's id; the entry holds the reader, so the id is not reused while cached.
        self._entries: OrderedDict[tuple[int, str], tuple[HotReader, float, ShardPlan]] = OrderedDict()

    def plan(self, reader: HotReader, guild_id: str) -> ShardPlan:
        key = (id(reader), guild_id)
        now = self.clock()
        found = self._entries.get(key)
        if found is not None and found[0] is reader and now - found[1] <= self.ttl:
            return found[2]
        item = reader.get(keys.guild_pk(guild_id), keys.SHARDS_SK) or {}
        plan = ShardPlan.parse(str(item.get("plan") or ""))
        self._entries[key] = (reader, now, plan)
        self._entries.move_to_end(key)
        while len(self._entries) > _PLAN_CACHE_ENTRIES:
            self._entries.popitem(last=False)
        return plan


plans = PlanCache()


@dataclass
class _Shard:
    pk: str
    buffer: deque[Item] = field(default_factory=deque)
    next_key: Any = None
    done: bool = False


@dataclass
class FeedPosition:
    """Where a merged read stopped: every shard's place and what it read but the merge has not used.
    Pass it back as `start_key` for the next page of the same read (once: it moves on)."""

    shards: list[_Shard]
    per_shard: int


def shard_pks(
    guild_id: str, plan: ShardPlan, sk_from: str | None = None, sk_to: str | None = None, index_pk: str | None = None
) -> list[str]:
    """The feed partitions that may hold events with sort keys in [sk_from, sk_to]; with `index_pk`
    (a GSI key of the guild, unsharded), that index's partitions instead."""
    count = plan.shards_between(_time_of(sk_from), _time_of(sk_to))
    if index_pk is not None:
        return [keys.index_shard_pk(index_pk, shard) for shard in range(count)]
    return [keys.feed_pk(guild_id, shard) for shard in range(count)]


def query_feed(
    reader: HotReader,
    guild_id: str,
    *,
    sk_from: str | None = None,
    sk_to: str | None = None,
    newest_first: bool = True,
    limit: int = 100,
    start_key: Any = None,
    plan: ShardPlan | None = None,
    attributes: Sequence[str] | None = None,
    where: Sequence[Clause] = (),
    index: str | None = None,
    pk: str | None = None,
) -> QueryPage:
    """One page of the guild's feed (at most `limit` items, sort keys within [sk_from, sk_to], in
    order) across its shards; `next_key` continues it, None when nothing is left. Without `plan`, the
    guild's plan is read (and cached a minute). With `index` and `pk` (GSI1–3 and a key of the guild
    from keys.py, unsharded), that index's partitions of the key, merged the same way.

    `where` is a hint: a feed in one partition is filtered by DynamoDB (only what holds comes back,
    `limit` counts the items examined); a feed across shards ignores it, because merging shards in
    order needs each shard's next item. Either way the caller checks each item it is given."""
    if (index is None) != (pk is None):
        raise ValueError("query_feed: an index needs its partition key, and a key its index")
    if isinstance(start_key, FeedPosition):
        position = start_key
    else:
        pks = shard_pks(guild_id, plan or plans.plan(reader, guild_id), sk_from, sk_to, index_pk=pk)
        if len(pks) == 1:
            return reader.query(
                pks[0], index=index, sk_from=sk_from, sk_to=sk_to, newest_first=newest_first, limit=limit,
                start_key=start_key, attributes=attributes, where=where,
            )  # fmt: skip
        # A little more than an even share, so a page usually needs one Query per shard.
        position = FeedPosition([_Shard(pk) for pk in pks], per_shard=min(limit, math.ceil(limit / len(pks)) + 2))

    def fill(shard: _Shard) -> None:
        while not shard.buffer and not shard.done:
            answer = reader.query(
                shard.pk, index=index, sk_from=sk_from, sk_to=sk_to, newest_first=newest_first,
                limit=position.per_shard, start_key=shard.next_key, attributes=attributes,
            )  # fmt: skip
            shard.buffer.extend(answer.items)
            shard.next_key = answer.next_key
            shard.done = answer.next_key is None

    for shard in position.shards:
        fill(shard)
    merged: list[Item] = []
    pick = max if newest_first else min
    while len(merged) < limit:
        ready = [s for s in position.shards if s.buffer]
        if not ready:
            break
        shard = pick(ready, key=lambda s: str(s.buffer[0]["SK"]))
        merged.append(shard.buffer.popleft())
        fill(shard)
    more = any(s.buffer or not s.done for s in position.shards)
    return QueryPage(items=merged, next_key=position if more else None)


def _time_of(sort_key: str | None) -> str | None:
    """The ISO time in a feed sort key bound (`E#<time>…`); None for an open bound (`E#`, `E$`)."""
    if not sort_key or not sort_key.startswith(keys.FEED_FIRST):
        return None
    moment = sort_key[len(keys.FEED_FIRST) : len(keys.FEED_FIRST) + _ISO_CHARS]
    return moment if len(moment) == _ISO_CHARS else None
