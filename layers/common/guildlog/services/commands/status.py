"""`/logs status`: is the relay healthy, what was logged here today, how long events stay searchable.

Manage Server only. Shards are found in the daily shard index (`RELAYS` / `D#<day>#S#<shard>`, last
7 days). Per shard, its health only: the newest relay contact and the resumes and gaps of the last
24 h (Query `RELAY#<shard>`, SK `C#…`, newest first). A shard carries many servers, so no per-shard
event count is shown: one server must not learn another's activity. This server's own events of
the last hour come from its feed (`G#<guild>`, SK `E#…`), today's by category from its day
counters, the retention from its config.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from guildlog.services import keys
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, Item, Ports, Reply, fit, when
from guildlog.services.commands.stats import day_counters
from guildlog.services.commands.status_gaps import gap_lines
from guildlog.services.timefmt import iso

SHARD_LOOKBACK_DAYS = 7
# A shard that has said nothing for this long is flagged: the relay heartbeats far more often.
QUIET_AFTER = timedelta(minutes=10)
# One Query page of the feed: enough to tell a quiet hour from a busy one without paging on.
LAST_HOUR_LIMIT = 1000


def run(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("The relay's status")
    now = call.now
    lines = ["**Relay**"]
    shards = shards_seen(ports, now)
    if not shards:
        lines.append(f"No relay contact in the last {SHARD_LOOKBACK_DAYS} days: is `guildlog relay` running?")
    for shard in shards:
        lines.append(shard_line(ports, shard, now))
    lines.extend(gap_lines(ports, shards, call.guild_id, now))
    lines.append(f"**This server** {events_last_hour(ports, call.guild_id, now)} in the last hour")
    today = now.date().isoformat()
    total = day_counters(ports.reader, call.guild_id, today)
    categories = Counter({k[2:]: int(v) for k, v in total.items() if k.startswith("k#") and int(v)})
    lines.append(f"**Events today** ({today}, UTC)")
    lines.append(" · ".join(f"{c} {n}" for c, n in categories.most_common()) if categories else "none yet")
    config = ports.reader.get(keys.guild_pk(call.guild_id), keys.CONFIG_SK) or {}
    days = int(config.get("retention_days") or ports.default_retention_days)
    source = "this server's setting" if config.get("retention_days") else "the stack's default"
    lines.append(f"**Retention** {days} days ({source}).")
    # --- archive retention and channels never recorded ---
    from guildlog.services.commands.settings import archive_line

    lines.append(archive_line(config, ports.default_retention_days))
    if total.get("unrecorded"):
        lines.append(f"**Not recorded today** {int(total['unrecorded'])} events from private channels (dropped)")
    lines.extend(log_lines(config))
    return Reply(fit("\n".join(lines), p.MAX_CONTENT_CHARS))


def log_lines(config: Item) -> list[str]:
    """Where the moderation log posts, and any log channel where Discord stopped it."""
    from guildlog.services.commands.settings import log_channels, stopped_lines

    channels = log_channels(config)
    head = "**Moderation log** " + (" ".join(f"<#{c}>" for c in channels) if channels else "off (no log channel)")
    return [head, *stopped_lines(config)]


def shards_seen(ports: Ports, now: datetime) -> list[int]:
    first = (now - timedelta(days=SHARD_LOOKBACK_DAYS - 1)).date().isoformat()
    low, high = keys.relay_index_range(first)
    shards: set[int] = set()
    start_key = None
    while True:
        page = ports.reader.query(
            keys.RELAY_INDEX_PK, sk_from=low, sk_to=high, newest_first=False, limit=1000, start_key=start_key
        )
        for item in page.items:
            shard = keys.shard_of_index_sk(str(item.get("SK", "")))
            if shard is not None:
                shards.add(shard)
            # A stack's older index items: one per day, `s#<shard>` attributes.
            shards.update(
                int(name[2:]) for name in item if name.startswith("s#") and name[2:].isascii() and name[2:].isdigit()
            )
        start_key = page.next_key
        if start_key is None:
            return sorted(shards)


def shard_line(ports: Ports, shard: int, now: datetime) -> str:
    pk = keys.relay_pk(shard)
    day_ago = iso(now - timedelta(days=1))
    recent = ports.reader.query(
        pk, sk_from=keys.contact_sk_at(day_ago), sk_to=keys.CONTACT_LAST, newest_first=True, limit=500
    ).items
    newest: Item | None = recent[0] if recent else None
    if newest is None:
        older = ports.reader.query(
            pk, sk_from=keys.CONTACT_FIRST, sk_to=keys.CONTACT_LAST, newest_first=True, limit=1
        ).items
        newest = older[0] if older else None
    actions = Counter(str(i.get("action")) for i in recent)
    resumes = max(actions["resume"], actions["resumed"])
    gaps = actions["gap"]
    parts = [f"shard {shard}:"]
    if newest is not None:
        contact = f"last contact {when(newest.get('occurred_at'), 'R')} ({newest.get('action')})"
        if _age(newest, now) > QUIET_AFTER:
            contact = "⚠️ " + contact
        parts.append(contact)
    else:
        parts.append("no relay contact logged")
    health = f"last 24 h: {resumes} resume{'s' if resumes != 1 else ''}, {gaps} gap{'s' if gaps != 1 else ''}"
    parts.append("· ⚠️ " + health if gaps else "· " + health)
    return " ".join(parts)


def events_last_hour(ports: Ports, guild_id: str, now: datetime) -> str:
    """`N events` of this server's feed in the last hour (what its settings keep searchable);
    `N+ events` past one page of the Query."""
    page = ports.reader.query(
        keys.guild_pk(guild_id),
        sk_from=keys.feed_sk_at(iso(now - timedelta(hours=1))),
        sk_to=keys.FEED_LAST,
        limit=LAST_HOUR_LIMIT,
    )
    count = len(page.items)
    more = "+" if page.next_key is not None else ""
    return f"{count}{more} event{'s' if count != 1 or more else ''}"


def _age(item: Item, now: datetime) -> timedelta:
    try:
        return now - datetime.fromisoformat(str(item.get("occurred_at")).replace("Z", "+00:00"))
    except ValueError:
        return timedelta(0)
