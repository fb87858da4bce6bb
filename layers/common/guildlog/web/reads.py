"""What the pages show, read from the hot table (Query, GetItem, BatchGetItem: never a Scan).

Each function takes the reader (`adapters.hot_reader.HotReader`, or an in-memory fake) and returns
plain data for a template. Reads are bounded: a page examines at most `READ_BUDGET` items and says
how far back it looked when that runs out before the page is full. Days older than the guild's hot
retention are not in the table; the pages say so (the archive is read by exports and `guildlog query`).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from guildlog.services import feed, keys
from guildlog.services.commands.context import HotReader, Item
from guildlog.services.commands.message import message_history
from guildlog.services.commands.stats import day_counters
from guildlog.services.modlog.kinds import details_of
from guildlog.web.markdown import Names

PAGE_SIZE = 50
QUERY_LIMIT = 100
READ_BUDGET = 1000
TRANSCRIPT_LIMIT = 2000
OVERVIEW_DAYS = 14
HOURLY_LIMIT = 1000
NAMES_LIMIT = 300
FEED_START, FEED_END = keys.FEED_FIRST, keys.FEED_LAST
FEED_SK = re.compile(r"^E#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[A-Za-z0-9:_.\-]{1,200}$")
CATEGORIES = ("message", "member", "moderation", "server", "voice", "command", "relay", "other")
# What each page shows of an item (a ProjectionExpression): DynamoDB returns, and the page decodes, no more.
FEED_ATTRIBUTES = (
    "PK", "SK", "category", "action", "event_type", "occurred_at", "user_id", "user_name", "actor_id", "target_id",
    "channel_id", "message_id", "content", "reason",
)  # fmt: skip
TRANSCRIPT_ATTRIBUTES = (
    "SK", "category", "action", "message_id", "user_id", "user_name", "occurred_at", "content", "attachments",
    "whole", "details",
)  # fmt: skip
HOURLY_ATTRIBUTES = ("PK", "SK", "category", "action", "occurred_at")
NAME_ATTRIBUTES = ("event_type", "channel_id", "target_id", "details")
# Channel and role names change rarely; a warm container reuses them this long per guild.
NAMES_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class FeedFilters:
    """The feed's filters; all optional. `first`/`last` are whole UTC days."""

    category: str | None = None
    kind: str | None = None
    channel: str | None = None
    member: str | None = None
    first: date | None = None
    last: date | None = None
    text: str | None = None

    def matches(self, item: Item) -> bool:
        if self.category and item.get("category") != self.category:
            return False
        if self.kind and self.kind not in (item.get("action"), str(item.get("event_type", "")).lower()):
            return False
        if self.channel and item.get("channel_id") != self.channel:
            return False
        if self.member and self.member not in (item.get("user_id"), item.get("actor_id"), item.get("target_id")):
            return False
        if self.text:
            haystack = " ".join(str(item.get(k) or "") for k in ("content", "reason", "user_name")).casefold()
            if self.text.casefold() not in haystack:
                return False
        return True


@dataclass
class FeedPage:
    items: list[Item]
    older: str | None  # the `before` of the next older page
    newer: str | None  # the `after` of the next newer page
    looked_back_to: str | None = None  # the read budget ran out here before the page filled


def index_for(guild_id: str, filters: FeedFilters) -> tuple[str | None, str]:
    """(index, partition key) of the most selective access path for these filters."""
    return keys.feed_access_path(guild_id, member=filters.member, channel=filters.channel, category=filters.category)


def sort_key_range(filters: FeedFilters) -> tuple[str, str]:
    low = f"E#{filters.first.isoformat()}" if filters.first else FEED_START
    high = f"E#{(filters.last + timedelta(days=1)).isoformat()}" if filters.last else FEED_END
    return low, high


