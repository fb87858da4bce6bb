"""Ingest's hand-over to GapRepairFunction: one message per relay gap stored, on the standard SQS queue.

A standard queue, not FIFO: gaps are rare and independent, and a job delivered twice is harmless (the
repair record opens once, the backfilled events' ids make a second write change nothing).
"""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError
from guildlog.services.gap_repair import GapJob


class GapRepairQueue:
    """`client` is a boto3 SQS client (injected, or built lazily)."""

    client = BotoClient("sqs")

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, jobs: list[GapJob]) -> None:
        for job in jobs:
            try:
                self.client.send_message(QueueUrl=self.queue_url, MessageBody=job.model_dump_json())
            except Exception as exc:
                raise StorageError("SQS refused a gap repair job", error=type(exc).__name__) from exc
