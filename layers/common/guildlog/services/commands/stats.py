"""`/stats [period] [user]`: a server's activity from the daily counters (`G#<guild>#D#<day>`), no scan.

One BatchGetItem reads the period's `TOTAL` items (messages, channels, joins, leaves, moderation by
moderator, commands); one Query per day that had messages reads its members (`U#<user>`). Periods
are whole UTC days, as the counters are: `24h` is yesterday and today, `7d` and `30d` end today.
Over 30 days this is up to 31 reads, so `/stats period:30d` is deferred to WorkerFunction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from guildlog.errors import CommandError
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, Item, Ports, Reply, fit
from guildlog.services.commands.definitions import PERIODS

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
    pks = [f"G#{call.guild_id}#D#{day}" for day in days]
    if user is not None:
        return Reply(_member_stats(call, ports, user, period, days, pks))
    return Reply(_server_stats(call, ports, period, days, pks))


def _server_stats(call: Call, ports: Ports, period: str, days: list[str], pks: list[str]) -> str:
    found = ports.reader.get_many((pk, "TOTAL") for pk in pks)
    totals = [found.get((pk, "TOTAL"), {}) for pk in pks]
    total = _sum(totals)
    per_day = [int(t.get("messages", 0)) for t in totals]
    members: Counter[str] = Counter()
    for pk, day_total in zip(pks, totals, strict=True):
        if int(day_total.get("messages", 0)) > 0:
            for item in _members(ports, pk):
                members[str(item["SK"])[2:]] += int(item.get("messages", 0))
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


def _member_stats(call: Call, ports: Ports, user: str, period: str, days: list[str], pks: list[str]) -> str:
    keys = [(pk, f"U#{user}") for pk in pks] + [(pk, "TOTAL") for pk in pks]
    found = ports.reader.get_many(keys)
    per_day = [int(found.get((pk, f"U#{user}"), {}).get("messages", 0)) for pk in pks]
    moderated = sum(int(found.get((pk, "TOTAL"), {}).get(f"m#{user}", 0)) for pk in pks)
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


def _members(ports: Ports, pk: str) -> list[Item]:
    items: list[Item] = []
    start_key = None
    while True:
        page = ports.reader.query(pk, sk_from="U#", sk_to="U$", newest_first=False, limit=1000, start_key=start_key)
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            return items


def _sum(items: list[Item]) -> Counter[str]:
    total: Counter[str] = Counter()
    for item in items:
        for name, value in item.items():
            if name in ("PK", "SK", "expires_at") or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                total[name] += int(value)
    return total


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
