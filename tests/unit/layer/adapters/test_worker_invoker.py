"""guildlog.adapters.worker_invoker: an asynchronous invoke of the worker, and the job it carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.adapters.worker_invoker import MAX_EVENT_BYTES, LambdaWorkerInvoker, job_from_event
from guildlog.errors import ConfigurationError, StorageError
from guildlog.models.worker_job import WorkerJob


class FakeLambda:
    def __init__(self, status: int = 202, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = status
        self.error = error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"StatusCode": self.status}


JOB = WorkerJob(
    interaction={"id": "1", "type": 2}, token="t", followup=True, received_at=datetime(2026, 11, 20, tzinfo=UTC)
)


def test_invoke_queues_an_event_for_the_worker_when_called() -> None:
    client = FakeLambda()

    LambdaWorkerInvoker("guildlog-WorkerFunction-abc", client).invoke(JOB)

    [call] = client.calls
    assert (call["FunctionName"], call["InvocationType"]) == ("guildlog-WorkerFunction-abc", "Event")
    assert job_from_event(json.loads(call["Payload"])) == JOB


@pytest.mark.parametrize("client", [FakeLambda(status=200), FakeLambda(error=RuntimeError("throttled"))])
def test_invoke_raises_when_lambda_does_not_queue_the_event(client: FakeLambda) -> None:
    with pytest.raises(StorageError):
        LambdaWorkerInvoker("worker", client).invoke(JOB)


def test_invoke_refuses_when_the_job_is_over_lambdas_async_limit() -> None:
    big = JOB.model_copy(update={"interaction": {"id": "1", "blob": "x" * MAX_EVENT_BYTES}})
    client = FakeLambda()

    with pytest.raises(StorageError, match="limit"):
        LambdaWorkerInvoker("worker", client).invoke(big)
    assert client.calls == []


def test_invoker_refuses_to_start_when_no_worker_is_configured() -> None:
    with pytest.raises(ConfigurationError):
        LambdaWorkerInvoker("")


def test_job_from_event_reads_json_text_when_the_event_is_a_string() -> None:
    assert job_from_event(JOB.model_dump_json()) == JOB
