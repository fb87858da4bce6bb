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
from tests.integration.test_ingest_handler import BASE, GUILD, MESSAGE_ID, envelope, message_create, snowflake_at
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


def stamped(records: list[dict[str, Any]], sent_at: float) -> list[dict[str, Any]]:
    """The records as Lambda's SQS event gives them, with SQS's `SentTimestamp` (ms)."""
    return [{**r, "attributes": {"SentTimestamp": str(int(sent_at * 1000))}} for r in records]


def test_archive_function_holds_a_quiet_window_on_its_queue_then_writes_it_when_the_hold_is_over(
    ingest: Any, queue: str, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("GUILDLOG_ARCHIVE_HOLD_MINUTES", "60")
    archive_app = load_function("archive")
    for n in range(3):
        assert (
            ingest(envelope([message_create(f"text {n}", snowflake_at(BASE, n + 1), minutes=n)], f"b-{n}", n + 1))[0]
            == 200
        )

    first = archive_app.lambda_handler({"Records": stamped(received(queue), time.time() - 60)}, LambdaContext())

    assert first == {"batchItemFailures": []}
    assert archive_objects(aws) == {}
    [held] = received(queue)  # the three batches as one message, back on ArchiveQueue
    assert json.loads(held["body"])["held_since"] > 0
    assert ingest(envelope([message_create("text 3", snowflake_at(BASE, 4), minutes=3)], "b-3", 4))[0] == 200
    later = [{**held, "attributes": {"SentTimestamp": str(int(time.time() * 1000))}}, *received(queue)]
    # The held message's own `held_since` says how long its lines have waited, not its SentTimestamp.
    body = json.loads(held["body"])
    body["held_since"] -= 3600
    later[0]["body"] = json.dumps(body)

    second = archive_app.lambda_handler({"Records": later}, LambdaContext())

    assert second == {"batchItemFailures": []}
    assert received(queue) == []
    objects = archive_objects(aws)
    expected = Counter({f"msg:{snowflake_at(BASE, n + 1)}": 1 for n in range(4)})
    for dataset in ("raw", "events", "events_csv"):
        assert event_ids(objects, dataset) == expected, dataset


def test_archive_function_writes_an_erased_members_queued_lines_redacted_when_the_tombstone_came_after(
    ingest: Any, queue: str, aws: dict[str, Any]
) -> None:
    from guildlog.adapters.erasure_store import ErasureStore
    from tests.integration.test_ingest_handler import AUTHOR, GUILD

    archive_app = load_function("archive")
    assert ingest(envelope([message_create("a secret of ada's")]))[0] == 200
    ErasureStore(aws["table"]).put_tombstone(GUILD, AUTHOR, job_id="j1", requested_by=AUTHOR, at="2026-01-01T00:00:00Z")

    answer = archive_app.lambda_handler({"Records": received(queue)}, LambdaContext())

    assert answer == {"batchItemFailures": []}
    texts = [gzip.decompress(blob).decode("utf-8") for blob in archive_objects(aws).values()]
    assert len(texts) == 3 and not any("a secret of ada's" in text for text in texts)


def test_counters_written_by_archive_function_match_ingests_own_when_batches_are_retried_replayed_and_redelivered(
    ingest: Any, queue: str, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services.commands.stats import day_counters
    from guildlog_tools.local.template import load_template, table_definition

    archive_app = load_function("archive")
    a, b, c = (message_create(text, snowflake_at(BASE, n + 1), minutes=n) for n, text in enumerate("abc"))
    first, second = envelope([a, b], "b-1", 1), envelope([c], "b-2", 3)
    replay = envelope([b, c], "replay", 2)  # Discord replays after a RESUME: the same events, another batch
    deliveries = [second, first, replay, first]  # out of order, and the first batch retried

    def day() -> dict[str, int]:
        return dict(day_counters(HotReader(aws["table"], aws["dynamodb"]), GUILD, BASE.date().isoformat()))

    for body in deliveries:
        assert ingest(body)[0] == 200
    records = received(queue)
    archive_app.lambda_handler({"Records": records[:1]}, LambdaContext())
    archive_app.lambda_handler({"Records": records}, LambdaContext())  # the first one again, with the rest
    queued = day()
    sort_keys = {i["SK"]["S"] for i in aws["dynamodb"].scan(TableName=aws["table"])["Items"]}

    aws["dynamodb"].delete_table(TableName=aws["table"])
    aws["dynamodb"].create_table(**{**table_definition(load_template()), "TableName": aws["table"]})
    monkeypatch.delenv("GUILDLOG_ARCHIVE_QUEUE_URL")
    ingest_handler.default_ingestor.cache_clear()
    for body in deliveries:
        assert ingest(body)[0] == 200

    assert queued == day() and queued["messages"] == 3
    # Every batch was small: its counters rode its message, except the retry that found its rows stored.
    assert {k for k in sort_keys if k.startswith("B#")} == {"B#b-1"}
    assert any(k.startswith("W#") for k in sort_keys)
