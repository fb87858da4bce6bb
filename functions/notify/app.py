"""NotifyFunction: SQS batches from IngestFunction. Thin: post the moderation log, report what to redeliver."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.notify import handle_batch
from guildlog.observability import Observability

observe = Observability()


def _bad(record_id: str, reason: str) -> None:
    observe.logger.error("not a log message", extra={"message_id": record_id, "reason": reason})


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer, report = handle_batch(event, on_bad=_bad)
    # Structured counts only: never content, names or tokens.
    observe.logger.info(
        "log batch",
        extra={
            "posted": report.posted_events,
            "messages": report.messages,
            "skipped": report.skipped,
            "failed": len(report.failed),
            "stopped_channels": report.stopped_channels,
        },
    )
    observe.count("LogEventsPosted", report.posted_events)
    observe.count("LogMessagesSent", report.messages)
    observe.count("LogRecordsRetried", len(report.failed))
    if report.stopped_channels:
        observe.count("LogChannelsStopped", len(report.stopped_channels))
    return answer
