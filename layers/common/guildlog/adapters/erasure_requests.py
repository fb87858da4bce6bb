"""Erasure requests from slash commands: the confirmation code, then the tombstone and the queued job."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.dynamodb_store import _plain, _typed
from guildlog.adapters.erasure_store import ErasureStore
from guildlog.errors import StorageError
from guildlog.models.erasure_job import ErasureJobMessage
from guildlog.services import keys
from guildlog.services.erasure.receipt import Receipt
from guildlog.services.erasure.tombstones import CACHE_SECONDS

# Every ingest container sees a new tombstone within its cache's minute: the job lists the archive after that.
JOB_DELAY_SECONDS = int(CACHE_SECONDS) + 30
# A deployed stack's ArchiveFunction batching window and timeout (template.yaml passes it to
# InteractionsFunction as GUILDLOG_ARCHIVE_SETTLE_SECONDS; `guildlog forget --stack` waits it too).
STACK_ARCHIVE_SETTLE_SECONDS = 360
# SQS holds a message back at most 15 minutes.
MAX_DELAY_SECONDS = 900


def job_delay(archive_settle_seconds: int = 0) -> int:
    """How long a new erasure job waits: every ingest container has read the tombstone, and every
    archive line queued before it (ArchiveQueue: up to the batching window and the function's timeout)
    has been written, so the job's rewrite is the last word on the member's lines."""
    return min(MAX_DELAY_SECONDS, JOB_DELAY_SECONDS + archive_settle_seconds)


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or retyped


class JobQueue:
    """ForgetQueue. `client` is a boto3 SQS client (injected, or built lazily)."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    client = BotoClient("sqs")

    def send(self, job: ErasureJobMessage, delay_seconds: int = JOB_DELAY_SECONDS) -> None:
        try:
            self.client.send_message(
                QueueUrl=self.queue_url, MessageBody=job.model_dump_json(), DelaySeconds=delay_seconds
            )
        except Exception as exc:
            raise StorageError("SQS refused the erasure job", error=type(exc).__name__) from exc


def _pending_sk(requester_id: str, user_id: str) -> str:
    return f"P#{requester_id}#{user_id}"


class ErasureRequests:
    """`dynamodb` and `sqs` are boto3 clients (injected, or built lazily)."""

    def __init__(
        self,
        table_name: str,
        queue_url: str,
        dynamodb: Any = None,
        sqs: Any = None,
        *,
        delay_seconds: int = JOB_DELAY_SECONDS,
    ) -> None:
        self.table_name = table_name
        self.queue_url = queue_url
        self.delay_seconds = delay_seconds
        self._client = dynamodb
        self.queue = JobQueue(queue_url, sqs)
        self.store = ErasureStore(table_name, dynamodb)

    client = BotoClient("dynamodb")

    def new_code(self, guild_id: str, requester_id: str, user_id: str, expires_at: int) -> str:
        """A fresh confirmation code for (requester, member), replacing any earlier one."""
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        item = {
            "PK": keys.erasure_pk(guild_id),
            "SK": _pending_sk(requester_id, user_id),
            "kind": "erasure_confirmation",
            "code": code,
            "expires_at": expires_at,
        }
        try:
            self.client.put_item(TableName=self.table_name, Item=_typed(item))
        except Exception as exc:
            raise StorageError("DynamoDB refused the confirmation", error=type(exc).__name__) from exc
        return code

    def confirm(self, guild_id: str, requester_id: str, user_id: str, code: str, now: int) -> bool:
        """True once for the code last given to this requester for this member, before it expires."""
        key = {"PK": {"S": keys.erasure_pk(guild_id)}, "SK": {"S": _pending_sk(requester_id, user_id)}}
        try:
            found = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        except Exception as exc:
            raise StorageError("DynamoDB did not return the confirmation", error=type(exc).__name__) from exc
        if not found:
            return False
        item = _plain(found)
        if (
            item.get("used")
            or int(item.get("expires_at", 0)) < now
            or not hmac.compare_digest(str(item.get("code")), code.strip().upper())
        ):
            return False
        try:
            # Marked used, not deleted: a code works once, and the requester's next run gives a new one.
            self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET used = :t",
                ConditionExpression="code = :c AND attribute_not_exists(used)",
                ExpressionAttributeValues={":c": {"S": str(item["code"])}, ":t": {"BOOL": True}},
            )
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # used already, or confirmed twice at once: one of them starts the job
            raise StorageError("DynamoDB did not take the confirmation", error=type(exc).__name__) from exc
        return True

    def start(self, job: ErasureJobMessage) -> None:
        """The tombstone now (ingest redacts the member from its next minute on), the job after the delay."""
        if job.user_id is None:
            raise ValueError("a member's erasure names the member")
        self.store.put_tombstone(
            job.guild_id, job.user_id, job_id=job.job_id, requested_by=job.requested_by, at=job.requested_at
        )
        self.queue.send(job, self.delay_seconds)

    def receipts(self, guild_id: str, limit: int = 10) -> list[Receipt]:
        return self.store.receipts(guild_id, limit)