def feed_page(
    reader: HotReader, guild_id: str, filters: FeedFilters, *, before: str | None = None, after: str | None = None
) -> FeedPage:
    """One page, newest first: older than `before`, or newer than `after` (sort keys, exclusive)."""
    index, pk = index_for(guild_id, filters)
    low, high = sort_key_range(filters)
    newer = after is not None
    if before is not None:
        high = min(high, before)
    if after is not None:
        low = max(low, after)
    found: list[Item] = []
    examined = 0
    last_sk: str | None = None
    start_key: Any = None
    exhausted = False
    # First a page's worth (+1 to know there is more, +1 for the boundary item itself): all of it is
    # shown when nothing else is filtered, and most of it when the filter keeps most items. A filter
    # that drops more reads on in larger steps until the page fills.
    limit = PAGE_SIZE + 2
    while len(found) <= PAGE_SIZE and examined < READ_BUDGET:
        answer = _read(reader, guild_id, index, pk, low, high, not newer, start_key, limit)
        limit = QUERY_LIMIT
        for item in answer.items:
            sk = str(item.get("SK"))
            if sk in (before, after):
                continue
            examined += 1
            last_sk = sk
            if filters.matches(item):
                found.append(item)
                if len(found) > PAGE_SIZE:
                    break
        start_key = answer.next_key
        if start_key is None:
            exhausted = True
            break
    shown = found[:PAGE_SIZE]
    full = len(found) > PAGE_SIZE
    # The budget ran out before the page filled: carry on from the last item examined.
    budget_stop = not full and not exhausted
    if newer:
        shown.reverse()
        newest = _sk(shown[0]) if full and shown else (last_sk if budget_stop else None)
        return FeedPage(shown, older=_sk(shown[-1]) if shown else after, newer=newest)
    older = _sk(shown[-1]) if full else (last_sk if budget_stop else None)
    newer_from = (_sk(shown[0]) if shown else before) if before is not None else None
    return FeedPage(shown, older=older, newer=newer_from, looked_back_to=last_sk if budget_stop else None)


def _read(
    reader: HotReader,
    guild_id: str,
    index: str | None,
    pk: str,
    low: str,
    high: str,
    newest_first: bool,
    start: Any,
    limit: int = QUERY_LIMIT,
) -> Any:
    """One page of the guild's feed or of one of its index keys, across its shards (services.feed)."""
    return feed.query_feed(
        reader, guild_id, index=index, pk=pk if index else None, sk_from=low, sk_to=high, newest_first=newest_first,
        limit=limit, start_key=start, attributes=FEED_ATTRIBUTES,
    )  # fmt: skip


def _sk(item: Item) -> str:
    return str(item.get("SK"))


# ---------------------------------------------------------------- names


_names_cache: dict[tuple[int, str], tuple[HotReader, float, dict[str, str], dict[str, str]]] = {}


def names(reader: HotReader, guild_id: str, items: list[Item] | None = None) -> Names:
    """Channel and role names from the guild's recent server events (cached a minute); member names from `items`."""
    users = {str(i["user_id"]): str(i["user_name"]) for i in items or [] if i.get("user_id") and i.get("user_name")}
    now = time.monotonic()
    cached = _names_cache.get((id(reader), guild_id))
    if cached is not None and cached[0] is reader and now - cached[1] < NAMES_CACHE_SECONDS:
        return Names(users=users, channels=dict(cached[2]), roles=dict(cached[3]))
    channels, roles = _server_names(reader, guild_id)
    if len(_names_cache) >= 1000:
        _names_cache.clear()
    _names_cache[(id(reader), guild_id)] = (reader, now, channels, roles)
    return Names(users=users, channels=dict(channels), roles=dict(roles))


def _server_names(reader: HotReader, guild_id: str) -> tuple[dict[str, str], dict[str, str]]:
    channels: dict[str, str] = {}
    roles: dict[str, str] = {}
    page = feed.query_feed(
        reader, guild_id, index="GSI3", pk=keys.category_index_pk(guild_id, "server"), sk_from=FEED_START,
        sk_to=FEED_END, limit=NAMES_LIMIT, attributes=NAME_ATTRIBUTES,
    )  # fmt: skip
    for item in reversed(page.items):  # oldest first: the newest name wins
        details = details_of(item)
        name = details.get("name")
        if not isinstance(name, str):
            continue
        event = str(item.get("event_type", ""))
        if event.startswith(("CHANNEL_", "THREAD_")) and item.get("channel_id"):
            channels[str(item["channel_id"])] = name
        elif event.startswith("GUILD_ROLE_") and item.get("target_id"):
            roles[str(item["target_id"])] = name
    return channels, roles


def attachments(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, str):
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [a for a in value if isinstance(a, dict)] if isinstance(value, list) else []


def retention_days(reader: HotReader, guild_id: str, default: int) -> int:
    config = reader.get(keys.guild_pk(guild_id), keys.CONFIG_SK) or {}
    return int(config.get("retention_days") or default)


# ---------------------------------------------------------------- overview


