"""CompactFunction's request path: which days to compact, then the compactor over S3."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from guildlog.errors import ConfigurationError
from guildlog.handlers.settings import Settings
from guildlog.services import keys
from guildlog.services.compaction import CompactionResult, Compactor
from guildlog.services.partition import DATASETS
from guildlog.services.retention import RetentionRules, rules_from_configs
from guildlog.services.timefmt import utcnow

# Besides the previous day, the two before it: a relay that spooled through an outage delivers
# late, and compacting a day with nothing new costs one listing per dataset.
LATE_DAYS = 2


@lru_cache(maxsize=1)
def default_compactor() -> Compactor:
    """The composition root: built on the first invocation of a container, never at import time."""
    from guildlog.adapters.s3_compaction import S3CompactionStore

    settings = Settings.from_env()
    return Compactor(S3CompactionStore(settings.bucket_name))


def days_to_compact(event: dict[str, Any]) -> list[date]:
    """`{"day": "YYYY-MM-DD"}` (a manual run) → that day; a scheduled event → the days before its time."""
    if isinstance(event, dict) and event.get("day"):
        try:
            return [date.fromisoformat(str(event["day"]))]
        except ValueError:
            raise ConfigurationError("day must be YYYY-MM-DD", day=str(event["day"])) from None
    moment = event.get("time") if isinstance(event, dict) else None
    if not isinstance(moment, str):
        raise ConfigurationError("the event names no day and no time")
    today = datetime.fromisoformat(moment.replace("Z", "+00:00")).date()
    return [today - timedelta(days=back) for back in range(1 + LATE_DAYS, 0, -1)]


def handle_compaction(
    event: dict[str, Any], compactor: Compactor, retention: Callable[[date], RetentionRules] | None = None
) -> list[CompactionResult]:
    """Compact the event's days; with `retention` (today → the rules in force), also apply each guild's
    archive retention to them and to the days that went past a limit (services/retention.py)."""
    days = days_to_compact(event)
    rules = retention(night_of(event)) if retention is not None else None
    if rules is not None and not (isinstance(event, dict) and event.get("day")):
        days = sorted(set(days) | set(rules.days_to_visit()))
    results: list[CompactionResult] = []
    for day in days:
        results.extend(compactor.compact_day(day, DATASETS, rules))
    return results


# --- archive retention ---
class IndexReader(Protocol):
    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_from: str | None = None,
        sk_to: str | None = None,
        newest_first: bool = True,
        limit: int = 100,
        start_key: Any = None,
    ) -> Any: ...


def night_of(event: dict[str, Any]) -> date:
    """The night a run stands for: a scheduled event's day, else today (a manual run)."""
    moment = event.get("time") if isinstance(event, dict) else None
    if isinstance(moment, str):
        return datetime.fromisoformat(moment.replace("Z", "+00:00")).date()
    return utcnow().date()


def load_rules(reader: IndexReader, today: date, *, default_days: int, max_days: int) -> RetentionRules:
    """The retention in force: the guilds in the archive retention index (one Query, paged), the rest default."""
    items: list[dict[str, Any]] = []
    start_key = None
    while True:
        page = reader.query(
            keys.ARCHIVE_RETENTION_INDEX_PK, index="GSI3", newest_first=False, limit=1000, start_key=start_key
        )
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            return rules_from_configs(today, items, default_days=default_days, max_days=max_days)


@lru_cache(maxsize=1)
def default_retention() -> Callable[[date], RetentionRules]:
    """The rules loader over the hot table: built on first use, never at import time."""
    from guildlog.adapters.hot_reader import HotReader

    settings = Settings.from_env()
    reader = HotReader(settings.table_name)

    def rules(today: date) -> RetentionRules:
        return load_rules(
            reader, today, default_days=settings.retention_days, max_days=settings.archive_max_retention_days
        )

    return rules
