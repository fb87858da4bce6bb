"""DynamoDB item shapes for normalized rows (keys in docs/design.md, spelled in keys.py). Pure: rows in,
items out.

Every item is keyed by the event it comes from, or, for counters, by the batch: delivering a batch
twice, or batches in another order, writes the same set of items. A day's counters are the sum of
its per-batch delta items (`fold`), so no write adds to a number and no write needs a transaction.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.models.row import EventRow
from guildlog.services import counter_windows, keys
from guildlog.services.audit_log import MEMBER_MODERATION_ACTIONS
from guildlog.services.feed_shards import ShardPlan

# The feed keeps enough content for a search hit; the message versions keep it whole.
FEED_CONTENT_CHARS = 500
# A message's create whose whole feed item fits in one write unit is its own first version: the feed
# item keeps the whole text and its attachments (`whole`), and no `M#<id>` / `V#…` item is written.
WRITE_UNIT_BYTES = 1024
# Categories left out of GSI3 (by category): most of a server's events are messages, so its feed,
# filtered, answers a search for them as fast as an index would, and each saves an index write.
FEED_ONLY_CATEGORIES = keys.FEED_ONLY_CATEGORIES
# DynamoDB's item limit is 400 KB; stay clear of it whatever a payload carries (raw keeps all).
MAX_ITEM_BYTES = 350_000
RELAY_STATUS_TTL_DAYS = 7
# The shards seen each day, for `/logs status` (so it finds them with a Query, not a Scan).
RELAY_INDEX_TTL_SECONDS = 8 * 86_400
# A delta item names one attribute per channel, member, moderator and command of its batch; past
# this many it continues in another part, so even a 10,000-event batch stays far below 400 KB.
MAX_DELTA_ATTRIBUTES = 1_000
# Not counters, whatever their type: the keys, the expiry, the item's kind.
_NOT_COUNTED = frozenset({"PK", "SK", "expires_at", "kind"})

Item = dict[str, Any]


def feed_pk(guild_id: str | None, shard: int = 0) -> str:
    return keys.feed_pk(guild_id, shard)


def feed_sk(row: EventRow) -> str:
    return keys.feed_sk(row.occurred_at, row.event_id)


def shard_discriminator(row: EventRow) -> str:
    """What picks an event's feed shard: a message's create goes by the message id (so `/logs message`
    finds it from the id alone), anything else by its event id. Both are fixed for the event."""
    if row.category == "message" and row.action == "create" and row.message_id:
        return row.message_id
    return row.event_id


def feed_shard(row: EventRow, plan: ShardPlan | None = None) -> int:
    """The shard the event falls in under the guild's shard plan (0 without one): its feed item's and
    its index entries'."""
    return plan.shard_of(row.occurred_at, shard_discriminator(row)) if plan is not None else 0


def feed_key(row: EventRow, plan: ShardPlan | None = None) -> tuple[str, str]:
    """The feed item's key; with the guild's shard plan, in the shard the event falls in."""
    return feed_pk(row.guild_id, feed_shard(row, plan)), feed_sk(row)


def expires_at(row: EventRow, retention_days: int) -> int:
    occurred = datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00"))
    return int(occurred.timestamp()) + retention_days * 86_400


def _compact(item: Item) -> Item:
    return {k: v for k, v in item.items() if v is not None and v != ""}


def _size(item: Item) -> int:
    return len(json.dumps(item, ensure_ascii=False).encode("utf-8"))


