"""SendMessageBatch in chunks of ten, with the failed entries sent again: the one loop the queue
adapters (notify_queue, attachment_queue) share."""

from __future__ import annotations

from typing import Any

from guildlog.errors import StorageError

SEND_BATCH_LIMIT = 10
_ATTEMPTS = 4


def send_in_batches(client: Any, queue_url: str, entries: list[dict[str, Any]], what: str, *, ordered: bool) -> int:
    """Queue every entry (without its `Id`, added here); StorageError naming `what` if SQS refuses
    or keeps failing some. `ordered`: a failed entry and every later one of its chunk go again, so a
    FIFO group's order holds; otherwise only the failed ones. Returns the calls made."""
    calls = 0
    for start in range(0, len(entries), SEND_BATCH_LIMIT):
        chunk = {str(n): {"Id": str(n), **entry} for n, entry in enumerate(entries[start : start + SEND_BATCH_LIMIT])}
        pending = list(chunk)
        for _ in range(_ATTEMPTS):
            try:
                answer = client.send_message_batch(QueueUrl=queue_url, Entries=[chunk[i] for i in pending])
            except Exception as exc:
                raise StorageError(f"SQS refused {what}", error=type(exc).__name__) from exc
            calls += 1
            failed = [str(f["Id"]) for f in answer.get("Failed") or []]
            if not failed:
                break
            if ordered:
                first = min(int(i) for i in failed)
                pending = [i for i in pending if int(i) >= first]
            else:
                pending = failed
        else:
            raise StorageError(f"SQS left {what} unsent after retries", unsent=len(pending))
    return calls
