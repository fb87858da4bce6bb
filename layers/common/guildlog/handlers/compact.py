"""CompactFunction's request path: which days to compact, then the compactor over S3."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from guildlog.errors import ConfigurationError
from guildlog.handlers.settings import Settings
from guildlog.services import keys
from guildlog.services.compaction import CompactionResult, Compactor
from guildlog.services.copy_retention import CopyExpiry, expire_copies
from guildlog.services.partition import DATASETS
from guildlog.services.retention import RetentionRules, rules_from_configs
from guildlog.services.timefmt import iso, utcnow

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
    event: dict[str, Any], compactor: Compactor, retention: RetentionSource | None = None
) -> list[CompactionResult]:
    """Compact the event's days; with `retention`, also apply each guild's archive retention to them and
    to the days that went past a limit (services/retention.py), and sweep every past day once when the
    rules changed since the last sweep."""
    days = days_to_compact(event)
    if retention is None:
        return [result for day in days for result in compactor.compact_day(day, DATASETS)]
    rules = retention.rules(night_of(event))
    manual = isinstance(event, dict) and bool(event.get("day"))
    sweep: set[date] = set(days) if manual else set()
    fingerprint = rules.fingerprint()
    if not manual:
        days = sorted(set(days) | set(rules.days_to_visit()))
        if retention.swept() != fingerprint:
            sweep = set(compactor.partition_days(before=rules.oldest_kept()))
    results: list[CompactionResult] = []
    for day in sorted(set(days) | sweep):
        results.extend(compactor.compact_day(day, DATASETS, rules, force=day in sweep))
    if sweep and not manual and not any(r.state in ("refused", "lost_race") for r in results):
        retention.record_sweep(fingerprint)
    return results


def expire_copies_tonight(event: dict[str, Any], retention: RetentionSource, objects: Any) -> CopyExpiry:
    """The night's retention for exports and attachment copies (services/copy_retention.py), under the
    same rules as the archive's lines. A manual run for one day (`{"day": …}`) leaves the copies alone."""
    if isinstance(event, dict) and event.get("day"):
        return CopyExpiry()
    return expire_copies(objects, retention.rules(night_of(event)))


@lru_cache(maxsize=1)
def default_copies() -> Any:
    """The archive bucket's versions, for deleting expired copies: built on first use, never at import time."""
    from guildlog.adapters.s3_rewrite import S3VersionedObjects

    return S3VersionedObjects(Settings.from_env().bucket_name)


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


class RetentionSource(Protocol):
    def rules(self, today: date) -> RetentionRules: ...
    def swept(self) -> str | None:
        """The fingerprint of the rules the archive was last swept under."""
        ...

    def record_sweep(self, fingerprint: str) -> None: ...


class TableRetention:
    """The rules from the hot table (the archive retention index) and the sweep record (`ARCHIVE#SWEEP`)."""

    def __init__(self, reader: Any, store: Any, *, default_days: int, max_days: int) -> None:
        self.reader = reader
        self.store = store
        self.default_days = default_days
        self.max_days = max_days

    def rules(self, today: date) -> RetentionRules:
        return load_rules(self.reader, today, default_days=self.default_days, max_days=self.max_days)

    def swept(self) -> str | None:
        item = self.reader.get(keys.ARCHIVE_SWEEP_PK, keys.ARCHIVE_SWEEP_SK)
        return str(item["fingerprint"]) if item and item.get("fingerprint") else None

    def record_sweep(self, fingerprint: str) -> None:
        item = {"PK": keys.ARCHIVE_SWEEP_PK, "SK": keys.ARCHIVE_SWEEP_SK, "fingerprint": fingerprint}
        self.store.put_items([{**item, "swept_at": iso(utcnow())}])


@lru_cache(maxsize=1)
def default_retention() -> TableRetention:
    """The retention source over the hot table: built on first use, never at import time."""
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.hot_reader import HotReader

    settings = Settings.from_env()
    return TableRetention(
        HotReader(settings.table_name),
        DynamoStore(settings.table_name),
        default_days=settings.retention_days,
        max_days=settings.archive_max_retention_days,
    )
