"""Gap repair records in the hot table: `RELAY#<shard>` / `R#<since>#<gap event id>` (services/gap_repair.py).

One item per gap: opened by a conditional put (a job delivered twice opens it once), its channel
checkpoints in the `cp` map (one UpdateItem per page stored, so a retried job resumes), closed by
one UpdateItem with the outcome. Kept 90 days (`expires_at`), longer than `/logs status` looks back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError
from guildlog.services import keys
from guildlog.services.gap_repair import GapJob

RECORD_TTL_S = 90 * 24 * 3600
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class DynamoRepairRecords:
    """`client` is a boto3 DynamoDB client (injected, or built lazily)."""

    client = BotoClient("dynamodb")

    def __init__(self, table_name: str, client: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self._client = client
        self.clock = clock

    def key(self, job: GapJob) -> dict[str, Any]:
        return {"PK": {"S": keys.relay_pk(job.shard[0])}, "SK": {"S": keys.repair_sk(job.since, job.gap_event_id)}}

    def open(self, job: GapJob, opened_at: str) -> str:
        item = {
            "kind": "gap_repair",
            "state": "open",
            "gap_event_id": job.gap_event_id,
            "shard_count": job.shard[1],
            "since": job.since,
            "until": job.until,
            "reason": job.reason,
            "opened_at": opened_at,
            "cp": {},
            "expires_at": int(self.clock()) + RECORD_TTL_S,
        }
        values = {**self.key(job), **{name: _serialize(value) for name, value in item.items()}}
        try:
            self.client.put_item(TableName=self.table_name, Item=values, ConditionExpression="attribute_not_exists(PK)")
        except self.client.exceptions.ConditionalCheckFailedException:
            return self._state(job)  # opened by an earlier attempt: its checkpoints stay
        except Exception as exc:
            raise StorageError("DynamoDB refused a gap repair record", error=type(exc).__name__) from exc
        return "open"

    def _state(self, job: GapJob) -> str:
        try:
            found = self.client.get_item(
                TableName=self.table_name,
                Key=self.key(job),
                ConsistentRead=True,
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "state"},
            )
        except Exception as exc:
            raise StorageError("DynamoDB refused a gap repair read", error=type(exc).__name__) from exc
        return str(((found.get("Item") or {}).get("state") or {}).get("S") or "open")

    def checkpoints(self, job: GapJob) -> RecordCheckpoints:
        return RecordCheckpoints(self, job)

    def close(self, job: GapJob, record: dict[str, Any]) -> None:
        names = {f"#a{n}": name for n, name in enumerate(record)}
        values = {f":a{n}": _serialize(value) for n, value in enumerate(record.values())}
        assignments = ", ".join(f"#a{n} = :a{n}" for n in range(len(record)))
        self._update(job, f"SET {assignments}", names, values)

    def _update(self, job: GapJob, expression: str, names: dict[str, str], values: dict[str, Any]) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self.key(job),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            raise StorageError("DynamoDB refused a gap repair update", error=type(exc).__name__) from exc

    def read_checkpoints(self, job: GapJob) -> dict[str, str]:
        try:
            found = self.client.get_item(TableName=self.table_name, Key=self.key(job), ConsistentRead=True)
        except Exception as exc:
            raise StorageError("DynamoDB refused a gap repair read", error=type(exc).__name__) from exc
        item = found.get("Item") or {}
        return {str(k): str(v) for k, v in (_deserialize(item["cp"]) if "cp" in item else {}).items()}


class RecordCheckpoints:
    """`services.backfill.Checkpoints` in a repair record's `cp` map: `<last id>|<done: 0 or 1>` per channel."""

    def __init__(self, records: DynamoRepairRecords, job: GapJob) -> None:
        self.records = records
        self.job = job
        self._state: dict[str, str] | None = None

    def get(self, channel_id: str) -> tuple[str | None, bool]:
        if self._state is None:
            self._state = self.records.read_checkpoints(self.job)
        last, _, done = self._state.get(channel_id, "|0").partition("|")
        return (last or None), done == "1"

    def set(self, channel_id: str, last_id: str | None, done: bool) -> None:
        value = f"{last_id or ''}|{1 if done else 0}"
        if self._state is not None:
            self._state[channel_id] = value
        self.records._update(self.job, "SET cp.#c = :v", {"#c": channel_id}, {":v": {"S": value}})
