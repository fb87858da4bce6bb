"""ArchiveFunction's path: an SQS batch of archive hand-offs → one object per dataset and day → what to redeliver."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from guildlog.errors import GuildlogError
from guildlog.services.archive_batches import ArchiveWriter, WriteReport


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
    return ArchiveWriter(S3Archive(settings.bucket_name), on_error=on_error)


def records_of(event: Any) -> list[tuple[str, str]]:
    """(message id, body) of each record of an SQS event, in order."""
    records = []
    for record in (event or {}).get("Records") or []:
        if isinstance(record, dict):
            records.append((str(record.get("messageId") or ""), str(record.get("body") or "")))
    return records


def handle_batch(
    event: Any, writer: ArchiveWriter | None = None, on_settings_error: Callable[[GuildlogError], None] | None = None
) -> tuple[dict[str, Any], WriteReport]:
    """Write the batch; the partial-batch answer Lambda expects (`batchItemFailures`), and what happened."""
    records = records_of(event)
    try:
        report = (writer or default_writer()).write(records)
    except GuildlogError as exc:
        # Nothing could be written (no settings): every record goes round again.
        if on_settings_error is not None:
            on_settings_error(exc)
        report = WriteReport(failed=[record_id for record_id, _ in records])
    return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in report.failed]}, report