def _text_bytes(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _fit(item: Item, *trimmable: str) -> Item:
    """Trim the named text attributes, largest first, until the item is under MAX_ITEM_BYTES, and say so."""
    size = _size(item)
    if size <= MAX_ITEM_BYTES:
        return item
    # Largest first: a small attribute (attachments) is not emptied for a big one's (content) excess.
    by_size = sorted(trimmable, key=lambda n: _text_bytes(item.get(n)), reverse=True)
    for name in by_size:
        value = item.get(name)
        if isinstance(value, str) and value:
            # Cut in UTF-8 bytes, which is what the size counts: cutting characters would throw
            # away up to four times too much of a multi-byte text.
            encoded = value.encode("utf-8")
            keep = max(0, len(encoded) - (size - MAX_ITEM_BYTES) - 1024)
            item[name] = encoded[:keep].decode("utf-8", "ignore")
            item["truncated"] = True
            size = _size(item)
            if size <= MAX_ITEM_BYTES:
                break
    return item


def feed_item(row: EventRow, ttl: int, plan: ShardPlan | None = None) -> Item:
    """The event in its guild's feed, with sparse GSIs by user, channel and category (not for messages).

    A message's create that fits in one write unit whole is also its first version (`whole`, the
    text uncut, the attachments): see `holds_first_version`."""
    whole = _whole_create(row, ttl, plan)
    if whole is not None:
        return whole
    return _feed_item(row, ttl, plan, whole=False)


def holds_first_version(row: EventRow, ttl: int, plan: ShardPlan | None = None) -> bool:
    """Whether the row's feed item is the message's first version (so `message_items` writes none)."""
    return _whole_create(row, ttl, plan) is not None


def _whole_create(row: EventRow, ttl: int, plan: ShardPlan | None) -> Item | None:
    if not (row.category == "message" and row.action == "create" and row.message_id and row.content is not None):
        return None
    item = _feed_item(row, ttl, plan, whole=True)
    return item if item_size(item) <= WRITE_UNIT_BYTES else None


def _feed_item(row: EventRow, ttl: int, plan: ShardPlan | None, *, whole: bool) -> Item:
    shard = feed_shard(row, plan)
    pk, sk = feed_pk(row.guild_id, shard), feed_sk(row)
    content = row.content
    truncated = not whole and content is not None and len(content) > FEED_CONTENT_CHARS
    item: Item = {
        "PK": pk,
        "SK": sk,
        "kind": "event",
        "event_id": row.event_id,
        "event_type": row.event_type,
        "category": row.category,
        "action": row.action,
        "occurred_at": row.occurred_at,
        "guild_id": row.guild_id,
        "channel_id": row.channel_id,
        "user_id": row.user_id,
        "actor_id": row.actor_id,
        "target_id": row.target_id,
        "message_id": row.message_id,
        "user_name": row.user_name,
        "content": content[:FEED_CONTENT_CHARS] if truncated and content else content,
        "content_truncated": True if truncated else None,
        "reason": row.reason,
        "details": row.details if row.details != "{}" else None,
        "attachments": row.attachments if whole else None,
        "whole": True if whole else None,
        "batch_id": row.batch_id,
        "expires_at": ttl,
    }
    # The index entries go to the feed item's shard: a sharded guild's hot category, channel or
    # member key is spread as its feed is (readers merge the shards: services/feed.py).
    if row.category not in FEED_ONLY_CATEGORIES:
        item["GSI3PK"] = keys.index_shard_pk(keys.category_index_pk(row.guild_id, row.category), shard)
        item["GSI3SK"] = sk
    member = row.user_id or row.actor_id
    if member:
        item["GSI1PK"], item["GSI1SK"] = keys.index_shard_pk(keys.member_index_pk(row.guild_id, member), shard), sk
    if row.channel_id:
        item["GSI2PK"] = keys.index_shard_pk(keys.channel_index_pk(row.guild_id, row.channel_id), shard)
        item["GSI2SK"] = sk
    return _fit(_compact(item), "details", "content")


def _author_facts(row: EventRow) -> Item:
    """Whether the author is a bot, and their roles: the moderation log's ignores read them on a delete."""
    try:
        details = json.loads(row.details)
    except ValueError:
        return {}
    facts: Item = {}
    if details.get("bot"):
        facts["bot"] = True
    if isinstance(details.get("roles"), list) and details["roles"]:
        facts["roles"] = [str(r) for r in details["roles"]]
    return facts


def item_size(item: Item) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (strings and binary as
    bytes, numbers about a byte per two digits plus one, booleans one byte)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        if isinstance(value, bool):
            size += 1
        elif isinstance(value, int | float):
            size += 1 + math.ceil(len(str(abs(value)).replace(".", "")) / 2)
        elif isinstance(value, set | frozenset | list | tuple):
            size += sum(len(str(v).encode("utf-8")) for v in value) + 3
        else:
            size += len(str(value).encode("utf-8"))
    return size


def message_items(row: EventRow, ttl: int, plan: ShardPlan | None = None) -> list[Item]:
    """Versions of a message (each edit with content, and the create unless its feed item holds it
    whole) and its deletion markers. `plan`: the guild's shard plan, as given to `feed_item`."""
    if row.category != "message" or holds_first_version(row, ttl, plan):
        return []
    base = {"guild_id": row.guild_id, "channel_id": row.channel_id, "event_id": row.event_id, "expires_at": ttl}
    if row.action in ("create", "update") and row.message_id and row.content is not None:
        # Keyed by the version's own time: a repeated or late edit lands on its own version.
        item: Item = {
            "PK": keys.message_pk(row.message_id),
            "SK": keys.version_sk(row.occurred_at),
            "kind": "message_version",
            "version": "create" if row.action == "create" else "edit",
            "occurred_at": row.occurred_at,
            "user_id": row.user_id,
            "user_name": row.user_name,
            "content": row.content,
            "attachments": row.attachments,
            **_author_facts(row),
            **base,
        }
        return [_fit(_compact(item), "attachments", "content")]
    if row.action == "delete" and row.message_id:
        return [
            _compact(
                {
                    "PK": keys.message_pk(row.message_id),
                    "SK": keys.DELETED_SK,
                    "kind": "message_delete",
                    "deleted_at": row.occurred_at,
                    **base,
                }
            )
        ]
    if row.action == "bulk_delete":
        ids = json.loads(row.details).get("ids") or []
        return [
            _compact(
                {
                    "PK": keys.message_pk(mid),
                    "SK": keys.DELETED_SK,
                    "kind": "message_delete",
                    "deleted_at": row.occurred_at,
                    "bulk": True,
                    **base,
                }
            )
            for mid in ids
            if isinstance(mid, str)
        ]
    return []


def contact_only(row: EventRow) -> bool:
    """Whether the row's one hot item is its relay contact: the relay's own events and Discord's session
    events (READY, RESUMED) carry no guild, so a feed item would sit under `G#-`, where no command and no
    page reads; `/logs status` reads the contacts, and the archive keeps every event whole."""
    return row.category == "relay" and not row.guild_id and row.shard_id is not None


def relay_items(row: EventRow) -> list[Item]:
    """A shard's contacts, newest first by Query: what `/logs status` reads."""
    if row.category != "relay" or row.shard_id is None:
        return []
    occurred = datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00"))
    return [
        _compact(
            {
                "PK": keys.relay_pk(row.shard_id),
                "SK": keys.contact_sk(row.occurred_at, row.event_id),
                "kind": "relay_contact",
                "action": row.action,
                "occurred_at": row.occurred_at,
                "details": row.details if row.details != "{}" else None,
                "expires_at": int(occurred.timestamp()) + RELAY_STATUS_TTL_DAYS * 86_400,
            }
        )
    ]


def is_hot(row: EventRow, config: GuildConfig | None) -> bool:
    """Whether the row is indexed in the hot table under the guild's configuration."""
    if config is None:
        return True
    if row.category in config.disabled_categories:
        return False
    return not (row.channel_id and row.channel_id in config.ignored_channels)


def counter_deltas(rows: list[EventRow], ttl_by_row: dict[str, int]) -> dict[str, tuple[int, dict[str, int]]]:
    """These rows' contribution to the daily counters, per guild-day key `G#<guild>#D#<day>`: its expiry
    and the numbers to add (`k#<category>`, `messages`, `c#<channel>`, `u#<user>`, `joins`, `leaves`,
    `bans`, `unbans`, `mod_actions`, `a#<action>`, `m#<moderator>`, `commands`, `cmd#<name>`)."""
    counts: dict[str, dict[str, int]] = {}
    ttls: dict[str, int] = {}

    def bump(pk: str, name: str, ttl: int) -> None:
        day = counts.setdefault(pk, {})
        day[name] = day.get(name, 0) + 1
        ttls[pk] = max(ttls.get(pk, 0), ttl)

    for row in rows:
        if not row.guild_id:
            continue
        # A day's counters live as long as the day's last possible event: the same whatever the
        # order batches arrive in (an event's TTL is its time plus the retention).
        occurred = int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp())
        day_end = occurred - occurred % 86_400 + 86_400
        ttl = day_end + (ttl_by_row[row.event_id] - occurred)
        pk = keys.day_pk(row.guild_id, row.occurred_at[:10])
        bump(pk, f"k#{row.category}", ttl)
        if row.category == "message" and row.action == "create":
            bump(pk, "messages", ttl)
            if row.channel_id:
                bump(pk, f"c#{row.channel_id}", ttl)
            if row.user_id:
                bump(pk, f"u#{row.user_id}", ttl)
        elif row.category == "member" and row.action in ("join", "leave"):
            # A kick or a ban (services/directory.py links the remove to its audit entry) is no leave.
            if row.action == "join" or "removed_by" not in json.loads(row.details):
                bump(pk, f"{row.action}s", ttl)
        elif row.category == "moderation" and _is_moderation_action(row):
            # Counted from the audit log (which names the moderator) and automod, not from the
            # GUILD_BAN_ADD that accompanies a ban's entry: one ban, one count.
            bump(pk, "mod_actions", ttl)
            bump(pk, f"a#{row.action}", ttl)
            if row.actor_id:
                bump(pk, f"m#{row.actor_id}", ttl)
        elif row.event_type in ("GUILD_BAN_ADD", "GUILD_BAN_REMOVE"):
            bump(pk, f"{row.action}s", ttl)
        elif row.category == "command" and row.action == "command":
            bump(pk, "commands", ttl)
            command = json.loads(row.details).get("command")
            if isinstance(command, str):
                bump(pk, f"cmd#{command[:100]}", ttl)
    return {pk: (ttls[pk], counts[pk]) for pk in sorted(counts)}


