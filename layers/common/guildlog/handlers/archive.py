"""ArchiveFunction's path: an SQS batch of archive hand-offs → one object per dataset and day → what to redeliver."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from guildlog.errors import GuildlogError
from guildlog.services.archive_batches import ArchiveWriter, Hold, WriteReport


@lru_cache(maxsize=1)
def default_writer() -> ArchiveWriter:
    """The composition root: built on the first batch of a container, never at import time."""
    from aws_lambda_powertools import Logger

    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.handlers.settings import Settings

    logger = Logger()

    def on_error(where: str, exc: GuildlogError) -> None:
        # The object or record and the error's fields (a key, an error class), never the lines.
        logger.warning("archive write failed", extra={"where": where, "error": type(exc).__name__, **exc.fields})

    settings = Settings.from_env()
    hold = None
    if settings.archive_hold_minutes and settings.archive_queue_url:
        from guildlog.adapters.archive_queue import ArchiveQueue

        hold = Hold(settings.archive_hold_minutes * 60.0, ArchiveQueue(settings.archive_queue_url).send)
    from guildlog.adapters.dynamodb_store import DynamoStore

    return ArchiveWriter(
        S3Archive(settings.bucket_name),
        on_error=on_error,
        hold=hold,
        tombstones=_tombstones(settings.table_name),
        # Small batches' counter deltas ride their hand-off (services/counter_windows.py).
        counters=DynamoStore(settings.table_name).put_items,
    )


def _tombstones(table_name: str) -> Callable[[set[str]], dict[str, frozenset[str]]]:
    """The guilds' erased members, read like ingest reads them (one Query per guild per minute)."""
    from guildlog.adapters.erasure_store import ErasureStore
    from guildlog.services.erasure.tombstones import TombstoneCache

    store, cache = ErasureStore(table_name), TombstoneCache()
    return lambda guilds: cache.get_many(guilds, store.tombstones)


def records_of(event: Any) -> list[tuple[str, str]]:
    """(message id, body) of each record of an SQS event, in order."""
    records = []
    for record in (event or {}).get("Records") or []:
        if isinstance(record, dict):
            records.append((str(record.get("messageId") or ""), str(record.get("body") or "")))
    return records


def sent_times(event: Any) -> dict[str, float]:
    """When SQS first received each record (its `SentTimestamp` attribute, ms), by message id."""
    times: dict[str, float] = {}
    for record in (event or {}).get("Records") or []:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            continue
        sent = str(record["attributes"].get("SentTimestamp") or "")
        if sent.isdigit():
            times[str(record.get("messageId") or "")] = int(sent) / 1000
    return times


def handle_batch(
    event: Any, writer: ArchiveWriter | None = None, on_settings_error: Callable[[GuildlogError], None] | None = None
) -> tuple[dict[str, Any], WriteReport]:
    """Write the batch; the partial-batch answer Lambda expects (`batchItemFailures`), and what happened."""
    records = records_of(event)
    try:
        report = (writer or default_writer()).write(records, sent_times(event))
    except GuildlogError as exc:
        # Nothing could be written (no settings): every record goes round again.
        if on_settings_error is not None:
            on_settings_error(exc)
        report = WriteReport(failed=[record_id for record_id, _ in records])
    return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in report.failed]}, report
