"""DynamoDB item shapes for normalized rows (keys in docs/design.md). Pure: rows in, items out.

Every item is keyed by the event it comes from, so delivering events twice, or in another
order, writes the same set of items. Counters are the one non-idempotent write; they are
computed here and applied once per batch by the store (a conditional marker in the same
transaction).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.models.row import EventRow
from guildlog.services.audit_log import MEMBER_MODERATION_ACTIONS

# The feed keeps enough content for a search hit; the message versions keep it whole.
FEED_CONTENT_CHARS = 500
# DynamoDB's item limit is 400 KB; stay clear of it whatever a payload carries (raw keeps all).
MAX_ITEM_BYTES = 350_000
NO_GUILD = "-"
RELAY_STATUS_TTL_DAYS = 7
# Shard activity for `/logs status`: events per shard in 10-minute buckets, and an index of the
# shards seen each day (so status finds them with a Query, not a Scan).
RELAY_INDEX_PK = "RELAYS"
SHARD_BUCKET_SECONDS = 600
SHARD_BUCKET_TTL_SECONDS = 2 * 86_400
RELAY_INDEX_TTL_SECONDS = 8 * 86_400

Item = dict[str, Any]


def feed_pk(guild_id: str | None) -> str:
    return f"G#{guild_id or NO_GUILD}"


def feed_sk(row: EventRow) -> str:
    return f"E#{row.occurred_at}#{row.event_id}"


def feed_key(row: EventRow) -> tuple[str, str]:
    return feed_pk(row.guild_id), feed_sk(row)


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


def feed_item(row: EventRow, ttl: int) -> Item:
    """The event in its guild's feed, with sparse GSIs by user, channel and category."""
    pk, sk = feed_key(row)
    content = row.content
    truncated = content is not None and len(content) > FEED_CONTENT_CHARS
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
        "batch_id": row.batch_id,
        "expires_at": ttl,
        "GSI3PK": f"{pk}#K#{row.category}",
        "GSI3SK": sk,
    }
    member = row.user_id or row.actor_id
    if member:
        item["GSI1PK"], item["GSI1SK"] = f"{pk}#U#{member}", sk
    if row.channel_id:
        item["GSI2PK"], item["GSI2SK"] = f"{pk}#C#{row.channel_id}", sk
    return _fit(_compact(item), "details", "content")


