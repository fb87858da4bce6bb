"""What the pages show, read from the hot table (Query, GetItem, BatchGetItem: never a Scan).

Each function takes the reader (`adapters.hot_reader.HotReader`, or an in-memory fake) and returns
plain data for a template. Reads are bounded: a page examines at most `READ_BUDGET` items and says
how far back it looked when that runs out before the page is full. Days older than the guild's hot
retention are not in the table; those pages read the archive instead (web.archive, web.archive_reads).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from guildlog.services import feed, keys
from guildlog.services.commands.context import Clause, HotReader, Item
from guildlog.services.commands.stats import day_counters
from guildlog.services.modlog.kinds import details_of
from guildlog.web.markdown import Names

PAGE_SIZE = 50
QUERY_LIMIT = 100
READ_BUDGET = 1000
# The most items one filtered Query examines (DynamoDB sends back only those the filter keeps).
FILTERED_QUERY_LIMIT = 1000
TRANSCRIPT_LIMIT = 2000
# Events of a channel's day per transcript page; Earlier and Later page through the day.
TRANSCRIPT_PAGE = 50
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
# What a transcript page reads of the changes to its messages made after the page's last event.
CHANGE_ATTRIBUTES = ("SK", "action", "message_id", "occurred_at", "details")
LATER_CHANGES = ("update", "reaction_add", "reaction_remove")
HOURLY_ATTRIBUTES = ("SK", "category", "action", "occurred_at")
HOURLY_WHERE = (Clause(("category",), ("message",)), Clause(("action",), ("create",)))
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

    def clauses(self, index: str | None = None) -> tuple[Clause, ...]:
        """The filters as DynamoDB applies them before answering, so what they drop is never sent;
        without the one the `index` read already applies (services.keys.feed_access_path).

        Exact for category, kind, channel and member. Text: DynamoDB's `contains` is case-sensitive,
        so the text is looked for as typed, in lower case, in UPPER CASE, Capitalized and Title Case;
        `matches` then checks each item case-insensitively.
        """
        clauses = []
        if self.category and index != "GSI3":
            clauses.append(Clause(("category",), (self.category,)))
        if self.kind:
            clauses.append(Clause(("action", "event_type"), (self.kind, self.kind.upper())))
        if self.channel and index != "GSI2":
            clauses.append(Clause(("channel_id",), (self.channel,)))
        if self.member and index != "GSI1":
            clauses.append(Clause(("user_id", "actor_id", "target_id"), (self.member,)))
        if self.text:
            variants = (self.text, self.text.lower(), self.text.upper(), self.text.capitalize(), self.text.title())
            clauses.append(Clause(("content", "reason", "user_name"), tuple(dict.fromkeys(variants)), contains=True))
        return tuple(clauses)


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
    where = filters.clauses(index)
    # First a page's worth (+1 to know there is more, +1 for the boundary item itself): all of it is
    # shown when nothing is filtered, and most of it when the filters keep most items. Filters that
    # drop more read on in steps four times larger, DynamoDB applying them (only what they keep is
    # sent back); each item is still checked here, the text case-insensitively.
    limit = PAGE_SIZE + 2
    while len(found) <= PAGE_SIZE and examined < READ_BUDGET:
        answer = _read(reader, guild_id, index, pk, low, high, not newer, start_key, limit, where)
        limit = QUERY_LIMIT
        full = False
        for item in answer.items:
            sk = str(item.get("SK"))
            if sk in (before, after):
                continue
            if answer.scanned is None:
                examined += 1
            last_sk = sk
            if filters.matches(item):
                found.append(item)
                if len(found) > PAGE_SIZE:
                    full = True
                    break
        if answer.scanned is not None:
            examined += answer.scanned
            # Enough to fill the page at the share the filters kept so far (and half again), at most
            # four times the last step.
            share = max(len(answer.items), 1) / max(answer.scanned, 1)
            wanted = math.ceil((PAGE_SIZE + 1 - len(found)) / share * 1.5) + 2
            limit = min(wanted, answer.scanned * 4, FILTERED_QUERY_LIMIT, max(READ_BUDGET - examined, 1))
            # The filter dropped the items after the last one kept: carry on from the last one examined.
            resume = _resume_sk(answer.next_key, index)
            if not full and resume is not None:
                last_sk = resume
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
    where: tuple[Clause, ...] = (),
) -> Any:
    """One page of the guild's feed or of one of its index keys, across its shards (services.feed)."""
    return feed.query_feed(
        reader, guild_id, index=index, pk=pk if index else None, sk_from=low, sk_to=high, newest_first=newest_first,
        limit=limit, start_key=start, attributes=FEED_ATTRIBUTES, where=where,
    )  # fmt: skip


