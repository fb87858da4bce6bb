"""Dead-letter queues: what failed asynchronous work is waiting in them, and running it again.

Two kinds of message land in the stack's dead-letter queues, and both say which function to run
again with which event:

- Lambda's on-failure destination record (WorkerFunction, CompactFunction after their retries):
  `{"requestContext": {"functionArn", "condition", "approximateInvokeCount", ...},
  "requestPayload": <the event>, "responsePayload": {"errorType", "errorMessage"}, "timestamp"}`.
- EventBridge's dead letter (the nightly rule could not invoke CompactFunction): the event itself as
  the body, and the target and the error in the message attributes (TARGET_ARN, ERROR_CODE,
  ERROR_MESSAGE).
- A queue's own message that its consumer kept failing on (ArchiveFunction's archive hand-offs,
  moved by ArchiveQueue's redrive policy): replayed by queueing the body again on the queue it
  came from (SQS's ListDeadLetterSourceQueues names it), where the function's event source takes it.

Listing leaves every message in its queue (each is received, then made visible again at once).
A replay invokes the function asynchronously, exactly as the original caller did, and deletes the
message only once Lambda has accepted the invoke; a message that cannot be understood or replayed
stays where it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from guildlog.errors import ConfigurationError

# Long enough to invoke one message's function before SQS would show the message again.
REPLAY_VISIBILITY_S = 120
LIST_VISIBILITY_S = 30
# Lambda's cap on an async payload.
MAX_ASYNC_PAYLOAD = 256 * 1024
_RECEIVE_BATCH = 10
# Short polling samples a subset of SQS's servers: a few empty answers in a row mean the queue is read.
_EMPTY_RECEIVES_TO_STOP = 3


@dataclass(frozen=True)
class DeadLetterQueue:
    """A dead-letter queue by name (the stack output without its `Url` suffix) and URL."""

    name: str
    url: str


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, understood or not (`problem` says why not)."""

    queue: str
    message_id: str
    receipt_handle: str
    sent_at: str | None = None
    function: str | None = None  # the function's name or ARN, without a version qualifier
    payload: Any = None
    attempts: int | None = None
    error: str | None = None
    problem: str | None = None
    size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # A queue's own message: replayed by sending `payload` (the body) back to its source queue.
    requeue: bool = False

    @property
    def replayable(self) -> bool:
        return self.problem is None and (self.function is not None or self.requeue)

    def summary(self) -> dict[str, Any]:
        """What `guildlog dlq list` shows: never the payload itself (it may hold an interaction token)."""
        return {
            "queue": self.queue,
            "message_id": self.message_id,
            "sent_at": self.sent_at,
            "function": function_name(self.function) if self.function else None,
            "attempts": self.attempts,
            "error": self.error,
            "payload_bytes": self.size,
            **({"target": "its source queue"} if self.requeue else {}),
            **({"problem": self.problem} if self.problem else {}),
        }


@dataclass
class ReplayResult:
    replayed: list[DeadLetter] = field(default_factory=list)
    left: list[tuple[DeadLetter, str]] = field(default_factory=list)


