"""Ingest → ArchiveQueue → ArchiveFunction under moto, through both real Lambda handlers: the archive
holds every accepted event once (after compaction), whatever is retried."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import pytest

from guildlog.adapters.s3_compaction import S3CompactionStore
from guildlog.handlers import archive as archive_handler
from guildlog.handlers import ingest as ingest_handler
from guildlog.services.compaction import Compactor
from tests.integration.conftest import LambdaContext, load_function
from tests.integration.test_ingest_handler import BASE, MESSAGE_ID, envelope, message_create, snowflake_at
from tests.integration.test_ingest_handler import ingest as ingest  # noqa: F401 - the fixture, by name

pytestmark = pytest.mark.integration


@pytest.fixture
def queue(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    url = boto3.client("sqs").create_queue(QueueName="archive")["QueueUrl"]
    monkeypatch.setenv("GUILDLOG_ARCHIVE_QUEUE_URL", url)
    ingest_handler.default_ingestor.cache_clear()
    archive_handler.default_writer.cache_clear()
    yield url
    archive_handler.default_writer.cache_clear()


def received(url: str) -> list[dict[str, Any]]:
    """Every message on the queue, as the records of Lambda's SQS event (and deleted from the queue)."""
    import boto3

    sqs = boto3.client("sqs")
    records = []
    while answer := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in answer:
            records.append({"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return records


def archive_objects(aws: dict[str, Any]) -> dict[str, bytes]:
    s3 = aws["s3"]
    listing = s3.list_objects_v2(Bucket=aws["bucket"]).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=aws["bucket"], Key=o["Key"])["Body"].read() for o in listing}


def event_ids(objects: dict[str, bytes], dataset: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for key, blob in objects.items():
        if not key.startswith(f"{dataset}/"):
            continue
        lines = [line for line in gzip.decompress(blob).decode("utf-8").splitlines() if line]
        if dataset == "events_csv":
            header = lines[0].split(",").index('"event_id"')
            found.update(line.split(",")[header].strip('"') for line in lines[1:])
        else:
            found.update(json.loads(line)["event_id"] for line in lines)
    return found


def test_archive_is_exactly_once_after_compaction_when_ingest_and_archive_function_batches_are_retried(
    ingest: Any, queue: str, aws: dict[str, Any]
) -> None:
    archive_app = load_function("archive")
    batches = [
        envelope([message_create(f"text {n}", snowflake_at(BASE, n + 1), minutes=n)], f"b-{n}", n + 1) for n in range(6)
    ]
    for batch in batches:
        assert ingest(batch)[0] == 200
    assert ingest(batches[0]) == (200, {"batch_id": "b-0", "accepted": 0, "duplicates": 1, "quarantined": 0})
    records = received(queue)
    assert len(records) == 6  # the retried batch found its own row stored: no second message

    first = archive_app.lambda_handler({"Records": records[:4]}, LambdaContext())
    written = archive_objects(aws)
    again = archive_app.lambda_handler({"Records": records[:4]}, LambdaContext())  # SQS delivers them again
    assert first == again == {"batchItemFailures": []}
    assert archive_objects(aws) == written  # same keys, same bytes
    # A second copy of a batch (an ingest retry that stored nothing the first time) in a later invocation.
    archive_app.lambda_handler({"Records": [*records[4:], {**records[0], "messageId": "copy"}]}, LambdaContext())

    before = archive_objects(aws)
    assert event_ids(before, "raw")[f"msg:{snowflake_at(BASE, 1)}"] == 2
    Compactor(S3CompactionStore(aws["bucket"], aws["s3"])).compact_day(BASE.date())
    after = archive_objects(aws)
    expected = {f"msg:{snowflake_at(BASE, n + 1)}" for n in range(6)}
    for dataset in ("raw", "events", "events_csv"):
        assert event_ids(after, dataset) == Counter(expected), dataset


def test_archive_function_reports_the_records_it_could_not_write_when_a_body_is_not_an_archive_message(
    ingest: Any, queue: str, aws: dict[str, Any]
) -> None:
    archive_app = load_function("archive")
    assert ingest(envelope([message_create()]))[0] == 200
    records = [*received(queue), {"messageId": "stray", "body": '{"v": 1}', "eventSource": "aws:sqs"}]

    answer = archive_app.lambda_handler({"Records": records}, LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "stray"}]}
    assert event_ids(archive_objects(aws), "raw") == Counter({f"msg:{MESSAGE_ID}": 1})
