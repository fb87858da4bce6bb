"""The hot table: batch writes that never report partial success, stored-item and config reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.retry import Backoff
from guildlog.errors import StorageError
from guildlog.models.config import GuildConfig
from guildlog.services import keys
from guildlog.services.hot_items import Item

BATCH_WRITE_LIMIT = 25  # DynamoDB's BatchWriteItem maximum
BATCH_GET_LIMIT = 100  # DynamoDB's BatchGetItem maximum

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _typed(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def _plain(item: dict[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def dedupe_by_key(items: Iterable[Item]) -> list[Item]:
    """One item per (PK, SK): BatchWriteItem refuses duplicates. The last one given wins."""
    by_key: dict[tuple[str, str], Item] = {}
    for item in items:
        by_key[(item["PK"], item["SK"])] = item
    return list(by_key.values())


class DynamoStore:
    """DynamoDB access for ingest. `client` is a boto3 DynamoDB client (injected, or built lazily)."""

    def __init__(self, table_name: str, client: Any = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or Backoff()

    client = BotoClient("dynamodb")

    # --- writes -------------------------------------------------------------------------------
    def put_items(self, items: Iterable[Item]) -> int:
        """Write every item (BatchWriteItem chunks of 25, duplicates removed), retrying what
        DynamoDB leaves unprocessed; StorageError if any item is still unwritten. Returns the call count."""
        unique = dedupe_by_key(items)
        calls = 0
        for start in range(0, len(unique), BATCH_WRITE_LIMIT):
            chunk = unique[start : start + BATCH_WRITE_LIMIT]
            pending = {self.table_name: [{"PutRequest": {"Item": _typed(i)}} for i in chunk]}
            for attempt in range(self.backoff.attempts):
                try:
                    answer = self.client.batch_write_item(RequestItems=pending)
                except Exception as exc:  # throttling past botocore's own retries, network
                    if not _retryable(exc):
                        raise StorageError("DynamoDB refused the batch", error=type(exc).__name__) from exc
                    answer = {"UnprocessedItems": pending}
                calls += 1
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                self._pause(attempt)
            else:
                left = sum(len(v) for v in pending.values())
                raise StorageError("DynamoDB left items unprocessed after retries", unprocessed=left)
        return calls

    def _pause(self, attempt: int) -> None:
        """Back off before the next attempt; after the last one there is none to wait for."""
        if attempt + 1 < self.backoff.attempts:
            self.backoff.wait(attempt)

    # --- reads --------------------------------------------------------------------------------
    def stored_batches(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Of these (PK, SK) keys, those already stored, each with the `batch_id` that wrote it
        ("" when the item has none). BatchGetItem, eventually consistent, three attributes."""
        found = self._batch_get(keys, projection="PK, SK, batch_id")
        return {(item["PK"], item["SK"]): str(item.get("batch_id", "")) for item in found}

    def guild_configs(self, guild_ids: Iterable[str]) -> dict[str, GuildConfig]:
        """The stored configuration of each guild that has one."""
        configs: dict[str, GuildConfig] = {}
        for item in self._batch_get((keys.guild_pk(g), keys.CONFIG_SK) for g in guild_ids):
            guild_id = keys.guild_of_pk(str(item["PK"]))
            configs[guild_id] = GuildConfig.model_validate({**item, "guild_id": guild_id})
        return configs

    # --- the directory (services/directory.py) -------------------------------------------------
    def snapshots(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The stored items of these keys (BatchGetItem), by key."""
        return {(str(item["PK"]), str(item["SK"])): item for item in self._batch_get(keys)}

    def version_before(self, pk: str, prefix: str, below: str) -> Item | None:
        """The newest item of `pk` whose SK starts with `prefix` and sorts strictly below `below` (one Query)."""
        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":pk": {"S": pk}, ":lo": {"S": prefix}, ":hi": {"S": below}},
            ScanIndexForward=False,
            Limit=2,  # `below` itself may be stored (a retried event): BETWEEN includes it
        )
        for raw in answer.get("Items", []):
            item = _plain(raw)
            if item["SK"] != below:
                return item
        return None

    def put_snapshots(self, items: list[Item]) -> None:
        """Put each item unless the stored one is newer by (`at`, `event_id`): an older or retried
        event never moves a snapshot back."""
        newest: dict[tuple[str, str], Item] = {}
        for item in items:
            key = (item["PK"], item["SK"])
            if key not in newest or (newest[key]["at"], newest[key]["event_id"]) <= (item["at"], item["event_id"]):
                newest[key] = item
        for item in newest.values():
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=_typed(item),
                    ConditionExpression="attribute_not_exists(PK) OR #at < :at OR (#at = :at AND #eid <= :eid)",
                    ExpressionAttributeNames={"#at": "at", "#eid": "event_id"},
                    ExpressionAttributeValues={":at": {"S": item["at"]}, ":eid": {"S": item["event_id"]}},
                )
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code != "ConditionalCheckFailedException":
                    raise StorageError("DynamoDB refused a directory write", error=type(exc).__name__) from exc

    def shard_plans(self, guild_ids: Iterable[str]) -> dict[str, str]:
        """The stored feed shard plan (`G#<guild>` / `SHARDS`, attribute `plan`) of each guild that has one."""
        found = self._batch_get(
            ((keys.guild_pk(g), keys.SHARDS_SK) for g in guild_ids), projection="PK, #plan", names={"#plan": "plan"}
        )
        return {keys.guild_of_pk(str(item["PK"])): str(item.get("plan", "")) for item in found}

    def replace_shard_plan(self, guild_id: str, expected: str, plan: str) -> bool:
        """Store `plan` if the stored plan is still `expected` ("" for none); False when another writer
        changed it first (its plan stands: plans only ever grow)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _typed({"PK": keys.guild_pk(guild_id), "SK": keys.SHARDS_SK, "kind": "feed_shards", "plan": plan}),
        }
        if expected:
            request["ConditionExpression"] = "#plan = :expected"
            request["ExpressionAttributeNames"] = {"#plan": "plan"}
            request["ExpressionAttributeValues"] = {":expected": {"S": expected}}
        else:
            request["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self.client.put_item(**request)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("DynamoDB refused the shard plan", error=type(exc).__name__) from exc
        return True

    def _batch_get(
        self, keys: Iterable[tuple[str, str]], projection: str | None = None, names: dict[str, str] | None = None
    ) -> list[Item]:
        wanted = list(dict.fromkeys(keys))
        found: list[Item] = []
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            chunk = wanted[start : start + BATCH_GET_LIMIT]
            spec: dict[str, Any] = {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in chunk]}
            if projection:
                spec["ProjectionExpression"] = projection
            if names:
                spec["ExpressionAttributeNames"] = names
            request: dict[str, Any] = {self.table_name: spec}
            for attempt in range(self.backoff.attempts):
                try:
                    answer = self.client.batch_get_item(RequestItems=request)
                except Exception as exc:
                    if not _retryable(exc):
                        raise StorageError("DynamoDB refused a read", error=type(exc).__name__) from exc
                    answer = {"UnprocessedKeys": request}
                found.extend(_plain(raw) for raw in answer.get("Responses", {}).get(self.table_name, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._pause(attempt)
            else:
                raise StorageError("DynamoDB left keys unread after retries")
        return found


def _retryable(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    } or type(exc).__name__ in {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
    }