def parse_message(queue: str, message: dict[str, Any]) -> DeadLetter:
    """A received SQS message (boto3's shape, with MessageAttributes and Attributes) as a DeadLetter."""
    message_id = str(message.get("MessageId", ""))
    receipt = str(message.get("ReceiptHandle", ""))
    body = message.get("Body") or ""
    sent_ms = (message.get("Attributes") or {}).get("SentTimestamp")
    sent_at = _iso_from_ms(sent_ms)
    base = {"queue": queue, "message_id": message_id, "receipt_handle": receipt, "sent_at": sent_at}
    try:
        document = json.loads(body)
    except ValueError:
        return DeadLetter(**base, problem="the body is not JSON", size=len(body.encode("utf-8", "replace")))
    from guildlog.services.archive_batches import is_archive_message

    if is_archive_message(body):
        count = (message.get("Attributes") or {}).get("ApproximateReceiveCount")
        return DeadLetter(
            **base,
            payload=body,
            requeue=True,
            attempts=int(count) if isinstance(count, str) and count.isdigit() else None,
            error="ArchiveFunction did not write these archive lines (its log says why)",
            size=len(body.encode("utf-8")),
        )
    attributes = _string_attributes(message.get("MessageAttributes") or {})
    if isinstance(document, dict) and isinstance(document.get("requestContext"), dict):
        return _lambda_record(base, document)
    if "TARGET_ARN" in attributes:
        payload_size = len(json.dumps(document).encode("utf-8"))
        error = ": ".join(v for v in (attributes.get("ERROR_CODE"), attributes.get("ERROR_MESSAGE")) if v)
        retries = attributes.get("RETRY_ATTEMPTS")
        return DeadLetter(
            **base,
            function=_unqualified(attributes["TARGET_ARN"]),
            payload=document,
            attempts=int(retries) + 1 if retries and retries.isdigit() else None,
            error=error or None,
            size=payload_size,
        )
    return DeadLetter(
        **base,
        problem="neither a Lambda on-failure record nor an EventBridge dead letter",
        size=len(body.encode("utf-8")),
    )


def _lambda_record(base: dict[str, Any], document: dict[str, Any]) -> DeadLetter:
    context = document["requestContext"]
    response = document.get("responsePayload")
    error = None
    if isinstance(response, dict):
        error = ": ".join(str(v) for v in (response.get("errorType"), response.get("errorMessage")) if v) or None
    condition = context.get("condition")
    if condition and condition != "RetriesExhausted":
        error = f"{condition}" + (f" ({error})" if error else "")
    arn = context.get("functionArn")
    payload = document.get("requestPayload")
    size = len(json.dumps(payload).encode("utf-8"))
    attempts = context.get("approximateInvokeCount")
    sent_at = document.get("timestamp") or base["sent_at"]
    problem = None
    if not isinstance(arn, str) or ":function:" not in arn:
        problem = "the record names no function"
    elif "requestPayload" not in document:
        # Lambda leaves the payload out of a record when it is too large to carry.
        problem = "the record does not carry the request payload"
    return DeadLetter(
        **{**base, "sent_at": sent_at},
        function=_unqualified(arn) if isinstance(arn, str) else None,
        payload=payload,
        attempts=attempts if isinstance(attempts, int) else None,
        error=error,
        problem=problem,
        size=size,
    )


def function_name(identifier: str) -> str:
    """`arn:aws:lambda:region:account:function:name[:qualifier]` or a name → the name."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        return parts[6] if len(parts) > 6 else identifier
    return identifier.split(":", 1)[0]


def _unqualified(arn: str) -> str:
    """A function ARN without its version or alias: a replay runs the function's current code."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if arn.startswith("arn:") and len(parts) > 7 else arn


def _iso_from_ms(value: Any) -> str | None:
    from datetime import UTC, datetime

    if not isinstance(value, str) or not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _string_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    return {
        str(name): str(value["StringValue"])
        for name, value in attributes.items()
        if isinstance(value, dict) and "StringValue" in value
    }


