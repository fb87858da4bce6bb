"""AttachmentCopyFunction's path: an SQS batch of copy jobs → copies and records → the records to redeliver."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from guildlog.errors import AttachmentCopyError, GuildlogError
from guildlog.services.attachments import CopyJob, CopyRecords, CopyStore, Fetcher, copy

log = logging.getLogger(__name__)


@dataclass
class CopyReport:
    copied: int = 0
    failed: int = 0  # recorded as could-not-be-copied
    retried: list[str] = field(default_factory=list)
    bad: int = 0


@lru_cache(maxsize=1)
def default_copier() -> tuple[Fetcher, CopyStore, CopyRecords, str]:
    """The composition root: built on the first batch of a container, never at import time."""
    from guildlog.adapters.cdn_fetch import CdnFetcher
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_attachments import S3AttachmentStore
    from guildlog.handlers.settings import Settings

    settings = Settings.from_env()
    stores = S3AttachmentStore(settings.bucket_name), DynamoStore(settings.table_name)
    return CdnFetcher(), *stores, settings.discord_cdn_base


def handle_batch(
    event: Any,
    copier: tuple[Fetcher, CopyStore, CopyRecords, str] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[dict[str, Any], CopyReport]:
    """Copy each job; the partial-batch answer Lambda expects (`batchItemFailures`), and what happened.

    A job that failed but may succeed later is redelivered by SQS; at its last attempt the failure
    is recorded instead. A record that is not a copy job can never succeed: logged, not retried.
    """
    fetcher, store, records, cdn_base = copier or default_copier()
    report = CopyReport()
    for record in (event or {}).get("Records") or []:
        record_id = str(record.get("messageId") or "")
        try:
            job = CopyJob.model_validate(json.loads(record.get("body") or ""))
        except (ValueError, ValidationError):
            log.error("not an attachment copy job", extra={"message_id": record_id})
            report.bad += 1
            continue
        attempt = _receive_count(record)
        try:
            outcome = copy(job, fetcher, store, records, attempt=attempt, now=clock(), cdn_base=cdn_base)
        except AttachmentCopyError as exc:
            log.warning("attachment copy will be retried", extra={"attempt": attempt, **_safe(exc)})
            report.retried.append(record_id)
            continue
        except GuildlogError as exc:  # S3 or DynamoDB refused: retried, then the dead-letter queue
            log.error("attachment copy not stored", extra={"error": exc.message})
            report.retried.append(record_id)
            continue
        if outcome.status == "copied":
            report.copied += 1
        else:
            report.failed += 1
    return {"batchItemFailures": [{"itemIdentifier": r} for r in report.retried]}, report


def _receive_count(record: dict[str, Any]) -> int:
    value = str((record.get("attributes") or {}).get("ApproximateReceiveCount") or "1")
    return int(value) if value.isascii() and value.isdigit() else 1


def _safe(exc: GuildlogError) -> dict[str, object]:
    return {k: v for k, v in exc.fields.items() if k in ("status", "error")}