def counter_items(batch_id: str, rows: list[EventRow], ttl_by_row: dict[str, int]) -> list[Item]:
    """This batch's contribution to the daily counters as items of its own: per guild and day one
    delta item `G#<guild>#D#<day>` / `B#<batch>` with `counter_deltas`' numbers. The same rows give
    the same items, so a retried batch rewrites them unchanged; `fold` sums a day's items."""
    return delta_items(batch_id, counter_deltas(rows, ttl_by_row))


def delta_items(batch_id: str, deltas: dict[str, tuple[int, dict[str, int]]]) -> list[Item]:
    """`counter_deltas`' numbers as the batch's own items (continued in parts past MAX_DELTA_ATTRIBUTES names)."""
    items: list[Item] = []
    for pk, (ttl, counts) in deltas.items():
        names = sorted(counts)
        for part, start in enumerate(range(0, len(names), MAX_DELTA_ATTRIBUTES)):
            chunk = {name: counts[name] for name in names[start : start + MAX_DELTA_ATTRIBUTES]}
            sk = keys.delta_sk(batch_id, part)
            items.append({"PK": pk, "SK": sk, "kind": "counter_delta", **chunk, "expires_at": ttl})
    return items


def shard_items(rows: list[EventRow]) -> list[Item]:
    """The day's shard index (`RELAYS` / `D#<day>#S#<shard>`) for every row that came through a shard:
    a plain put keyed by the day and the shard, the same item however often or in whatever order it
    is written; expiry is fixed by the day."""
    seen: dict[tuple[str, str], Item] = {}
    for row in rows:
        if row.shard_id is None:
            continue
        occurred = int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp())
        day_end = occurred - occurred % 86_400 + 86_400
        index_key = (keys.RELAY_INDEX_PK, keys.relay_index_sk(row.occurred_at[:10], row.shard_id))
        seen[index_key] = {
            "PK": index_key[0],
            "SK": index_key[1],
            "kind": "shard_seen",
            "expires_at": day_end + RELAY_INDEX_TTL_SECONDS,
        }
    return [seen[k] for k in sorted(seen)]


