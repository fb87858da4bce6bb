"""The hot table as an erasure uses it: tombstones, the member's items (Query and GetItem only),
redacted items written back, the job's progress and the receipts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.dynamodb_store import _plain, _typed
from guildlog.errors import StorageError
from guildlog.services import keys
from guildlog.services.directory import dir_pk
from guildlog.services.erasure.receipt import Receipt

# Directory items of one member: exact keys, and the prefixes of their versions and join answers.
_DIRECTORY_EXACT = ("M#", "N#", "V#", "A#", "L#")
_DIRECTORY_PREFIXES = ("H#M#", "J#")


class ErasureStore:
    """`client` is a boto3 DynamoDB client (injected, or built lazily)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    client = BotoClient("dynamodb")

    def _query(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        try:
            for page in self.client.get_paginator("query").paginate(TableName=self.table_name, **params):
                items.extend(_plain(raw) for raw in page.get("Items", []))
        except Exception as exc:
            raise StorageError("DynamoDB did not answer a query", error=type(exc).__name__) from exc
        return items

    def _prefix(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        return self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":p": {"S": prefix}},
        )

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            answer = self.client.get_item(
                TableName=self.table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
            )
        except Exception as exc:
            raise StorageError("DynamoDB did not return an item", error=type(exc).__name__) from exc
        return _plain(answer["Item"]) if "Item" in answer else None

    def _put(self, item: dict[str, Any], **condition: Any) -> bool:
        try:
            self.client.put_item(TableName=self.table_name, Item=_typed(item), **condition)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                return False
            raise StorageError("DynamoDB refused an item", error=type(exc).__name__) from exc
        return True

    # --- tombstones ---------------------------------------------------------------------------
    def put_tombstone(self, guild_id: str, user_id: str, *, job_id: str, requested_by: str, at: str) -> None:
        self._put(
            {
                "PK": keys.erasure_pk(guild_id),
                "SK": keys.tombstone_sk(user_id),
                "kind": "tombstone",
                "user_id": user_id,
                "job_id": job_id,
                "requested_by": requested_by,
                "requested_at": at,
            }
        )

    def tombstones(self, guild_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        """The erased members of each guild (one Query per guild)."""
        found: dict[str, frozenset[str]] = {}
        for guild_id in guild_ids:
            items = self._prefix(keys.erasure_pk(guild_id), keys.TOMBSTONE_PREFIX)
            found[guild_id] = frozenset(str(i["user_id"]) for i in items if i.get("user_id"))
        return found

    # --- the member's items -------------------------------------------------------------------
    def member_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]:
        """Every event of the member in the guild's feed (GSI1, every shard of the member's key), as the
        base table holds it."""
        base = keys.member_index_pk(guild_id, user_id)
        indexed: list[dict[str, Any]] = []
        for shard in range(self._feed_shards(guild_id)):
            indexed += self._query(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.index_shard_pk(base, shard)}},
            )
        return indexed

    def _feed_shards(self, guild_id: str) -> int:
        """The most feed shards the guild's plan ever had (1 without a plan): its feed's and its index keys'."""
        from guildlog.services.feed_shards import ShardPlan

        plan = self._get(keys.guild_pk(guild_id), keys.SHARDS_SK)
        return max(ShardPlan.parse(str(plan["plan"]) if plan and plan.get("plan") else None).max_shards, 1)

    def directory_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]:
        pk = dir_pk(guild_id)
        items = [item for prefix in _DIRECTORY_EXACT if (item := self._get(pk, f"{prefix}{user_id}"))]
        for prefix in _DIRECTORY_PREFIXES:
            items.extend(self._prefix(pk, f"{prefix}{user_id}#"))
        return items

    def message_items(self, message_ids: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for message_id in message_ids:
            items.extend(
                i
                for i in self._prefix(keys.message_pk(message_id), keys.VERSION_PREFIX)
                if i.get("kind") == "message_version"
            )
        return items

    def put_if_exists(self, items: list[dict[str, Any]]) -> None:
        """Write redacted items back, each only if it is still there (an item expired meanwhile stays gone)."""
        for item in items:
            self._put(item, ConditionExpression="attribute_exists(PK)")

    # --- the job and its receipt --------------------------------------------------------------
    def load_job(self, guild_id: str, job_id: str) -> dict[str, Any] | None:
        item = self._get(keys.erasure_pk(guild_id), keys.erasure_job_sk(job_id))
        return json.loads(str(item["progress"])) if item and item.get("progress") else None

    def save_job(self, guild_id: str, job_id: str, job: dict[str, Any]) -> None:
        self._put(
            {
                "PK": keys.erasure_pk(guild_id),
                "SK": keys.erasure_job_sk(job_id),
                "kind": "erasure_job",
                "state": str(job.get("state", "started")),
                "progress": json.dumps(job, separators=(",", ":"), sort_keys=True),
            }
        )

    def put_receipt(self, receipt: Receipt) -> None:
        self._put(
            {
                "PK": keys.erasure_pk(receipt.guild_id),
                "SK": keys.receipt_sk(receipt.finished_at, receipt.job_id),
                "kind": "erasure_receipt",
                "job_id": receipt.job_id,
                "user_id": receipt.user_id,
                "receipt": receipt.to_json(),
            }
        )

    def receipts(self, guild_id: str, limit: int = 10) -> list[Receipt]:
        try:
            answer = self.client.query(
                TableName=self.table_name,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                ExpressionAttributeValues={":pk": {"S": keys.erasure_pk(guild_id)}, ":p": {"S": keys.RECEIPT_PREFIX}},
                ScanIndexForward=False,
                Limit=limit,
            )
        except Exception as exc:
            raise StorageError("DynamoDB did not answer a query", error=type(exc).__name__) from exc
        return [Receipt.from_json(str(_plain(raw)["receipt"])) for raw in answer.get("Items", [])]

    # --- a guild that removed the bot ---------------------------------------------------------
    def schedule_guild_deletion(self, guild_id: str, due_at: str, removed_at: str) -> None:
        """Record the guild's deletion as due at `due_at` (a second GUILD_DELETE keeps the first date)."""
        item = {"PK": keys.erasure_pk(guild_id), "SK": keys.GUILD_DELETION_SK, "kind": "guild_deletion"}
        if self._put(
            {**item, "due_at": due_at, "removed_at": removed_at}, ConditionExpression="attribute_not_exists(PK)"
        ):
            self._put({"PK": keys.DUE_DELETIONS_PK, "SK": keys.due_deletion_sk(due_at, guild_id), "guild_id": guild_id})

    def cancel_guild_deletion(self, guild_id: str) -> None:
        scheduled = self._get(keys.erasure_pk(guild_id), keys.GUILD_DELETION_SK)
        if scheduled is None:
            return
        self.delete_keys(
            [
                (keys.DUE_DELETIONS_PK, keys.due_deletion_sk(str(scheduled["due_at"]), guild_id)),
                (keys.erasure_pk(guild_id), keys.GUILD_DELETION_SK),
            ]
        )

    def scheduled_deletions(self, guild_ids: Iterable[str]) -> set[str]:
        """The guilds among these whose deletion is scheduled."""
        return {g for g in guild_ids if self._get(keys.erasure_pk(g), keys.GUILD_DELETION_SK)}

    def due_deletions(self, now: str) -> list[str]:
        """Guilds whose deletion is due at `now` (one Query of the due index)."""
        items = self._query(
            KeyConditionExpression="PK = :pk AND SK <= :now",
            ExpressionAttributeValues={":pk": {"S": keys.DUE_DELETIONS_PK}, ":now": {"S": now + "$"}},
        )
        return [str(i["guild_id"]) for i in items if i.get("guild_id")]

    def guild_item_keys(self, guild_id: str) -> list[tuple[str, str]]:
        """Every hot item of the guild, by Query: its feed shards (with its config and shard plan), its
        messages' versions, its directory and its daily counters (the days its events name, and the
        days of its retention). Its erasure partition (receipts) is kept."""
        from datetime import date, timedelta

        guild_pk = keys.guild_pk(guild_id)
        shards = self._feed_shards(guild_id)
        feed = [item for shard in range(shards) for item in self._all(keys.feed_pk(guild_id, shard))]
        found = {(str(i["PK"]), str(i["SK"])) for i in feed}
        days: set[str] = set()
        for item in feed:
            if isinstance(item.get("message_id"), str):
                for version in self._all(keys.message_pk(str(item["message_id"]))):
                    if version.get("guild_id") in (guild_id, None):
                        found.add((str(version["PK"]), str(version["SK"])))
            if isinstance(item.get("occurred_at"), str):
                days.add(str(item["occurred_at"])[:10])
        found |= {(str(i["PK"]), str(i["SK"])) for i in self._all(dir_pk(guild_id))}
        config = self._get(guild_pk, keys.CONFIG_SK)
        retention = int(config.get("retention_days", 30)) if config else 30
        today = date.today()
        days |= {(today - timedelta(days=back)).isoformat() for back in range(retention + 2)}
        for day in sorted(days):
            found |= {(str(i["PK"]), str(i["SK"])) for i in self._all(keys.day_pk(guild_id, day))}
        return sorted(found)

    def _all(self, pk: str) -> list[dict[str, Any]]:
        return self._query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}})

    def delete_keys(self, keys_: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys_), 25):
            chunk = keys_[start : start + 25]
            requests = [{"DeleteRequest": {"Key": {"PK": {"S": pk}, "SK": {"S": sk}}}} for pk, sk in chunk]
            pending: dict[str, Any] = {self.table_name: requests}
            for _ in range(8):
                try:
                    answer = self.client.batch_write_item(RequestItems=pending)
                except Exception as exc:
                    raise StorageError("DynamoDB did not delete items", error=type(exc).__name__) from exc
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise StorageError("DynamoDB left items undeleted")
