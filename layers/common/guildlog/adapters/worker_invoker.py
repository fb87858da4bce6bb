"""Starting WorkerFunction without waiting for it: Lambda's asynchronous invoke (InvocationType Event).

Lambda queues the job and retries a failed run twice. Locally, `guildlog dev` points Lambda's
endpoint (`AWS_ENDPOINT_URL_LAMBDA`) at its own loopback Invoke API, which runs the worker's
handler in a background thread of the same process (guildlog_tools.local.lambda_api): this adapter is
the same in both places.
"""

from __future__ import annotations

import json
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ConfigurationError, StorageError
from guildlog.models.worker_job import WorkerJob

# Lambda's limit for an asynchronous invoke's payload.
MAX_EVENT_BYTES = 256 * 1024


class LambdaWorkerInvoker:
    """`client` is a boto3 Lambda client (injected, or built lazily)."""

    def __init__(self, function_name: str, client: Any = None) -> None:
        if not function_name:
            raise ConfigurationError("the worker function is not configured", variables=["GUILDLOG_WORKER_FUNCTION"])
        self.function_name = function_name
        self._client = client

    client = BotoClient("lambda")

    def invoke(self, job: WorkerJob) -> None:
        payload = job.model_dump_json().encode("utf-8")
        if len(payload) > MAX_EVENT_BYTES:
            raise StorageError("the job is over Lambda's async payload limit", limit=MAX_EVENT_BYTES)
        try:
            answer = self.client.invoke(FunctionName=self.function_name, InvocationType="Event", Payload=payload)
        except Exception as exc:
            raise StorageError("Lambda refused the worker invoke", error=type(exc).__name__) from exc
        status = int(answer.get("StatusCode", 0))
        if status != 202:
            raise StorageError("Lambda did not queue the worker invoke", status=status)


def job_from_event(event: Any) -> WorkerJob:
    """The job in a worker invocation's event (a dict, or its JSON text)."""
    if isinstance(event, str | bytes):
        event = json.loads(event)
    return WorkerJob.model_validate(event)
