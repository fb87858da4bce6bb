"""Checkpoints in the stack's table, for a relay the stack hosts (`--checkpoint-table`).

A hosted relay runs as a Fargate task whose disk goes with the task: a checkpoint kept there would
be lost at every deploy, and each replacement would start a new session and report a gap. Kept in
the table (`RELAY#<shard>` / `CHECKPOINT`), the next task resumes the session the last one
acknowledged. The item holds the same JSON as `checkpoint.json` — session, seq, the pending gap —
and never the token.

Saves are conditional on `saved_at`: a task being replaced and its successor may overlap for a
moment, and an older state must never overwrite a newer one.
"""

from __future__ import annotations

import logging
from typing import Any

from guildlog.errors import ConfigurationError
from guildlog.services.keys import CHECKPOINT_SK, relay_pk
from guildlog_relay.checkpoint import Checkpoint

log = logging.getLogger(__name__)


class TableCheckpointStore:
    """The checkpoint item of one shard; the same interface as the file store (`load`, `save`)."""

    def __init__(self, table_name: str, shard_id: int, client: Any | None = None) -> None:
        self.table_name = table_name
        self.shard_id = shard_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    @property
    def key(self) -> dict[str, dict[str, str]]:
        return {"PK": {"S": relay_pk(self.shard_id)}, "SK": {"S": CHECKPOINT_SK}}

    def load(self) -> Checkpoint | None:
        """The saved checkpoint; None when there is none or it cannot be read (the relay then
        identifies afresh, and the lost session is not silently resumed)."""
        try:
            answer = self.client.get_item(TableName=self.table_name, Key=self.key, ConsistentRead=True)
        except Exception as exc:  # botocore's errors: a missing table or permission is a configuration error
            raise ConfigurationError(
                f"cannot read the checkpoint of shard {self.shard_id} in table {self.table_name}: {_code(exc)}"
            ) from None
        item = answer.get("Item")
        if not item:
            return None
        try:
            return Checkpoint.from_json(item["checkpoint"]["S"].encode("utf-8"))
        except (ValueError, KeyError, TypeError) as exc:
            log.error(
                "unreadable checkpoint in the table; starting a new session",
                extra={"shard": self.shard_id, "error": str(exc)[:120]},
            )
            return None

    def save(self, checkpoint: Checkpoint) -> None:
        saved_at = checkpoint.saved_at or ""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    **self.key,
                    "checkpoint": {"S": checkpoint.to_json().decode("utf-8")},
                    "saved_at": {"S": saved_at},
                },
                ConditionExpression="attribute_not_exists(saved_at) OR saved_at <= :at",
                ExpressionAttributeValues={":at": {"S": saved_at}},
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                log.warning(
                    "a newer checkpoint is already in the table (another task of this shard saved it); kept it",
                    extra={"shard": self.shard_id},
                )
                return
            raise


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
