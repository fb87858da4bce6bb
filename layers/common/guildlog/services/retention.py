"""Archive retention: which lines of a partition day have outlived their guild's retention, and what
becomes of them.

A guild's `retention_days` (`/logs config retention`) holds for the archive too. The nightly job
(handlers/compact.py) visits the days that crossed some guild's limit since the last nights, and the
compactor rewrites each visited day once, in the same pass that merges its batch objects: a line of
a guild whose limit the day has passed is deleted (`everything`, the default) or cut to its facts
(`content-only`, services/archive_rewrite.py). The stack's `ArchiveMaxRetentionDays` caps every
guild, and applies to lines of no guild; S3 lifecycle rules on the same prefixes are the backstop.

A day D is past a limit of N days on the night of D + N + 1: its last event is then N days old.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from guildlog.models.config import DEFAULT_RETENTION_DAYS
from guildlog.services import archive_rewrite

Verdict = Literal["keep", "strip", "drop"]
Mode = Literal["content-only", "everything"]
DEFAULT_MODE: Mode = "everything"
# Nights a missed run is caught up over: a day past a limit is visited on this many nights after it.
CATCH_UP_NIGHTS = 3


@dataclass(frozen=True)
class GuildRetention:
    days: int
    mode: Mode = DEFAULT_MODE


@dataclass(frozen=True)
class RetentionRules:
    """The retention in force on the night of `today`: per guild (the ones that chose), else the default."""

    today: date
    max_days: int
    default_days: int = DEFAULT_RETENTION_DAYS
    default_mode: Mode = DEFAULT_MODE
    guilds: dict[str, GuildRetention] = field(default_factory=dict)

    def limit(self, guild_id: str | None) -> GuildRetention:
        if guild_id is None:
            return GuildRetention(self.max_days, "everything")
        chosen = self.guilds.get(guild_id) or GuildRetention(self.default_days, self.default_mode)
        return GuildRetention(min(chosen.days, self.max_days), chosen.mode)

    def verdict(self, guild_id: str | None, day: date) -> Verdict:
        limit = self.limit(guild_id)
        if day >= self.today - timedelta(days=limit.days):
            return "keep"
        return "strip" if limit.mode == "content-only" else "drop"

    def oldest_kept(self) -> date:
        """No guild keeps anything whole before this day: a day before it is past every limit in force."""
        shortest = min([self.default_days, *(g.days for g in self.guilds.values())])
        return self.today - timedelta(days=min(shortest, self.max_days))

    def fingerprint(self) -> str:
        """The rules apart from the night: when they change, every past day is swept once (a limit
        lowered, a guild switched to content-only, or the first night of this feature)."""
        chosen = sorted((g, r.days, r.mode) for g, r in self.guilds.items())
        text = json.dumps([self.max_days, self.default_days, self.default_mode, chosen], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def due_night(self, day: date) -> date | None:
        """The latest night (up to today) on which `day` went past a limit in force; None if it has not."""
        crossed = [day + timedelta(days=days + 1) for days in self._limits()]
        passed = [night for night in crossed if night <= self.today]
        return max(passed) if passed else None

    def _limits(self) -> set[int]:
        chosen = (self.default_days, self.max_days, *(g.days for g in self.guilds.values()))
        return {min(days, self.max_days) for days in chosen}

    def days_to_visit(self) -> list[date]:
        """The days that went past some limit in the last CATCH_UP_NIGHTS nights, oldest first."""
        limits = self._limits()
        found = {self.today - timedelta(days=days + 1 + back) for days in limits for back in range(CATCH_UP_NIGHTS)}
        return sorted(found)


class LineRetention:
    """Applies RetentionRules to the lines of one dataset's partition day; counts what it changed."""

    def __init__(self, rules: RetentionRules, dataset: str, day: date) -> None:
        self.rules = rules
        self.dataset = dataset
        self.day = day
        self.removed = 0
        self.stripped = 0

    @property
    def changed(self) -> int:
        return self.removed + self.stripped

    def apply(self, line: str) -> str | None:
        """The line to keep (itself, or cut to its facts), or None to delete it."""
        is_csv = self.dataset == "events_csv"
        try:
            if is_csv:
                fields = archive_rewrite.csv_fields(line)
                index = archive_rewrite._CSV_INDEX["guild_id"]
                guild_id = fields[index] if index < len(fields) and fields[index] else None
                parsed = None
            else:
                parsed = json.loads(line)
                guild_id = _guild_of(parsed, self.dataset)
        except (ValueError, AttributeError):
            # Unreadable lines stay as they are: the lifecycle rule ends them at the stack's maximum.
            return line
        verdict = self.rules.verdict(guild_id, self.day)
        if verdict == "keep":
            return line
        if verdict == "drop":
            self.removed += 1
            return None
        if is_csv or not isinstance(parsed, dict):
            stripped = archive_rewrite.strip_csv_line(line) if is_csv else line
        elif self.dataset == "events":
            stripped = archive_rewrite.dumps(archive_rewrite.strip_row(parsed))
        else:
            stripped = archive_rewrite.dumps(archive_rewrite.strip_raw_line(parsed))
        if stripped != line:
            self.stripped += 1
        return stripped


def _guild_of(parsed: object, dataset: str) -> str | None:
    if not isinstance(parsed, dict):
        return None
    if dataset == "events":
        value = parsed.get("guild_id")
    else:
        event = parsed.get("event")
        data = event.get("d") if isinstance(event, dict) else None
        value = data.get("guild_id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


def rules_from_configs(
    today: date, configs: Iterable[dict[str, object]], *, default_days: int, max_days: int
) -> RetentionRules:
    """RetentionRules from the config items of the guilds that chose (the archive retention index)."""
    guilds: dict[str, GuildRetention] = {}
    for item in configs:
        guild_id = str(item.get("guild_id") or str(item.get("PK", ""))[2:])
        days = item.get("retention_days")
        if not guild_id or not isinstance(days, int | float) or isinstance(days, bool):
            continue
        mode: Mode = "content-only" if item.get("archive_mode") == "content-only" else "everything"
        guilds[guild_id] = GuildRetention(max(1, int(days)), mode)
    return RetentionRules(today=today, max_days=max_days, default_days=default_days, guilds=guilds)
