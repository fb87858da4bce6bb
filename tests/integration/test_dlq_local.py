"""`guildlog dlq list|replay --local`: a worker job that keeps failing lands in the local stack's
dead-letter queue, is listed without being removed, and a replay runs the worker again."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog_tools.local.lambda_api import failure_record
from guildlog_tools.local.stack import LocalStack
from tests.fakes import interactions as fx

pytestmark = pytest.mark.integration

# An upper bound for the async invocations to finish on a busy machine; never reached when things work.
DRAIN_S = 120.0


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        yield running


def dlq(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process, as an operator runs it beside `guildlog dev` (through dev.json)."""
    command = [sys.executable, "-m", "guildlog_tools.cli", "dlq", *args, "--local", "--dev-file", str(stack.dev_file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def listed(stack: LocalStack) -> dict[str, list[dict[str, Any]]]:
    done = dlq(stack, "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def worker_queue(stack: LocalStack) -> str:
    return stack.dead_letter_queues["WorkerDeadLetterQueueUrl"]


def valid_job() -> dict[str, Any]:
    job = {"v": 1, "interaction": fx.command("logs", "status"), "received_at": "2026-11-20T00:00:00Z"}
    job["interaction"].pop("token")
    return job


# Powertools warns when a failed run published no metric; pytest would make that warning the run's error.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_dlq_list_shows_a_worker_job_when_its_retries_ran_out(stack: LocalStack) -> None:
    assert stack.lambda_api is not None
    stack.lambda_api.submit("WorkerFunction", json.dumps({"v": 99}).encode())
    assert stack.lambda_api.drain(DRAIN_S)

    [letter] = listed(stack)["WorkerDeadLetterQueue"]

    assert (letter["function"], letter["attempts"]) == ("WorkerFunction", 3)
    assert "ValidationError" in letter["error"]
    assert listed(stack)["WorkerDeadLetterQueue"] == [letter], "listing must leave the message in place"


def test_dlq_replay_runs_the_worker_and_empties_the_queue_when_the_job_now_succeeds(stack: LocalStack) -> None:
    assert stack.lambda_api is not None
    job = valid_job()
    record = failure_record("WorkerFunction", "req-1", job, 3, RuntimeError("DynamoDB was throttled"))
    stack.client("sqs").send_message(QueueUrl=worker_queue(stack), MessageBody=json.dumps(record))

    done = dlq(stack, "replay", "--queue", "worker")
    assert stack.lambda_api.drain(DRAIN_S)

    assert done.returncode == 0 and "replayed: 1, left in the queues: 0" in done.stdout
    assert listed(stack)["WorkerDeadLetterQueue"] == []
    logged = stack.client("dynamodb").query(
        TableName=stack.table,
        IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"G#{fx.GUILD}#K#command"}},
    )["Items"]
    assert f"interaction:{job['interaction']['id']}" in {item["event_id"]["S"] for item in logged}


def test_dlq_replay_leaves_a_message_and_exits_1_when_it_cannot_be_understood(stack: LocalStack) -> None:
    stack.client("sqs").send_message(QueueUrl=worker_queue(stack), MessageBody="not json")

    done = dlq(stack, "replay")

    assert done.returncode == 1 and "left: the body is not JSON" in done.stdout
    [letter] = listed(stack)["WorkerDeadLetterQueue"]
    assert letter["problem"] == "the body is not JSON"


def test_dlq_dry_run_replays_nothing_when_asked_what_it_would_do(stack: LocalStack) -> None:
    record = failure_record("WorkerFunction", "req-1", valid_job(), 3, RuntimeError("x"))
    stack.client("sqs").send_message(QueueUrl=worker_queue(stack), MessageBody=json.dumps(record))

    done = dlq(stack, "replay", "--dry-run")

    assert done.returncode == 0 and "would replay: 1" in done.stdout
    assert len(listed(stack)["WorkerDeadLetterQueue"]) == 1


def test_dlq_says_which_queues_exist_when_the_queue_name_matches_none(stack: LocalStack) -> None:
    done = dlq(stack, "list", "--queue", "nope")

    assert done.returncode == 1
    queues = (
        "ArchiveDeadLetterQueue, AttachmentCopyDeadLetterQueue, CompactDeadLetterQueue, ForgetDeadLetterQueue,"
        " GapRepairDeadLetterQueue, NotifyDeadLetterQueue, WorkerDeadLetterQueue"
    )
    assert f"there are: {queues}" in done.stderr
