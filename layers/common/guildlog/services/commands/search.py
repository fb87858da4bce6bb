"""`/logs search [user] [channel] [category] [contains] [since]`: a server's events newest first, 10 a page.

The most selective index answers (GSI1 by member, GSI2 by channel, GSI3 by category, else the
server's feed, which also answers `category:message`: messages are most of it and GSI3 leaves them
out); the other filters are applied here, case-insensitively for `contains`. One page
examines at most `READ_BUDGET` items; when that runs out before ten matches, the page says how
far back it looked and Older carries on from there. Prev/Next carry the search in their custom
ids (see cursor.py), bound to this server and this member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guildlog.errors import CommandError
from guildlog.services import feed, keys
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, Item, Ports, Reply, fit, parse_since, quote, when
from guildlog.services.commands.cursor import Boundary, Cursor, SearchFilters, sk_hash
from guildlog.services.commands.definitions import SEARCHABLE_CATEGORIES
from guildlog.services.commands.naming import AnswerNames, answer_names
from guildlog.services.timefmt import iso

PAGE_SIZE = 10
QUERY_LIMIT = 100
# Items one page may examine (8 Queries of 100): bounds the read cost and the time of a sparse search.
READ_BUDGET = 800
_LINE_CHARS = 175
_FEED_START, _FEED_END = keys.FEED_FIRST, keys.FEED_LAST


def run(call: Call, ports: Ports) -> Reply:
    """The first page of a new search."""
    filters = filters_from_options(call, ports)
    return render(call, ports, filters, cursor=None)


def page(call: Call, ports: Ports, custom_id: str) -> Reply:
    """Another page (a Prev/Next click): the cursor must verify for this server and this member."""
    cursor: Cursor = ports.cursors.decode(custom_id, call.guild_id, call.user_id)
    _check_may_search(call, cursor.filters.user)
    return render(call, ports, cursor.filters, cursor=cursor)


def filters_from_options(call: Call, ports: Ports) -> SearchFilters:
    user = call.user_option("user")
    channel = call.channel_option("channel")
    category = call.string_option("category")
    if category is not None and category not in SEARCHABLE_CATEGORIES:
        raise CommandError(f"`category` is one of {', '.join(SEARCHABLE_CATEGORIES)}.")
    contains = call.string_option("contains")
    since_text = call.string_option("since")
    since = parse_since(since_text, call.now) if since_text else None
    if user is None and not call.can_manage_guild:
        user = call.user_id  # members without Manage Server search their own events
    _check_may_search(call, user)
    if user is not None and user != call.user_id and not call.is_member(user) and not _seen_here(call, ports, user):
        raise CommandError(f"<@{user}> is not a member of this server and nothing of theirs is logged here.")
    return SearchFilters(
        user=user,
        channel=channel,
        category=category,
        contains=contains,
        since_minute=int(since.timestamp()) // 60 if since else None,
    )


def _check_may_search(call: Call, user: str | None) -> None:
    if user != call.user_id:
        call.require_manage_guild("Searching other members' events")


def _seen_here(call: Call, ports: Ports, user: str) -> bool:
    found = feed.query_feed(
        ports.reader, call.guild_id, index="GSI1", pk=keys.member_index_pk(call.guild_id, user),
        sk_from=_FEED_START, sk_to=_FEED_END, limit=1,
    )  # fmt: skip
    return bool(found.items)


# ---------------------------------------------------------------- reading a page


def index_for(guild_id: str, filters: SearchFilters) -> tuple[str | None, str]:
    """(index, partition key) of the most selective access path for these filters."""
    return keys.feed_access_path(guild_id, member=filters.user, channel=filters.channel, category=filters.category)


def matches(item: Item, filters: SearchFilters) -> bool:
    if filters.channel and item.get("channel_id") != filters.channel:
        return False
    if filters.category and item.get("category") != filters.category:
        return False
    if filters.user and filters.user not in (item.get("user_id"), item.get("actor_id")):
        return False
    if filters.contains:
        wanted = filters.contains.casefold()
        text = " ".join(str(item.get(k) or "") for k in ("content", "reason", "user_name")).casefold()
        if wanted not in text:
            return False
    return True


@dataclass
class PageResult:
    items: list[Item]  # newest first, at most PAGE_SIZE
    more_older: bool
    more_newer: bool
    examined_to: Item | None  # the last item examined, when the budget ran out before the page filled


def read_page(ports: Ports, guild_id: str, filters: SearchFilters, cursor: Cursor | None) -> PageResult:
    index, pk = index_for(guild_id, filters)
    newer = cursor is not None and cursor.newer
    since_sk = _FEED_START
    if filters.since_minute is not None:
        since_sk = keys.feed_sk_at(iso(datetime.fromtimestamp(filters.since_minute * 60, UTC)))
    if cursor is None:
        sk_from, sk_to = since_sk, _FEED_END
    elif newer:
        sk_from, sk_to = keys.feed_sk_at(_iso_ms(cursor.boundary.ms)) + "#", _FEED_END
    else:
        sk_from, sk_to = since_sk, keys.feed_sk_at(_iso_ms(cursor.boundary.ms)) + "$"
    boundary = cursor.boundary if cursor is not None else None

    found: list[Item] = []
    examined = 0
    last_examined: Item | None = None
    start_key: Any = None
    exhausted = False
    # The first items read sit at the boundary's millisecond; which of them were already shown is
    # known once the boundary item is found among them.
    pending = boundary is not None
    held: list[Item] = []
    while len(found) <= PAGE_SIZE and examined < READ_BUDGET:
        # The feed and its indexes may be sharded: the shards merged in sort-key order, as one partition reads.
        answer = feed.query_feed(
            ports.reader, guild_id, index=index, pk=pk if index else None, sk_from=sk_from, sk_to=sk_to,
            newest_first=not newer, limit=QUERY_LIMIT, start_key=start_key,
        )  # fmt: skip
        for item in answer.items:
            examined += 1
            last_examined = item
            if pending:
                assert boundary is not None
                if _ms(item) == boundary.ms:
                    held.append(item)
                    continue
                found.extend(_after_boundary(held, boundary, filters))
                pending = False
            if matches(item, filters):
                found.append(item)
            if len(found) > PAGE_SIZE:
                break
        start_key = answer.next_key
        if start_key is None:
            exhausted = True
            break
    if pending:
        found.extend(_after_boundary(held, boundary, filters))
    more_in_direction = len(found) > PAGE_SIZE or not exhausted
    shown = found[:PAGE_SIZE]
    budget_stop = len(found) <= PAGE_SIZE and not exhausted
    if newer:
        shown.reverse()
        return PageResult(shown, more_older=True, more_newer=more_in_direction, examined_to=None)
    return PageResult(
        shown,
        more_older=more_in_direction,
        more_newer=cursor is not None,
        examined_to=last_examined if budget_stop else None,
    )


def _after_boundary(held: list[Item], boundary: Boundary | None, filters: SearchFilters) -> list[Item]:
    """Of the items at the boundary's millisecond (in reading order), those past the boundary item.

    When the boundary item is gone (TTL) all of them are shown: a repeat beats a gap.
    """
    assert boundary is not None
    position = next((n for n, i in enumerate(held) if sk_hash(str(i.get("SK"))) == boundary.sk_hash), None)
    rest = held if position is None else held[position + 1 :]
    return [i for i in rest if matches(i, filters)]


def _ms(item: Item) -> int:
    occurred = datetime.fromisoformat(str(item.get("occurred_at")).replace("Z", "+00:00"))
    return int(occurred.timestamp() * 1000)


def _iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


# ---------------------------------------------------------------- rendering


def render(call: Call, ports: Ports, filters: SearchFilters, cursor: Cursor | None) -> Reply:
    result = read_page(ports, call.guild_id, filters, cursor)
    number = cursor.page + (-1 if cursor.newer else 1) if cursor is not None else 1
    number = max(1, number)
    names = _page_names(ports, call.guild_id, filters, result.items)
    lines = [f"**Search** {_describe(filters, call, names)} · page {number}"]
    if not result.items:
        lines.append(_nothing(filters, cursor))
    for item in fold_audit_entries(result.items):
        lines.append(describe_event(item, names))
    if result.examined_to is not None:
        lines.append(
            f"_Looked through {READ_BUDGET} events back to {when(result.examined_to.get('occurred_at'))}; "
            "**Older** keeps looking._"
        )
    buttons, note = _buttons(call, ports, filters, result, number)
    if note:
        lines.append(note)
    return Reply(content=fit("\n".join(lines), p.MAX_CONTENT_CHARS), components=buttons)


def _buttons(
    call: Call, ports: Ports, filters: SearchFilters, result: PageResult, number: int
) -> tuple[tuple[dict[str, Any], ...], str | None]:
    if not result.items and result.examined_to is None:
        return (), None
    edges: list[tuple[str, bool, Item | None, bool]] = []
    first = result.items[0] if result.items else None
    last = result.examined_to or (result.items[-1] if result.items else None)
    edges.append(("Newer", True, first, result.more_newer and first is not None and number > 1))
    edges.append(("Older", False, last, result.more_older and last is not None))
    if not any(enabled for *_, enabled in edges):
        return (), None
    components = []
    for label, newer, edge, enabled in edges:
        custom_id = None
        if edge is not None:
            boundary = Boundary.of(_ms(edge), str(edge.get("SK")))
            cursor = Cursor(filters=filters, newer=newer, boundary=boundary, page=number)
            custom_id = ports.cursors.encode(cursor, call.guild_id, call.user_id)
            if custom_id is None:
                return (), "_These filters are too long to page through; narrow the search with `since`._"
        components.append(
            {
                "type": p.BUTTON,
                "style": p.SECONDARY,
                "label": label,
                "custom_id": custom_id or f"s1.none.{label.lower()}",
                "disabled": not enabled,
            }
        )
    return ({"type": p.ACTION_ROW, "components": components},), None


def _page_names(ports: Ports, guild_id: str, filters: SearchFilters, items: list[Item]) -> AnswerNames:
    """Each member as the page's events logged them (the newest of those names), the rest and the
    channels from the directory."""
    at_the_time = {
        str(i["user_id"]): i["user_name"] for i in reversed(items) if i.get("user_id") and i.get("user_name")
    }
    users = [filters.user, *(i.get(k) for i in items for k in ("user_id", "actor_id", "target_id"))]
    channels = [filters.channel, *(i.get("channel_id") for i in items)]
    return answer_names(ports.reader, guild_id, users, channels, at_the_time)


def _describe(filters: SearchFilters, call: Call, names: AnswerNames | None = None) -> str:
    parts = []
    if filters.user:
        who = names.user(filters.user) if names is not None else f"<@{filters.user}>"
        parts.append(f"of {who}" + (" (you)" if filters.user == call.user_id else ""))
    if filters.channel:
        parts.append(f"in {names.channel(filters.channel) if names is not None else f'<#{filters.channel}>'}")
    if filters.category:
        parts.append(f"category {filters.category}")
    if filters.contains:
        parts.append(f"containing “{quote(filters.contains, 60)}”")
    if filters.since_minute is not None:
        parts.append(f"since <t:{filters.since_minute * 60}:f>")
    return ("· " + ", ".join(parts)) if parts else "· all events"


def _nothing(filters: SearchFilters, cursor: Cursor | None) -> str:
    if cursor is not None:
        return "_No more events this way._"
    return "_Nothing logged matches._"


# The audit-log action that explains a gateway row, and how far apart in time the two may be.
_EXPLAINS = {"member_ban_add": "ban", "member_ban_remove": "unban"}
_AUDIT_ENTRY = "GUILD_AUDIT_LOG_ENTRY_CREATE"
_PAIR_WINDOW_MS = 120_000


def fold_audit_entries(items: list[Item]) -> list[Item]:
    """A ban (or unban) and its audit-log entry on one line: the gateway row, with the entry's
    moderator and reason, in place of two lines that say the same thing.

    Discord sends both for one action (GUILD_BAN_ADD, then GUILD_AUDIT_LOG_ENTRY_CREATE with who
    and why). Only a pair on the same page folds; a pair split by the page boundary stays two lines.
    """
    rows = {
        (str(i.get("action")), str(i.get("user_id") or i.get("target_id"))): i
        for i in items
        if i.get("event_type") in ("GUILD_BAN_ADD", "GUILD_BAN_REMOVE")
    }
    folded: list[Item] = []
    merged: dict[int, Item] = {}
    for item in items:
        explains = _EXPLAINS.get(str(item.get("action"))) if item.get("event_type") == _AUDIT_ENTRY else None
        row = rows.get((explains, str(item.get("target_id")))) if explains else None
        if row is not None and abs(_ms(row) - _ms(item)) <= _PAIR_WINDOW_MS:
            merged[id(row)] = {
                **row,
                "actor_id": row.get("actor_id") or item.get("actor_id"),
                "reason": row.get("reason") or item.get("reason"),
            }
            continue
        folded.append(item)
    return [merged.get(id(i), i) for i in folded]


def describe_event(item: Item, names: AnswerNames | None = None) -> str:
    """One event on one line: time, kind, who, where, and its text; with `names`, each mention
    followed by the name guildlog holds."""

    def mention(user_id: object) -> str:
        return names.user(user_id) if names is not None else f"<@{user_id}>"

    parts = [when(item.get("occurred_at")), f"`{item.get('category')}/{item.get('action')}`"]
    user, actor = item.get("user_id"), item.get("actor_id")
    action = str(item.get("action") or "")
    if not user and item.get("category") == "moderation" and action.startswith(("member_", "message_delete")):
        user = item.get("target_id")  # an audit-log entry about a member names them as its target
    if actor and actor != user:
        parts.append(mention(actor) + (f" → {mention(user)}" if user else ""))
    elif user:
        parts.append(mention(user))
    if item.get("channel_id"):
        channel = item["channel_id"]
        parts.append(f"in {names.channel(channel) if names is not None else f'<#{channel}>'}")
    head = " ".join(parts)
    text = item.get("content") or item.get("reason") or ""
    room = max(0, _LINE_CHARS - len(head) - 2)
    return f"{head}: {quote(text, room)}" if text and room > 10 else head
