"""CompactFunction: daily, merges each dataset's per-batch objects of the previous days into one object."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from guildlog.handlers.compact import default_compactor, handle_compaction

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = handle_compaction(event, default_compactor())
    for result in results:
        if result.state != "nothing_to_do":
            logger.info("compaction", extra=result.as_dict())
    compacted = [r for r in results if r.state == "compacted"]
    metrics.add_metric(name="PartitionsCompacted", unit=MetricUnit.Count, value=len(compacted))
    metrics.add_metric(name="ObjectsMerged", unit=MetricUnit.Count, value=sum(r.inputs for r in compacted))
    metrics.add_metric(name="DuplicatesRemoved", unit=MetricUnit.Count, value=sum(r.duplicates for r in compacted))
    metrics.add_metric(
        name="CompactionRacesLost", unit=MetricUnit.Count, value=sum(1 for r in results if r.state == "lost_race")
    )
    refused = [r for r in results if r.state == "refused"]
    for result in refused:
        logger.error("compaction refused", extra=result.as_dict())
    return {"compacted": len(compacted), "refused": len(refused), "results": [r.as_dict() for r in results]}
