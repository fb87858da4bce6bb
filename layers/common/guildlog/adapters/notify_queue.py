"""Ingest's hand-over to NotifyFunction: rows to post, on the SQS FIFO queue, in order per guild.

SendMessageBatch (10 a call). The group is the guild, so a guild's rows reach NotifyFunction in
the order ingest wrote them, one batch of a guild in flight at a time; the deduplication id is the
event's, so a batch the relay sends again within SQS's five minutes is not queued twice (the
posted markers cover the rest).
"""

from __future__ import annotations

import hashlib
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.sqs_batches import SEND_BATCH_LIMIT, send_in_batches


class NotifyQueue:
    """`client` is a boto3 SQS client (injected, or built lazily)."""

    client = BotoClient("sqs")

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, messages: list[tuple[str, str, str]]) -> int:
        """Queue (group, event id, body) messages in order; StorageError if SQS keeps refusing. Returns calls."""
        entries = [
            {
                "MessageBody": body,
                "MessageGroupId": group,
                "MessageDeduplicationId": hashlib.sha256(event_id.encode("utf-8")).hexdigest(),
            }
            for group, event_id, body in messages
        ]
        return send_in_batches(self.client, self.queue_url, entries, "the log hand-over", ordered=True)


def make_visible_in(records: list[dict[str, Any]], seconds: int, client: Any = None) -> None:
    """Make NotifyFunction's SQS records visible again in `seconds` (ChangeMessageVisibilityBatch).

    Best effort: a record this fails for comes back after the queue's visibility timeout instead,
    later but in order. The queue is found from each record's `eventSourceARN`.
    """
    if not records:
        return
    if client is None:
        import boto3

        client = boto3.client("sqs")
    by_queue: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_queue.setdefault(str(record.get("eventSourceARN") or ""), []).append(record)
    for arn, queued in by_queue.items():
        parts = arn.split(":")
        if len(parts) != 6 or not queued:
            continue
        try:
            url = client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            for start in range(0, len(queued), SEND_BATCH_LIMIT):
                chunk = queued[start : start + SEND_BATCH_LIMIT]
                client.change_message_visibility_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": seconds}
                        for n, r in enumerate(chunk)
                    ],
                )
        except Exception:  # noqa: BLE001, S112 - best effort, see the docstring
            continue
