"""ArchiveFunction: SQS batches of ingest's archive hand-offs. Thin: write the objects, report what to redeliver."""

from __future__ import annotations

from typing import Any

from guildlog.errors import GuildlogError
from guildlog.handlers.archive import handle_batch
from guildlog.observability import Observability

observe = Observability()


def _no_settings(exc: GuildlogError) -> None:
    observe.logger.error("archive batch not written", extra={"error": type(exc).__name__, **exc.fields})


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer, report = handle_batch(event, on_settings_error=_no_settings)
    observe.logger.info(
        "archive batch",
        extra={
            "batches": report.batches,
            "objects": report.objects,
            "lines": report.lines,
            "held": report.held,
            "redacted": report.redacted,
            "failed": len(report.failed),
            "malformed": len(report.malformed),
        },
    )
    observe.count("ArchiveObjectsWritten", report.objects)
    observe.count("ArchiveBatchesWritten", report.batches)
    observe.count("ArchiveRecordsRetried", len(report.failed))
    observe.count("ArchiveBatchesHeld", report.held)
    return answer