@dataclass
class Overview:
    days: list[str]
    messages: list[int]
    joins: list[int]
    leaves: list[int]
    mod_actions: list[int]
    hours: list[int]
    hourly_sample: int
    top_channels: list[tuple[str, int]]
    top_members: list[tuple[str, int]]
    moderators: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    shards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [day[5:] for day in self.days]


def overview(reader: HotReader, guild_id: str, now: datetime) -> Overview:
    today = now.date()
    days = [(today - timedelta(days=n)).isoformat() for n in reversed(range(OVERVIEW_DAYS))]
    totals = [day_counters(reader, guild_id, day) for day in days]
    summed: Counter[str] = Counter()
    for total in totals:
        summed.update(total)
    members: Counter[str] = Counter()
    for total in totals[-7:]:
        members.update({name[2:]: n for name, n in total.items() if name.startswith("u#") and n})
    hours = [0] * 24
    since = keys.feed_sk_at((now - timedelta(hours=24)).isoformat()[:19])
    sample = 0
    start_key: Any = None
    # Messages are not in the category index: the feed of the last 24 h is read, newest first, bounded.
    while sample < HOURLY_LIMIT:
        page = feed.query_feed(
            reader, guild_id, sk_from=since, sk_to=keys.FEED_LAST, limit=QUERY_LIMIT, start_key=start_key,
            attributes=HOURLY_ATTRIBUTES,
        )  # fmt: skip
        for item in page.items:
            if item.get("category") == "message" and item.get("action") == "create":
                hours[int(str(item.get("occurred_at"))[11:13])] += 1
            sample += 1
        start_key = page.next_key
        if start_key is None:
            break

    def top(prefix: str, limit: int = 5) -> list[tuple[str, int]]:
        picked = [(name[len(prefix) :], n) for name, n in summed.items() if name.startswith(prefix) and n]
        return sorted(picked, key=lambda kv: (-kv[1], kv[0]))[:limit]

    return Overview(
        days=days,
        messages=[int(t.get("messages", 0)) for t in totals],
        joins=[int(t.get("joins", 0)) for t in totals],
        leaves=[int(t.get("leaves", 0)) for t in totals],
        mod_actions=[int(t.get("mod_actions", 0)) for t in totals],
        hours=hours,
        hourly_sample=sample,
        top_channels=top("c#"),
        top_members=sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
        moderators=top("m#"),
        categories=top("k#", 8),
        shards=relay_health(reader, now),
    )


def relay_health(reader: HotReader, now: datetime) -> list[dict[str, Any]]:
    """Per shard seen in the last week: the newest contact, and the resumes and gaps of the last 24 h."""
    low, high = keys.relay_index_range((now - timedelta(days=6)).date().isoformat())
    index = reader.query(keys.RELAY_INDEX_PK, sk_from=low, sk_to=high, newest_first=False, limit=1000)
    shards: set[int] = set()
    for item in index.items:
        shard = keys.shard_of_index_sk(str(item.get("SK", "")))
        if shard is not None:
            shards.add(shard)
        shards.update(int(k[2:]) for k in item if k.startswith("s#") and k[2:].isdigit())
    day_ago = keys.contact_sk_at((now - timedelta(days=1)).isoformat()[:19])
    health = []
    for shard in sorted(shards):
        recent = reader.query(keys.relay_pk(shard), sk_from=day_ago, sk_to=keys.CONTACT_LAST, limit=500).items
        actions = Counter(str(i.get("action")) for i in recent)
        health.append(
            {
                "shard": shard,
                "last_contact": recent[0].get("occurred_at") if recent else None,
                "last_action": recent[0].get("action") if recent else None,
                "resumes": max(actions["resume"], actions["resumed"]),
                "gaps": actions["gap"],
            }
        )
    return health


# ---------------------------------------------------------------- a channel's day


@dataclass
class Message:
    message_id: str
    author_id: str | None
    author: str
    created_at: str
    content: str | None
    attachments: list[dict[str, Any]]
    versions: list[dict[str, Any]] = field(default_factory=list)  # earlier texts, oldest first
    edited_at: str | None = None
    deleted_at: str | None = None
    reply_to: str | None = None
    reactions: Counter[str] = field(default_factory=Counter)