def message_items(row: EventRow, ttl: int) -> list[Item]:
    """Versions of a message (create and each edit with content) and its deletion markers."""
    if row.category != "message":
        return []
    base = {"guild_id": row.guild_id, "channel_id": row.channel_id, "event_id": row.event_id, "expires_at": ttl}
    if row.action in ("create", "update") and row.message_id and row.content is not None:
        # Keyed by the version's own time: a repeated or late edit lands on its own version.
        item: Item = {
            "PK": f"M#{row.message_id}",
            "SK": f"V#{row.occurred_at}",
            "kind": "message_version",
            "version": "create" if row.action == "create" else "edit",
            "occurred_at": row.occurred_at,
            "user_id": row.user_id,
            "user_name": row.user_name,
            "content": row.content,
            "attachments": row.attachments,
            **base,
        }
        return [_fit(_compact(item), "attachments", "content")]
    if row.action == "delete" and row.message_id:
        return [
            _compact(
                {
                    "PK": f"M#{row.message_id}",
                    "SK": "DEL",
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
                    "PK": f"M#{mid}",
                    "SK": "DEL",
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


def relay_items(row: EventRow) -> list[Item]:
    """A shard's contacts, newest first by Query: what `/logs status` reads."""
    if row.category != "relay" or row.shard_id is None:
        return []
    occurred = datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00"))
    return [
        _compact(
            {
                "PK": f"RELAY#{row.shard_id}",
                "SK": f"C#{row.occurred_at}#{row.event_id}",
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


@dataclass
class CounterUpdate:
    """Numbers to ADD to one counter item: `G#<guild>#D#<day>` / `TOTAL` or `U#<user>`."""

    pk: str
    sk: str
    add: dict[str, int] = field(default_factory=dict)
    expires_at: int = 0


def counter_updates(rows: list[EventRow], ttl_by_row: dict[str, int]) -> list[CounterUpdate]:
    """The daily counters these rows contribute, merged per item, in a deterministic order."""
    updates: dict[tuple[str, str], CounterUpdate] = {}

    def bump(pk: str, sk: str, name: str, ttl: int) -> None:
        update = updates.setdefault((pk, sk), CounterUpdate(pk, sk))
        update.add[name] = update.add.get(name, 0) + 1
        update.expires_at = max(update.expires_at, ttl)

    for row in rows:
        if not row.guild_id:
            continue
        # A day's counters live as long as the day's last possible event: the same whatever the
        # order batches arrive in (an event's TTL is its time plus the retention).
        occurred = int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp())
        day_end = occurred - occurred % 86_400 + 86_400
        ttl = day_end + (ttl_by_row[row.event_id] - occurred)
        pk = f"G#{row.guild_id}#D#{row.occurred_at[:10]}"
        bump(pk, "TOTAL", f"k#{row.category}", ttl)
        if row.category == "message" and row.action == "create":
            bump(pk, "TOTAL", "messages", ttl)
            if row.channel_id:
                bump(pk, "TOTAL", f"c#{row.channel_id}", ttl)
            if row.user_id:
                bump(pk, f"U#{row.user_id}", "messages", ttl)
        elif row.category == "member" and row.action in ("join", "leave"):
            bump(pk, "TOTAL", f"{row.action}s", ttl)
        elif row.category == "moderation" and _is_moderation_action(row):
            # Counted from the audit log (which names the moderator) and automod, not from the
            # GUILD_BAN_ADD that accompanies a ban's entry: one ban, one count.
            bump(pk, "TOTAL", "mod_actions", ttl)
            bump(pk, "TOTAL", f"a#{row.action}", ttl)
            if row.actor_id:
                bump(pk, "TOTAL", f"m#{row.actor_id}", ttl)
        elif row.event_type in ("GUILD_BAN_ADD", "GUILD_BAN_REMOVE"):
            bump(pk, "TOTAL", f"{row.action}s", ttl)
        elif row.category == "command" and row.action == "command":
            bump(pk, "TOTAL", "commands", ttl)
            command = json.loads(row.details).get("command")
            if isinstance(command, str):
                bump(pk, "TOTAL", f"cmd#{command[:100]}", ttl)
    return [updates[key] for key in sorted(updates)]


def shard_bucket_sk(moment: int) -> str:
    """`H#2026-11-20T00:10`: the 10-minute bucket holding unix second `moment`."""
    start = moment - moment % SHARD_BUCKET_SECONDS
    return "H#" + datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M")


def shard_counter_updates(rows: list[EventRow]) -> list[CounterUpdate]:
    """Events per shard per 10 minutes (`RELAY#<shard>` / `H#…`, ADD `events`) and the day's shard
    index (`RELAYS` / `D#<day>`, ADD `s#<shard>`), for every row that came through a shard.

    Expiry is fixed by the bucket and the day, whatever order the rows arrive in.
    """
    updates: dict[tuple[str, str], CounterUpdate] = {}

    def bump(pk: str, sk: str, name: str, ttl: int) -> None:
        update = updates.setdefault((pk, sk), CounterUpdate(pk, sk))
        update.add[name] = update.add.get(name, 0) + 1
        update.expires_at = max(update.expires_at, ttl)

    for row in rows:
        if row.shard_id is None:
            continue
        occurred = int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp())
        bucket_end = occurred - occurred % SHARD_BUCKET_SECONDS + SHARD_BUCKET_SECONDS
        bump(f"RELAY#{row.shard_id}", shard_bucket_sk(occurred), "events", bucket_end + SHARD_BUCKET_TTL_SECONDS)
        day_end = occurred - occurred % 86_400 + 86_400
        bump(RELAY_INDEX_PK, f"D#{row.occurred_at[:10]}", f"s#{row.shard_id}", day_end + RELAY_INDEX_TTL_SECONDS)
    return [updates[key] for key in sorted(updates)]


def _is_moderation_action(row: EventRow) -> bool:
    if row.event_type == "GUILD_AUDIT_LOG_ENTRY_CREATE":
        return row.action in MEMBER_MODERATION_ACTIONS
    return row.event_type == "AUTO_MODERATION_ACTION_EXECUTION"


def now_epoch() -> int:
    return int(datetime.now(UTC).timestamp())
