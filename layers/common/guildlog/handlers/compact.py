"""CompactFunction's request path: which days to compact, then the compactor over S3."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from guildlog.errors import ConfigurationError
from guildlog.handlers.settings import Settings
from guildlog.services.compaction import CompactionResult, Compactor
from guildlog.services.partition import DATASETS

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


def handle_compaction(event: dict[str, Any], compactor: Compactor) -> list[CompactionResult]:
    results: list[CompactionResult] = []
    for day in days_to_compact(event):
        results.extend(compactor.compact_day(day, DATASETS))
    return results
