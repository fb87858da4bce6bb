"""Ingest's hand-over to AttachmentCopyFunction: one SQS message per file, SendMessageBatch (10 a call).

A standard queue: copies need no order, and a job queued twice (a retried relay batch) copies the
same file to the same key and writes the same record.
"""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError
from guildlog.services.attachments import CopyJob

SEND_BATCH_LIMIT = 10
_ATTEMPTS = 4


class AttachmentQueue:
    client = BotoClient("sqs")

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, jobs: list[CopyJob]) -> int:
        """Queue every job; StorageError if SQS keeps refusing some. Returns the calls made."""
        calls = 0
        for start in range(0, len(jobs), SEND_BATCH_LIMIT):
            chunk = jobs[start : start + SEND_BATCH_LIMIT]
            entries = {str(n): {"Id": str(n), "MessageBody": job.model_dump_json()} for n, job in enumerate(chunk)}
            pending = list(entries)
            for _ in range(_ATTEMPTS):
                try:
                    answer = self.client.send_message_batch(
                        QueueUrl=self.queue_url, Entries=[entries[i] for i in pending]
                    )
                except Exception as exc:
                    raise StorageError("SQS refused the attachment copies", error=type(exc).__name__) from exc
                calls += 1
                pending = [str(f["Id"]) for f in answer.get("Failed") or []]
                if not pending:
                    break
            else:
                raise StorageError("SQS left attachment copies unsent after retries", unsent=len(pending))
        return calls
