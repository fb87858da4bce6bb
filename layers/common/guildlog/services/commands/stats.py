"""`/stats [period] [user]`: a server's activity from the daily counters (`G#<guild>#D#<day>`), no scan.

One Query per day reads that day's counter items (one delta per ingest batch: messages, channels,
members, joins, leaves, moderation by moderator, commands) and `hot_items.fold` sums them. Periods
are whole UTC days, as the counters are: `24h` is yesterday and today, `7d` and `30d` end today.
Over 30 days this is 30 Queries or more, so `/stats period:30d` is deferred to WorkerFunction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from guildlog.errors import CommandError
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, HotReader, Item, Ports, Reply, fit
from guildlog.services.commands.definitions import PERIODS
from guildlog.services.hot_items import fold
from guildlog.services.keys import day_pk

PERIOD_DAYS = {"24h": 2, "7d": 7, "30d": 30}
DEFAULT_PERIOD = "7d"
TOP = 5
_SPARK = "▁▂▃▄▅▆▇█"


def days_of(period: str, now: datetime) -> list[str]:
    """The UTC days (`yyyy-mm-dd`, oldest first) a period covers, ending today."""
    today = now.date()
    return [(today - timedelta(days=n)).isoformat() for n in reversed(range(PERIOD_DAYS[period]))]


def run(call: Call, ports: Ports) -> Reply:
    period = call.string_option("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        raise CommandError(f"`period` is one of {', '.join(PERIODS)}.")
    user = call.user_option("user")
    if user is not None and user != call.user_id:
        call.require_manage_guild("Other members' statistics")
    days = days_of(period, call.now)
    totals = [day_counters(ports.reader, call.guild_id, day) for day in days]
    if user is not None:
        return Reply(_member_stats(call, user, period, days, totals))
    return Reply(_server_stats(period, days, totals))


def day_counters(reader: HotReader, guild_id: str, day: str) -> Counter[str]:
    """A guild's counters for one UTC day: its counter items (Query `G#<guild>#D#<day>`), folded."""
    items: list[Item] = []
    start_key = None
    while True:
        page = reader.query(day_pk(guild_id, day), newest_first=False, limit=1000, start_key=start_key)
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            return Counter(fold(items))


def _server_stats(period: str, days: list[str], totals: list[Counter[str]]) -> str:
    total: Counter[str] = Counter()
    for day_total in totals:
        total.update(day_total)
    per_day = [int(t.get("messages", 0)) for t in totals]
    members = Counter({name[2:]: n for name, n in total.items() if name.startswith("u#") and n})
    lines = [_heading(period, days)]
    if not any(totals):
        lines.append("_Nothing was logged in this period._")
        return "\n".join(lines)
    lines.append(f"**Messages** {total.get('messages', 0)}{_by_day(days, per_day)}")
    lines.append("**Top channels** " + _top(total, "c#", lambda c: f"<#{c}>"))
    lines.append("**Top members** " + _top_counter(members, lambda u: f"<@{u}>"))
    lines.append(
        f"**Members** {total.get('joins', 0)} joined · {total.get('leaves', 0)} left · "
        f"{total.get('bans', 0)} banned · {total.get('unbans', 0)} unbanned"
    )
    moderation = f"**Moderation** {total.get('mod_actions', 0)} actions"
    if total.get("mod_actions"):
        moderation += " · by " + _top(total, "m#", lambda m: f"<@{m}>")
        moderation += " · " + _top(total, "a#", lambda a: a.replace("_", " "), limit=6)
    lines.append(moderation)
    commands = f"**Commands** {total.get('commands', 0)}"
    if total.get("commands"):
        commands += " · " + _top(total, "cmd#", lambda c: f"`{c}`")
    lines.append(commands)
    lines.append("**Events** " + _top(total, "k#", lambda k: k, limit=8))
    return fit("\n".join(lines), p.MAX_CONTENT_CHARS)


def _member_stats(call: Call, user: str, period: str, days: list[str], totals: list[Counter[str]]) -> str:
    per_day = [int(t.get(f"u#{user}", 0)) for t in totals]
    moderated = sum(int(t.get(f"m#{user}", 0)) for t in totals)
    lines = [_heading(period, days) + f" · <@{user}>"]
    if not any(per_day) and not moderated:
        if not call.is_member(user) and user != call.user_id:
            raise CommandError(f"<@{user}> is not a member of this server and has no activity counted here.")
        lines.append("_No messages counted in this period._")
        return "\n".join(lines)
    lines.append(f"**Messages** {sum(per_day)}{_by_day(days, per_day)}")
    if moderated:
        lines.append(f"**Moderation actions taken** {moderated}")
    return "\n".join(lines)


def _heading(period: str, days: list[str]) -> str:
    span = days[0] if len(days) == 1 else f"{days[0]} – {days[-1]}"
    return f"**Activity · {period}** ({span}, UTC days)"


def _by_day(days: list[str], counts: list[int]) -> str:
    if not any(counts):
        return ""
    if len(days) <= 7:
        return " · " + ", ".join(f"{day[5:]}: {n}" for day, n in zip(days, counts, strict=True))
    peak = max(counts)
    spark = "".join(_SPARK[min(len(_SPARK) - 1, n * (len(_SPARK) - 1) // peak)] if n else " " for n in counts)
    busiest = days[counts.index(peak)]
    return f" · `{spark}` busiest {busiest[5:]} ({peak})"


def _top(total: Counter[str], prefix: str, label: Callable[[str], str], limit: int = TOP) -> str:
    picked = Counter({name[len(prefix) :]: n for name, n in total.items() if name.startswith(prefix) and n})
    return _top_counter(picked, label, limit)


def _top_counter(counts: Counter[str], label: Callable[[str], str], limit: int = TOP) -> str:
    if not counts:
        return "—"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return " · ".join(f"{label(key)} {n}" for key, n in ranked)