def transcript(reader: HotReader, guild_id: str, channel_id: str, day: date) -> tuple[list[Message], bool]:
    """The channel's messages written on `day` (UTC), oldest first, with edits, deletions and reactions.

    The flag says the day held more than TRANSCRIPT_LIMIT events (the rest is in the archive's export).
    """
    pk = keys.channel_index_pk(guild_id, channel_id)
    low, high = f"E#{day.isoformat()}", f"E#{(day + timedelta(days=1)).isoformat()}"
    items: list[Item] = []
    start_key: Any = None
    while len(items) < TRANSCRIPT_LIMIT:
        page = feed.query_feed(
            reader, guild_id, index="GSI2", pk=pk, sk_from=low, sk_to=high, newest_first=False, limit=500,
            start_key=start_key, attributes=TRANSCRIPT_ATTRIBUTES,
        )  # fmt: skip
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            break
    cut = start_key is not None
    messages: dict[str, Message] = {}
    whole: set[str] = set()
    edited: set[str] = set()
    for item in items:
        if item.get("category") != "message" or not item.get("message_id"):
            continue
        mid = str(item["message_id"])
        action = item.get("action")
        if action == "create":
            messages[mid] = Message(
                message_id=mid,
                author_id=item.get("user_id"),
                author=str(item.get("user_name") or item.get("user_id") or "unknown"),
                created_at=str(item.get("occurred_at")),
                content=item.get("content"),
                attachments=attachments(item.get("attachments")),
                reply_to=details_of(item).get("reply_to"),
            )
            if item.get("whole"):
                whole.add(mid)  # the feed item is the create itself, text and attachments whole
        elif action == "update":
            edited.add(mid)
        elif mid in messages and action in ("reaction_add", "reaction_remove"):
            name = str((details_of(item).get("emoji") or {}).get("name") or "?")
            step = 1 if action == "reaction_add" else -1
            messages[mid].reactions[name] = max(0, messages[mid].reactions[name] + step)
    if not messages:
        return [], cut
    # An edited message's versions come from its history; a longer create's whole text from its own
    # version item; those and every deletion marker in one BatchGetItem.
    histories = {mid: message_history(reader, mid, guild_id) for mid in edited & set(messages)}
    longer = [mid for mid in messages if mid not in whole and mid not in histories]
    wanted = [(keys.message_pk(mid), keys.version_sk(messages[mid].created_at)) for mid in longer]
    wanted += [(keys.message_pk(mid), keys.DELETED_SK) for mid in messages]
    found = reader.get_many(wanted)
    for mid, message in messages.items():
        history = histories.get(mid)
        if history is not None:
            kept = history.versions
        else:
            created = found.get((keys.message_pk(mid), keys.version_sk(message.created_at)))
            kept = [created] if created else []
        if kept:
            latest = kept[-1]
            message.content = latest.get("content")
            message.attachments = attachments(latest.get("attachments"))
            message.versions = [{"at": v.get("occurred_at"), "content": v.get("content")} for v in kept[:-1]]
            if len(kept) > 1:
                message.edited_at = str(latest.get("occurred_at"))
        marker = found.get((keys.message_pk(mid), keys.DELETED_SK))
        if marker:
            message.deleted_at = str(marker.get("deleted_at"))
    return sorted(messages.values(), key=lambda m: (m.created_at, m.message_id)), cut


# ---------------------------------------------------------------- a member's record


@dataclass
class MemberRecord:
    name: str | None
    joins: list[Item]
    changes: list[Item]
    moderation: list[Item]
    messages: list[Item]
    deleted: list[Item]
    page: FeedPage


def member_record(reader: HotReader, guild_id: str, user_id: str, before: str | None = None) -> MemberRecord:
    """Everything logged about one member (newest first), sorted into what a moderator asks about."""
    page = feed_page(reader, guild_id, FeedFilters(member=user_id), before=before)
    items = page.items
    messages = [i for i in items if i.get("category") == "message" and i.get("action") in ("create", "update")]
    created = [i for i in messages if i.get("action") == "create" and i.get("message_id")]
    deletions = reader.get_many((keys.message_pk(str(i["message_id"])), keys.DELETED_SK) for i in created)
    deleted = [i for i in created if (keys.message_pk(str(i["message_id"])), keys.DELETED_SK) in deletions]
    name = next((str(i["user_name"]) for i in items if i.get("user_id") == user_id and i.get("user_name")), None)
    return MemberRecord(
        name=name,
        joins=[i for i in items if i.get("category") == "member" and i.get("action") in ("join", "leave")],
        changes=[i for i in items if i.get("category") == "member" and i.get("action") not in ("join", "leave")],
        moderation=[i for i in items if i.get("category") == "moderation"],
        messages=messages,
        deleted=deleted,
        page=page,
    )
