"""NotifyFunction: SQS batches from IngestFunction. Thin: post the moderation log, report what to redeliver."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guildlog.handlers.notify import handle_batch

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _bad(record_id: str, reason: str) -> None:
    logger.error("not a log message", extra={"message_id": record_id, "reason": reason})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer, report = handle_batch(event, on_bad=_bad)
    # Structured counts only: never content, names or tokens.
    logger.info(
        "log batch",
        extra={
            "posted": report.posted_events,
            "messages": report.messages,
            "skipped": report.skipped,
            "failed": len(report.failed),
            "stopped_channels": report.stopped_channels,
        },
    )
    metrics.add_metric(name="LogEventsPosted", unit=MetricUnit.Count, value=report.posted_events)
    metrics.add_metric(name="LogMessagesSent", unit=MetricUnit.Count, value=report.messages)
    metrics.add_metric(name="LogRecordsRetried", unit=MetricUnit.Count, value=len(report.failed))
    if report.stopped_channels:
        metrics.add_metric(name="LogChannelsStopped", unit=MetricUnit.Count, value=len(report.stopped_channels))
    return answer
