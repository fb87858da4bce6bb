"""Ingest's hand-over to AttachmentCopyFunction: one SQS message per file, SendMessageBatch (10 a call).

A standard queue: copies need no order, and a job queued twice (a retried relay batch) copies the
same file to the same key and writes the same record.
"""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.sqs_batches import send_in_batches
from guildlog.services.attachments import CopyJob


class AttachmentQueue:
    client = BotoClient("sqs")

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, jobs: list[CopyJob]) -> int:
        """Queue every job; StorageError if SQS keeps refusing some. Returns the calls made."""
        entries = [{"MessageBody": job.model_dump_json()} for job in jobs]
        return send_in_batches(self.client, self.queue_url, entries, "the attachment copies", ordered=False)
