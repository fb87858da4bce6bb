"""Which archive days hold a member, and so which objects an erasure reads.

The archive's datasets are partitioned by day, not by guild or member, so an erasure reads every object
of the days that hold the member and no other day. The days come from two places: the hot table's
member index (GSI1 `G#<guild>#U#<user>`: every event of theirs still within the guild's retention, one
Query), and for older days or imported history the archive itself (Athena or DuckDB over `events`,
`SELECT DISTINCT year, month, day … WHERE guild_id = ? AND (user_id = ? OR target_id = ?)`, pruned by
nothing but the guild: see docs/data-rights.md for its cost). Either source may be absent; a day named
by either is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from guildlog.services.partition import partition_day

DayFinder = Callable[[str, str], Iterable[date]]
# A member's own messages are their creates and edits; their reactions name other members' messages.
OWN_MESSAGE_ACTIONS = frozenset({"create", "update"})


def is_own_message(row: dict[str, object], user_id: str) -> bool:
    """Whether a row or feed item is a message the member wrote (so its id names their message)."""
    return (
        row.get("user_id") == user_id
        and row.get("category") == "message"
        and row.get("action") in OWN_MESSAGE_ACTIONS
        and isinstance(row.get("message_id"), str)
    )


@dataclass
class Plan:
    days: list[date]
    message_ids: set[str] = field(default_factory=set)
    from_hot: int = 0
    from_archive: int = 0


def plan_days(
    hot_items: Iterable[dict[str, object]],
    guild_id: str,
    user_id: str,
    *,
    archive_days: DayFinder | None = None,
    extra_days: Iterable[date] = (),
) -> Plan:
    """The days to rewrite: those of the member's hot events, the archive's answer, and any given."""
    hot_days: set[date] = set()
    message_ids: set[str] = set()
    for item in hot_items:
        occurred = item.get("occurred_at")
        if isinstance(occurred, str) and len(occurred) >= 10:
            hot_days.add(partition_day(occurred))
        if is_own_message(item, user_id):
            message_ids.add(str(item["message_id"]))
    found = set(archive_days(guild_id, user_id)) if archive_days is not None else set()
    days = sorted(hot_days | found | set(extra_days))
    return Plan(days=days, message_ids=message_ids, from_hot=len(hot_days), from_archive=len(found - hot_days))