def _resume_sk(next_key: Any, index: str | None) -> str | None:
    """The sort key a filtered Query stopped at (its LastEvaluatedKey), as a page boundary."""
    if not isinstance(next_key, dict):
        return None
    value = next_key.get(f"{index}SK" if index else "SK")
    text = value.get("S") if isinstance(value, dict) else value
    return str(text) if isinstance(text, str) and FEED_SK.match(text) else None


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
    totals = [_day_totals(reader, guild_id, day, closed=day < today.isoformat()) for day in days]
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
    # Messages are not in the category index: the feed of the last 24 h is read, newest first, bounded,
    # DynamoDB sending back only the message creates.
    while sample < HOURLY_LIMIT:
        page = feed.query_feed(
            reader, guild_id, sk_from=since, sk_to=keys.FEED_LAST, limit=HOURLY_LIMIT - sample, start_key=start_key,
            attributes=HOURLY_ATTRIBUTES, where=HOURLY_WHERE,
        )  # fmt: skip
        for item in page.items:
            if item.get("category") == "message" and item.get("action") == "create":
                hours[int(str(item.get("occurred_at"))[11:13])] += 1
        sample += page.scanned if page.scanned is not None else len(page.items)
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


_days_cache: dict[tuple[int, str, str], tuple[HotReader, float, Counter[str]]] = {}


def _day_totals(reader: HotReader, guild_id: str, day: str, *, closed: bool) -> Counter[str]:
    """A day's counters (services.commands.stats.day_counters). A warm container reuses a closed day's
    (before today) for NAMES_CACHE_SECONDS: only a late or imported event still changes it."""
    if not closed:
        return day_counters(reader, guild_id, day)
    now = time.monotonic()
    cached = _days_cache.get((id(reader), guild_id, day))
    if cached is not None and cached[0] is reader and now - cached[1] < NAMES_CACHE_SECONDS:
        return Counter(cached[2])
    totals = day_counters(reader, guild_id, day)
    if len(_days_cache) >= 5000:
        _days_cache.clear()
    _days_cache[(id(reader), guild_id, day)] = (reader, now, Counter(totals))
    return totals


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


@dataclass
class TranscriptPage:
    """A page of a channel's day: its messages (oldest first) and where the pages around it start."""

    messages: list[Message]
    earlier: str | None = None  # the `before` of the page before, None at the day's start
    later: str | None = None  # the `after` of the page after, None at the day's end
    cut: bool = False  # the later changes to these messages were more than one read examines


def transcript(
    reader: HotReader, guild_id: str, channel_id: str, day: date, *, before: str | None = None,
    after: str | None = None,
) -> TranscriptPage:  # fmt: skip
    """A page of the channel's day (UTC): TRANSCRIPT_PAGE events from the day's start, after `after` or
    before `before` (sort keys, exclusive), with the messages' edits, deletions and reactions.

    Reads: one Query of the page's events; one filtered Query of the later changes to them (edits
    and reactions after the page's last event, the rest of the day); one BatchGetItem of their
    deletion markers, their edited texts and the whole text of a create too long for its feed item.
    """
    pk = keys.channel_index_pk(guild_id, channel_id)
    low, high = f"E#{day.isoformat()}", f"E#{(day + timedelta(days=1)).isoformat()}"
    backwards = before is not None
    if before is not None:
        high = min(high, before)
    if after is not None:
        low = max(low, after)
    page = feed.query_feed(
        reader, guild_id, index="GSI2", pk=pk, sk_from=low, sk_to=high, newest_first=backwards,
        limit=TRANSCRIPT_PAGE + 1, attributes=TRANSCRIPT_ATTRIBUTES,
    )  # fmt: skip
    kept = [i for i in page.items if str(i.get("SK")) not in (before, after)]
    items = kept[:TRANSCRIPT_PAGE]
    more = len(kept) > TRANSCRIPT_PAGE or page.next_key is not None  # events beyond this page, this way
    if backwards:
        items.reverse()
    if not items:
        return TranscriptPage([], earlier=None, later=None)
    first_sk, last_sk = str(items[0].get("SK")), str(items[-1].get("SK"))
    earlier = first_sk if (more if backwards else after is not None) else None
    later = last_sk if (before is not None if backwards else more) else None
    messages, cut = _page_messages(items), False
    changes: list[Item] = []
    if later is not None and messages:
        changes, cut = _later_changes(reader, guild_id, pk, last_sk, f"E#{(day + timedelta(days=1)).isoformat()}")
    _apply_changes(reader, messages, items + changes, {str(i["message_id"]) for i in items if i.get("whole")})
    ordered = sorted(messages.values(), key=lambda m: (m.created_at, m.message_id))
    return TranscriptPage(ordered, earlier=earlier, later=later, cut=cut)


