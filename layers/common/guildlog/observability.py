"""Logging, metrics and tracing of a Lambda function: the one place they are set up.

Every function logs with Powertools' Logger and counts with its Metrics (EMF, no API calls).
Tracing has two levels. `Tracing: Active` in the template gives each invocation its X-Ray segment
with no code at all. Subsegments for each AWS call need Powertools' Tracer, which imports the X-Ray
SDK and botocore at module import — about twice the time of `import boto3`, paid on every cold
start. So the Tracer is imported only when `GUILDLOG_DETAILED_TRACING` is true (the stack's
`DetailedTracing` parameter) and `POWERTOOLS_TRACE_DISABLED` is not.

`instrument(handler)` applies the decorators in Powertools' documented order:
inject_lambda_context → capture_lambda_handler → log_metrics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

DETAILED_TRACING_VARIABLE = "GUILDLOG_DETAILED_TRACING"
_TRUE = ("1", "true", "yes", "on")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def detailed_tracing(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this function records X-Ray subsegments (and so imports the Tracer)."""
    env = os.environ if environ is None else environ
    wanted = env.get(DETAILED_TRACING_VARIABLE, "").strip().lower() in _TRUE
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE
    return wanted and not disabled


class Observability:
    """A function's Logger and Metrics, and its Tracer when detailed tracing is on."""

    def __init__(self, *, metrics: bool = True, environ: Mapping[str, str] | None = None) -> None:
        self.logger = Logger()
        self.metrics: Metrics | None = Metrics() if metrics else None
        self.tracer: Any = None
        if detailed_tracing(environ):
            from aws_lambda_powertools import Tracer

            self.tracer = Tracer()

    def count(self, name: str, value: float = 1) -> None:
        """Add a Count metric to this invocation's EMF blob (nothing when the function has no metrics)."""
        if self.metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit

            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def instrument(self, handler: Handler) -> Handler:
        wrapped: Any = handler
        if self.metrics is not None:
            wrapped = self.metrics.log_metrics(raise_on_empty_metrics=False)(wrapped)
        if self.tracer is not None:
            wrapped = self.tracer.capture_lambda_handler(wrapped)
        wrapped = self.logger.inject_lambda_context(clear_state=True)(wrapped)
        return wrapped
