"""IngestFunction: POST /gateway/events from the relay (protocol v1). Thin: verify, ingest, answer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guildlog.errors import GuildlogError
from guildlog.handlers.http import error_body, json_response, status_for
from guildlog.handlers.ingest import default_ingestor, handle_gateway_events

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings, ingestor = default_ingestor()
        result = handle_gateway_events(event, settings, ingestor)
    except GuildlogError as exc:
        status = status_for(exc)
        # Structured fields only: no body, no content, no signature in the log line.
        logger.warning("ingest refused", extra={"status": status, "error": exc.message, **_safe(exc.fields)})
        metrics.add_metric(name=f"Rejected{status}", unit=MetricUnit.Count, value=1)
        return json_response(status, error_body(exc))
    logger.info("ingest batch", extra=result.answer() | {"objects": result.objects})
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=result.accepted)
    metrics.add_metric(name="EventsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    metrics.add_metric(name="EventsQuarantined", unit=MetricUnit.Count, value=result.quarantined)
    return json_response(200, result.answer())


def _safe(fields: dict[str, object]) -> dict[str, object]:
    return {
        k: v
        for k, v in fields.items()
        if k in ("problems", "limit", "field", "error", "key", "unprocessed", "variables")
    }
