"""WorkerFunction: async invokes from InteractionsFunction. Thin: finish the deferred answer, log the command."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guildlog.handlers.worker import handle_job

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A StorageError propagates: Lambda retries the invoke, and the log write is idempotent.
    outcome = handle_job(event)
    logger.info("worker job", extra={"followup": outcome.followup, "logged": outcome.logged})
    metrics.add_metric(name="CommandsLogged", unit=MetricUnit.Count, value=1)
    if outcome.followup != "none":
        metrics.add_metric(name=f"Followup{outcome.followup.capitalize()}", unit=MetricUnit.Count, value=1)
    return {"followup": outcome.followup, "logged": outcome.logged}
