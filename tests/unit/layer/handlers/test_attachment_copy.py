"""guildlog.handlers.attachment_copy: an SQS batch → copies, retries reported, failures recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from guildlog.errors import AttachmentCopyError, StorageError
from guildlog.handlers.attachment_copy import handle_batch
from guildlog.services.attachments import ATTEMPTS, CopyJob, Fetched

NOW = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
JOB = CopyJob(
    guild_id="100000000000000001",
    message_id="200000000000000001",
    item_id="300000000000000001",
    kind="attachment",
    filename="cat.png",
    url="https://cdn.discordapp.com/attachments/1/2/cat.png",
    max_bytes=1024,
    expires_at=1_800_000_000,
    event_id="gw:s:1",
)


class Fetcher:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        if self.fail:
            raise AttachmentCopyError("the CDN answered 503", retryable=True, status=503)
        return Fetched(b"png", "image/png")


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.keys: list[str] = []

    def put(self, key: str, body: bytes, content_type: str) -> None:
        if self.fail:
            raise StorageError("S3 refused the attachment copy")
        self.keys.append(key)


class Records:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_items(self, items: list[dict[str, Any]]) -> int:
        self.items.extend(items)
        return 1


def event(*bodies: str, receives: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{n}", "body": b, "attributes": {"ApproximateReceiveCount": str(receives)}}
            for n, b in enumerate(bodies)
        ]
    }


def test_handle_batch_copies_and_reports_nothing_to_retry_when_downloads_work() -> None:
    store, records = Store(), Records()

    answer, report = handle_batch(event(JOB.model_dump_json()), (Fetcher(False), store, records, "https://cdn.x"))

    assert answer == {"batchItemFailures": []} and report.copied == 1 and store.keys == [JOB.key]


def test_handle_batch_reports_the_record_for_retry_when_a_download_fails_early() -> None:
    records = Records()

    answer, _ = handle_batch(event(JOB.model_dump_json()), (Fetcher(True), Store(), records, "https://cdn.x"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]} and records.items == []


def test_handle_batch_records_the_failure_and_retries_nothing_when_the_last_attempt_fails() -> None:
    records = Records()

    answer, report = handle_batch(
        event(JOB.model_dump_json(), receives=ATTEMPTS), (Fetcher(True), Store(), records, "https://cdn.x")
    )

    assert answer == {"batchItemFailures": []} and report.failed == 1
    assert records.items[0]["reason"] == "the CDN answered 503"


def test_handle_batch_retries_when_s3_refuses_the_copy() -> None:
    answer, _ = handle_batch(
        event(JOB.model_dump_json()), (Fetcher(False), Store(fail=True), Records(), "https://cdn.x")
    )

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_handle_batch_drops_a_record_that_is_not_a_job_when_it_cannot_be_read() -> None:
    answer, report = handle_batch(event("not json", '{"v": 1}'), (Fetcher(False), Store(), Records(), "https://cdn.x"))

    assert answer == {"batchItemFailures": []} and report.bad == 2