class DeadLetterReader:
    """Reads and replays dead-letter queues through injected boto3 SQS and Lambda clients."""

    def __init__(self, sqs: Any, lambda_client: Any = None) -> None:
        self.sqs = sqs
        self.lambda_client = lambda_client

    def depth(self, queue: DeadLetterQueue) -> int:
        """SQS's approximate count of messages waiting (visible) in the queue."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def receive_all(self, queue: DeadLetterQueue, visibility: int) -> list[DeadLetter]:
        """Every message the queue shows now, each hidden for `visibility` seconds (release them after)."""
        seen: dict[str, DeadLetter] = {}
        empty = 0
        while empty < _EMPTY_RECEIVES_TO_STOP:
            answer = self.sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=_RECEIVE_BATCH,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=0,
                AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            )
            messages = [m for m in answer.get("Messages", []) if m.get("MessageId") not in seen]
            if not messages:
                empty += 1
                continue
            empty = 0
            for message in messages:
                letter = parse_message(queue.name, message)
                seen[letter.message_id] = letter
        return list(seen.values())

    def release(self, queue: DeadLetterQueue, letters: Iterable[DeadLetter]) -> None:
        """Make received messages visible again at once."""
        batch = [
            {"Id": str(index), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
            for index, letter in enumerate(letters)
        ]
        for start in range(0, len(batch), _RECEIVE_BATCH):
            self.sqs.change_message_visibility_batch(QueueUrl=queue.url, Entries=batch[start : start + _RECEIVE_BATCH])

    def list(self, queue: DeadLetterQueue) -> list[DeadLetter]:
        """The queue's messages, oldest first, left in the queue."""
        letters = self.receive_all(queue, LIST_VISIBILITY_S)
        self.release(queue, letters)
        return sorted(letters, key=lambda letter: (letter.sent_at or "", letter.message_id))

    def replay(
        self,
        queue: DeadLetterQueue,
        only: set[str] | None = None,
        dry_run: bool = False,
        on_each: Callable[[DeadLetter, str | None], None] | None = None,
    ) -> ReplayResult:
        """Invoke each message's function again (async) and delete the message once Lambda accepts it.

        `only`: message ids to replay (others are left). `dry_run`: replay nothing, say what would be.
        `on_each(letter, problem)` is called per message, `problem` None when it was (or would be) replayed.
        """
        if self.lambda_client is None and not dry_run:
            raise ConfigurationError("replaying needs a Lambda client")
        letters = self.receive_all(queue, REPLAY_VISIBILITY_S)
        result = ReplayResult()
        deleted: set[str] = set()
        try:
            for letter in sorted(letters, key=lambda item: (item.sent_at or "", item.message_id)):
                if only is not None and letter.message_id not in only:
                    continue
                problem = self._replay_one(queue, letter, dry_run)
                if problem is not None:
                    result.left.append((letter, problem))
                else:
                    result.replayed.append(letter)
                    if not dry_run:
                        deleted.add(letter.message_id)
                if on_each is not None:
                    on_each(letter, problem)
        finally:
            # Whatever was not replayed is shown again at once, not after the replay's visibility timeout.
            self.release(queue, [letter for letter in letters if letter.message_id not in deleted])
        return result

    def _replay_one(self, queue: DeadLetterQueue, letter: DeadLetter, dry_run: bool) -> str | None:
        if not letter.replayable:
            return letter.problem or "no function to replay to"
        if letter.requeue:
            return self._requeue(queue, letter, dry_run)
        body = json.dumps(letter.payload).encode("utf-8")
        if len(body) > MAX_ASYNC_PAYLOAD:
            return f"the payload ({len(body)} bytes) is over Lambda's async limit"
        if dry_run:
            return None
        try:
            answer = self.lambda_client.invoke(FunctionName=letter.function, InvocationType="Event", Payload=body)
        except Exception as exc:
            return f"Lambda refused the invoke ({type(exc).__name__})"
        if answer.get("StatusCode") != 202:
            return f"Lambda answered {answer.get('StatusCode')} instead of 202"
        self.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=letter.receipt_handle)
        return None

    def _requeue(self, queue: DeadLetterQueue, letter: DeadLetter, dry_run: bool) -> str | None:
        """Send a queue's own message back to the one queue whose redrive policy moved it here."""
        try:
            sources = self.sqs.list_dead_letter_source_queues(QueueUrl=queue.url).get("queueUrls") or []
        except Exception as exc:
            return f"SQS did not say which queue feeds this one ({type(exc).__name__})"
        if len(sources) != 1:
            return f"{len(sources)} queues send their failures here; move the message by hand"
        if dry_run:
            return None
        try:
            self.sqs.send_message(QueueUrl=sources[0], MessageBody=letter.payload)
        except Exception as exc:
            return f"SQS refused the message ({type(exc).__name__})"
        self.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=letter.receipt_handle)
        return None
