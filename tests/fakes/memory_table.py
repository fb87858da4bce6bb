"""The hot table in memory, with DynamoDB's Query semantics (key condition, order, Limit, paging) and
its three GSIs, for the command services' unit tests. Items are the shapes hot_items makes."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from guildlog.models.row import EventRow
from guildlog.services import hot_items, keys
from guildlog.services.commands.context import Clause, Item, QueryPage
from guildlog.services.feed_shards import ShardPlan


class MemoryTable:
    """HotReader, ConfigWriter and Claims over a dict; counts the reads it serves."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.queries: list[dict[str, Any]] = []
        self.gets = 0
        self.fail_reads = False

    # -- loading

    def put(self, item: Item) -> None:
        self.items[(item["PK"], item["SK"])] = copy.deepcopy(item)

    def add_rows(
        self, rows: Iterable[EventRow], retention_days: int = 30, batch_id: str = "b1", plan: ShardPlan | None = None
    ) -> None:
        """The items ingest would write for these rows, as one batch, counters included; with `plan`,
        the feed items in the shards it gives (the plan item itself is `set_plan`'s)."""
        rows = list(rows)
        ttls = {}
        for row in rows:
            ttl = hot_items.expires_at(row, retention_days)
            ttls[row.event_id] = ttl
            for item in (
                hot_items.feed_item(row, ttl, plan),
                *hot_items.message_items(row, ttl, plan),
                *hot_items.relay_items(row),
            ):
                self.put(item)
        for item in hot_items.counter_items(batch_id, rows, ttls) + hot_items.shard_items(rows):
            self.put(item)

    def set_plan(self, guild_id: str, plan: ShardPlan) -> None:
        """Store a guild's feed shard plan as ingest does (`G#<guild>` / `SHARDS`)."""
        self.put({"PK": keys.guild_pk(guild_id), "SK": keys.SHARDS_SK, "kind": "feed_shards", "plan": plan.text()})

    # -- HotReader

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_from: str | None = None,
        sk_to: str | None = None,
        newest_first: bool = True,
        limit: int = 100,
        start_key: Any = None,
        attributes: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
    ) -> QueryPage:
        self._maybe_fail()
        self.queries.append({"pk": pk, "index": index, "sk_from": sk_from, "sk_to": sk_to, "where": tuple(where)})
        pk_name, sk_name = (f"{index}PK", f"{index}SK") if index else ("PK", "SK")
        found = [
            item
            for item in self.items.values()
            if item.get(pk_name) == pk
            and sk_name in item
            and (sk_from is None or item[sk_name] >= sk_from)
            and (sk_to is None or item[sk_name] <= sk_to)
        ]
        # A GSI's order among equal sort keys is the table key's; here the feed keys are unique anyway.
        found.sort(key=lambda i: (i[sk_name], i["PK"], i["SK"]), reverse=newest_first)
        offset = _offset(found, start_key)
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        # Like DynamoDB: `limit` items are examined, then the filter drops those it does not hold for.
        kept = [i for i in page if all(clause.holds(i) for clause in where)]
        if attributes:
            kept = [{k: v for k, v in i.items() if k in attributes} for i in kept]
        next_key: Any = offset + limit if more else None
        if more and where:
            # A filtered answer's LastEvaluatedKey, as DynamoDB shapes it: the keys of the last item examined.
            last = page[-1]
            next_key = {k: {"S": last[k]} for k in ("PK", "SK", pk_name, sk_name)}
        return QueryPage([copy.deepcopy(i) for i in kept], next_key=next_key, scanned=len(page) if where else None)

    def get(self, pk: str, sk: str) -> Item | None:
        self._maybe_fail()
        self.gets += 1
        found = self.items.get((pk, sk))
        return copy.deepcopy(found) if found else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        self._maybe_fail()
        self.gets += 1
        return {key: copy.deepcopy(self.items[key]) for key in keys if key in self.items}

    # -- ConfigWriter and Claims

    def update_config(
        self,
        guild_id: str,
        *,
        actor_id: str,
        at: str,
        set_fields: Mapping[str, Any] | None = None,
        remove_fields: Iterable[str] = (),
        add_to_sets: Mapping[str, str] | None = None,
        delete_from_sets: Mapping[str, str] | None = None,
    ) -> Item:
        key = (keys.guild_pk(guild_id), keys.CONFIG_SK)
        item = self.items.setdefault(key, {"PK": key[0], "SK": key[1]})
        item.update({"guild_id": guild_id, "updated_by": actor_id, "updated_at": at, **(set_fields or {})})
        for name in remove_fields:
            item.pop(name, None)
        for name, member in (add_to_sets or {}).items():
            item.setdefault(name, set()).add(member)
        for name, member in (delete_from_sets or {}).items():
            item.get(name, set()).discard(member)
            if not item.get(name):
                item.pop(name, None)
        return copy.deepcopy(item)

    def claim(self, interaction_id: str, expires_at: int) -> bool:
        key = (keys.claim_pk(interaction_id), keys.CLAIM_SK)
        if key in self.items:
            return False
        self.items[key] = {"PK": key[0], "SK": key[1], "expires_at": expires_at}
        return True

    def _maybe_fail(self) -> None:
        if self.fail_reads:
            from guildlog.errors import StorageError

            raise StorageError("scripted read failure")


def _offset(found: list[Item], start_key: Any) -> int:
    """Where a page starts: an offset, or just after the item a LastEvaluatedKey names."""
    if isinstance(start_key, dict):
        key = (start_key["PK"]["S"], start_key["SK"]["S"])
        return next(n + 1 for n, item in enumerate(found) if (item["PK"], item["SK"]) == key)
    return int(start_key or 0)
