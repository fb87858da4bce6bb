"""Lambda's SQS event source mapping, for the local stack: polls moto's queue, runs the function in-process.

For each function with an `SQS` event in template.yaml, a thread receives up to `BatchSize`
messages (long polling, one second; then, for a BatchSize over SQS's 10 a receive, more receives
until the queue is empty or the batch full), hands them to the function's own `lambda_handler` in the
event shape Lambda uses (`Records` of `eventSource: aws:sqs`), under the function's environment
and the lock every local invocation takes, then deletes the messages not named in the answer's
`batchItemFailures` (ReportBatchItemFailures). A failed message becomes visible again after a
short while (Lambda: the queue's visibility timeout), and moto's redrive policy moves it to the
dead-letter queue after `maxReceiveCount` receives, as SQS does. A handler that raises fails the
whole batch.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from guildlog_tools.local.apigw import _INVOKE_LOCK, LocalLambdaContext, Route, environment, function_output

# Locally a failed message comes back after this, not after the queue's minutes-long visibility timeout.
RETRY_VISIBILITY_S = 1
# SQS's own cap on one ReceiveMessage; Lambda's BatchSize goes up to 10,000 for a standard queue.
RECEIVE_LIMIT = 10


@dataclass
class Mapping:
    """One event source mapping: the queue it reads and the function it runs."""

    queue_url: str
    queue_arn: str
    route: Route
    batch_size: int = 10
    report_failures: bool = True


class SqsPoller:
    """`start()` one thread per mapping; `idle()` says whether every queue is empty; `stop()` ends them."""

    def __init__(
        self,
        client: Callable[[], Any],
        mappings: list[Mapping],
        *,
        region: str,
        log_stream: TextIO | None = None,
        function_log: TextIO | None = None,
    ) -> None:
        self.client = client
        self.mappings = mappings
        self.region = region
        self.log_stream = log_stream or sys.stderr
        self.function_log = function_log
        self.batches = 0
        self.failures = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        for mapping in self.mappings:
            thread = threading.Thread(
                target=self._poll, args=(mapping,), name=f"guildlog-sqs-{mapping.route.function_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def idle(self) -> bool:
        """True when no batch is running and every mapped queue holds no message, visible or not."""
        with self._lock:
            if self._busy:
                return False
        sqs = self.client()
        for mapping in self.mappings:
            attributes = sqs.get_queue_attributes(
                QueueUrl=mapping.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(attributes["ApproximateNumberOfMessages"]) or int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            ):
                return False
        return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until `idle()` (True) or `timeout` seconds (False)."""
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if self.idle():
                return True
            time.sleep(0.05)
        return False

    def _poll(self, mapping: Mapping) -> None:
        sqs = self.client()
        while not self._stop.is_set():
            try:
                answer = sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(mapping.batch_size, RECEIVE_LIMIT),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:  # noqa: BLE001 - moto stopping under us ends the loop at the next check
                if self._stop.wait(0.2):
                    return
                continue
            messages = answer.get("Messages") or []
            if not messages:
                continue
            messages += self._more(sqs, mapping, len(messages))
            with self._lock:
                self._busy += 1
            try:
                self._run(sqs, mapping, messages)
            finally:
                with self._lock:
                    self._busy -= 1

    def _more(self, sqs: Any, mapping: Mapping, have: int) -> list[dict[str, Any]]:
        """Up to `batch_size` in all for a mapping that batches more than one receive takes (Lambda
        gathers them over its batching window; locally the window ends when the queue runs dry)."""
        more: list[dict[str, Any]] = []
        while have + len(more) < mapping.batch_size:
            answer = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(mapping.batch_size - have - len(more), RECEIVE_LIMIT),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = answer.get("Messages") or []
            if not received:
                break
            more += received
        return more

    def _run(self, sqs: Any, mapping: Mapping, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(mapping, m) for m in messages]}
        failed: set[str] = {m["MessageId"] for m in messages}
        try:
            handler = mapping.route.handler()
            with _INVOKE_LOCK, environment(mapping.route.environment), function_output(self.function_log):
                result = handler(event, LocalLambdaContext(mapping.route, str(uuid.uuid4())))
            failed = set()
            if mapping.report_failures and isinstance(result, dict):
                failed = {str(f.get("itemIdentifier")) for f in result.get("batchItemFailures") or []}
        except Exception:
            print(
                f"{mapping.route.function_id} raised on an SQS batch:\n{traceback.format_exc()}", file=self.log_stream
            )
        self.batches += 1
        self.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=mapping.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_VISIBILITY_S,
                )

    def _record(self, mapping: Mapping, message: dict[str, Any]) -> dict[str, Any]:
        body = message.get("Body") or ""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes") or {},
            "messageAttributes": message.get("MessageAttributes") or {},
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
            "eventSource": "aws:sqs",
            "eventSourceARN": mapping.queue_arn,
            "awsRegion": self.region,
        }
