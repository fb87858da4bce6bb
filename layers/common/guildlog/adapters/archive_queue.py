"""Ingest's archive hand-off: one SQS message per batch on ArchiveQueue (a standard queue).

Standard, not FIFO: Lambda's SQS event source batches a standard queue for up to five minutes and
10,000 messages, a FIFO queue ten messages at a time. Order does not matter to the archive, and a
message queued twice is written once per object (services/archive_batches.py).
"""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError


class ArchiveQueue:
    """`client` is a boto3 SQS client (injected, or built lazily)."""

    client = BotoClient("sqs")

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, body: str) -> None:
        """Queue one message; StorageError when SQS refuses (boto3 has already retried)."""
        try:
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)
        except Exception as exc:
            raise StorageError("SQS refused the archive hand-off", error=type(exc).__name__) from exc
