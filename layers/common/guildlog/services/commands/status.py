"""`/logs status`: is the relay healthy, what was logged today, how long events stay searchable.

Shards are found in the daily shard index (`RELAYS` / `D#<day>`, last 7 days). Per shard: the newest
relay contact and the resumes and gaps of the last 24 h (Query `RELAY#<shard>`, SK `C#…`, newest
first) and the events of the last hour (the 10-minute buckets `RELAY#<shard>` / `H#…`). Today's
events by category come from the day's `TOTAL` counter; the retention from the server's config.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, Item, Ports, Reply, fit, when
from guildlog.services.hot_items import RELAY_INDEX_PK, SHARD_BUCKET_SECONDS, shard_bucket_sk
from guildlog.services.timefmt import iso

SHARD_LOOKBACK_DAYS = 7
# A shard that has said nothing for this long is flagged: the relay heartbeats far more often.
QUIET_AFTER = timedelta(minutes=10)


def run(call: Call, ports: Ports) -> Reply:
    now = call.now
    lines = ["**Relay**"]
    shards = shards_seen(ports, now)
    if not shards:
        lines.append(f"No relay contact in the last {SHARD_LOOKBACK_DAYS} days: is `guildlog relay` running?")
    for shard in shards:
        lines.append(shard_line(ports, shard, now))
    today = now.date().isoformat()
    total = ports.reader.get(f"G#{call.guild_id}#D#{today}", "TOTAL") or {}
    categories = Counter({k[2:]: int(v) for k, v in total.items() if k.startswith("k#") and int(v)})
    lines.append(f"**Events today** ({today}, UTC)")
    lines.append(" · ".join(f"{c} {n}" for c, n in categories.most_common()) if categories else "none yet")
    config = ports.reader.get(f"G#{call.guild_id}", "CONFIG") or {}
    days = int(config.get("retention_days") or ports.default_retention_days)
    source = "this server's setting" if config.get("retention_days") else "the stack's default"
    lines.append(f"**Retention** {days} days ({source}); the S3 archive keeps everything.")
    return Reply(fit("\n".join(lines), p.MAX_CONTENT_CHARS))


def shards_seen(ports: Ports, now: datetime) -> list[int]:
    first = (now - timedelta(days=SHARD_LOOKBACK_DAYS - 1)).date().isoformat()
    page = ports.reader.query(RELAY_INDEX_PK, sk_from=f"D#{first}", sk_to="D$", newest_first=False, limit=31)
    shards = {int(name[2:]) for item in page.items for name in item if name.startswith("s#") and name[2:].isdigit()}
    return sorted(shards)


def shard_line(ports: Ports, shard: int, now: datetime) -> str:
    pk = f"RELAY#{shard}"
    day_ago = iso(now - timedelta(days=1))
    recent = ports.reader.query(pk, sk_from=f"C#{day_ago}", sk_to="C$", newest_first=True, limit=500).items
    newest: Item | None = recent[0] if recent else None
    if newest is None:
        older = ports.reader.query(pk, sk_from="C#", sk_to="C$", newest_first=True, limit=1).items
        newest = older[0] if older else None
    actions = Counter(str(i.get("action")) for i in recent)
    resumes = max(actions["resume"], actions["resumed"])
    gaps = actions["gap"]
    events = events_last_hour(ports, shard, now)
    parts = [f"shard {shard}:"]
    if newest is not None:
        contact = f"last contact {when(newest.get('occurred_at'), 'R')} ({newest.get('action')})"
        if _age(newest, now) > QUIET_AFTER:
            contact = "⚠️ " + contact
        parts.append(contact)
    else:
        parts.append("no relay contact logged")
    parts.append(f"· {events} events in the last hour")
    parts.append(f"· last 24 h: {resumes} resume{'s' if resumes != 1 else ''}, {gaps} gap{'s' if gaps != 1 else ''}")
    if gaps:
        parts[-1] = "⚠️ " + parts[-1]
    return " ".join(parts)


def events_last_hour(ports: Ports, shard: int, now: datetime) -> int:
    """Events in the six 10-minute buckets that end with the current one."""
    moment = int(now.timestamp())
    keys = [(f"RELAY#{shard}", shard_bucket_sk(moment - n * SHARD_BUCKET_SECONDS)) for n in range(6)]
    found = ports.reader.get_many(keys)
    return sum(int(item.get("events", 0)) for item in found.values())


def _age(item: Item, now: datetime) -> timedelta:
    try:
        return now - datetime.fromisoformat(str(item.get("occurred_at")).replace("Z", "+00:00"))
    except ValueError:
        return timedelta(0)