def fold(items: list[Item]) -> dict[str, int]:
    """The counters these items add up to: every number but the keys and the expiry, summed by name,
    taking one delta per batch (services/counter_windows.py: a batch's own item and the windows
    ArchiveFunction wrote may both hold it; of two that differ, the one counting fewer events).

    A stack's older items are folded in too: a day's `TOTAL` (the same names) and its `U#<user>`
    items (`messages`, counted here as `u#<user>`).
    """
    total: dict[str, int] = {}
    by_batch: dict[str, list[dict[str, int]]] = {}
    own: dict[str, dict[str, int]] = {}

    def add(numbers: dict[str, int]) -> None:
        for name, value in numbers.items():
            total[name] = total.get(name, 0) + value

    for item in items:
        sk = str(item.get("SK", ""))
        if sk.startswith(keys.LEGACY_MEMBER_PREFIX):
            name = "u#" + sk[len(keys.LEGACY_MEMBER_PREFIX) :]
            total[name] = total.get(name, 0) + int(item.get("messages", 0))
            continue
        if counter_windows.is_window(item):
            for window_batch, counts in counter_windows.window_entries(item).items():
                by_batch.setdefault(window_batch, []).append(counts)
            continue
        numbers = {
            name: int(value)
            for name, value in item.items()
            if name not in _NOT_COUNTED and not isinstance(value, bool) and isinstance(value, int | float)
        }
        own_batch = counter_windows.delta_batch(sk)
        if own_batch is None:
            add(numbers)
            continue
        parts = own.setdefault(own_batch, {})  # a delta's continuation parts hold other names
        for name, value in numbers.items():
            parts[name] = parts.get(name, 0) + value
    for own_batch, counts in own.items():
        by_batch.setdefault(own_batch, []).append(counts)
    for candidates in by_batch.values():
        add(min(candidates, key=counter_windows.events_counted))
    return total


def _is_moderation_action(row: EventRow) -> bool:
    if row.event_type == "GUILD_AUDIT_LOG_ENTRY_CREATE":
        return row.action in MEMBER_MODERATION_ACTIONS
    return row.event_type == "AUTO_MODERATION_ACTION_EXECUTION"


def now_epoch() -> int:
    return int(datetime.now(UTC).timestamp())
