"""When ArchiveFunction keeps failing, the accepted batch waits in ArchiveDeadLetterQueue and `guildlog dlq replay`
queues it again: the raw archive ends up holding it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guildlog_tools.local.stack import LocalStack
from tests.integration.test_archive_local import archived_ids, batch, message_id
from tests.integration.test_dlq_local import dlq, listed
from tests.integration.test_local_stack import post, signed_headers

pytestmark = pytest.mark.integration

PATIENCE_S = 120.0  # an upper bound on a busy machine, never a wait


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "state" / "dev.json") as running:
        yield running


def wait_for(condition: object, what: str) -> None:
    ends = time.monotonic() + PATIENCE_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < ends, f"{what} did not happen within {PATIENCE_S} s"
        time.sleep(0.1)


def test_dlq_replay_requeues_archive_lines_and_the_archive_holds_them_when_archive_function_failed(
    stack: LocalStack,
) -> None:
    assert stack.keys is not None
    s3, sqs = stack.client("s3"), stack.client("sqs")
    dead = stack.dead_letter_queues["ArchiveDeadLetterQueueUrl"]
    s3.delete_bucket(Bucket=stack.bucket)  # every PutObject of ArchiveFunction fails from here
    body = batch(1)

    status, answer = post(stack.gateway_events_url, body, signed_headers(stack.keys.relay_private_key, body))
    assert (status, answer["accepted"]) == (200, 1)
    wait_for(
        lambda: (
            int(
                sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 1
        ),
        "the hand-off reaching the dead-letter queue",
    )
    [letter] = listed(stack)["ArchiveDeadLetterQueue"]
    # Receives count the listing's own, after the five of the event source.
    assert letter["target"] == "its source queue" and letter["attempts"] >= 5
    s3.create_bucket(Bucket=stack.bucket)  # S3 answers again

    done = dlq(stack, "replay", "--queue", "archive")

    assert done.returncode == 0 and "replayed: 1, left in the queues: 0" in done.stdout, done.stdout + done.stderr
    assert stack.drain(PATIENCE_S)
    assert archived_ids(stack, "raw") == [f"msg:{message_id(1)}"]
    assert listed(stack)["ArchiveDeadLetterQueue"] == []