def _page_messages(items: list[Item]) -> dict[str, Message]:
    messages: dict[str, Message] = {}
    for item in items:
        if item.get("category") == "message" and item.get("message_id") and item.get("action") == "create":
            mid = str(item["message_id"])
            messages[mid] = Message(
                message_id=mid,
                author_id=item.get("user_id"),
                author=str(item.get("user_name") or item.get("user_id") or "unknown"),
                created_at=str(item.get("occurred_at")),
                content=item.get("content"),
                attachments=attachments(item.get("attachments")),
                reply_to=details_of(item).get("reply_to"),
            )
    return messages


def _later_changes(reader: HotReader, guild_id: str, pk: str, after: str, day_end: str) -> tuple[list[Item], bool]:
    """Edits and reactions in the channel after `after` until the day's end: only those come back."""
    changes: list[Item] = []
    examined = 0
    start_key: Any = None
    where = (Clause(("action",), LATER_CHANGES),)
    while examined < TRANSCRIPT_LIMIT:
        answer = feed.query_feed(
            reader, guild_id, index="GSI2", pk=pk, sk_from=after, sk_to=day_end, newest_first=False,
            limit=FILTERED_QUERY_LIMIT, start_key=start_key, attributes=CHANGE_ATTRIBUTES, where=where,
        )  # fmt: skip
        changes.extend(i for i in answer.items if i.get("SK") != after and i.get("action") in LATER_CHANGES)
        examined += answer.scanned if answer.scanned is not None else len(answer.items)
        start_key = answer.next_key
        if start_key is None:
            return changes, False
    return changes, True


def _apply_changes(reader: HotReader, messages: dict[str, Message], items: list[Item], whole: set[str]) -> None:
    """Each message's reactions, edited texts and deletion, from the changes read and one BatchGetItem."""
    edits: dict[str, list[str]] = {}
    for item in items:
        mid = str(item.get("message_id") or "")
        action = item.get("action")
        if mid not in messages:
            continue
        if action == "update" and item.get("occurred_at"):
            edits.setdefault(mid, []).append(str(item["occurred_at"]))
        elif action in ("reaction_add", "reaction_remove"):
            name = str((details_of(item).get("emoji") or {}).get("name") or "?")
            step = 1 if action == "reaction_add" else -1
            messages[mid].reactions[name] = max(0, messages[mid].reactions[name] + step)
    if not messages:
        return
    # A create too long for its feed item is kept whole in its own version item; each edit is a
    # version keyed by its time (hot_items.message_items); every message may have a deletion marker.
    wanted = [(keys.message_pk(mid), keys.version_sk(m.created_at)) for mid, m in messages.items() if mid not in whole]
    wanted += [(keys.message_pk(mid), keys.version_sk(at)) for mid, times in edits.items() for at in times]
    wanted += [(keys.message_pk(mid), keys.DELETED_SK) for mid in messages]
    found = reader.get_many(wanted)
    for mid, message in messages.items():
        created = found.get((keys.message_pk(mid), keys.version_sk(message.created_at)))
        if created is not None:
            message.content = created.get("content")
            message.attachments = attachments(created.get("attachments"))
        texts = [found.get((keys.message_pk(mid), keys.version_sk(at))) for at in sorted(set(edits.get(mid, [])))]
        kept = [v for v in texts if v is not None and v.get("version") == "edit"]
        if kept:
            versions = [{"at": message.created_at, "content": message.content}]
            versions += [{"at": v.get("occurred_at"), "content": v.get("content")} for v in kept[:-1]]
            message.versions = versions
            message.content = kept[-1].get("content")
            message.attachments = attachments(kept[-1].get("attachments")) or message.attachments
            message.edited_at = str(kept[-1].get("occurred_at"))
        marker = found.get((keys.message_pk(mid), keys.DELETED_SK))
        if marker:
            message.deleted_at = str(marker.get("deleted_at"))


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
