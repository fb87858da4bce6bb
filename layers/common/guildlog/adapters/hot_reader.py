"""Reads of the hot table for the commands: Query, GetItem and BatchGetItem only — never a Scan.

Items come back as plain Python values; DynamoDB numbers become int (or float when fractional), so
the services never see Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.retry import Backoff
from guildlog.errors import StorageError
from guildlog.services.commands.context import Clause, Item, QueryPage

BATCH_GET_LIMIT = 100


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value


class HotReader:
    """`client` is a boto3 DynamoDB client (injected, or built lazily)."""

    def __init__(self, table_name: str, client: Any = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or Backoff(attempts=4)

    client = BotoClient("dynamodb")

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_from: str | None = None,
        sk_to: str | None = None,
        newest_first: bool = True,
        limit: int = 100,
        start_key: Any = None,
        attributes: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
    ) -> QueryPage:
        """One page of items under `pk` (of `index`), sort keys within [sk_from, sk_to], in order;
        with `attributes`, only those attributes of each item (a ProjectionExpression); with `where`,
        only the items every clause holds for (a FilterExpression: `limit` then counts the items
        examined, `scanned` in the answer)."""
        pk_name, sk_name = (f"{index}PK", f"{index}SK") if index else ("PK", "SK")
        condition = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": {"S": pk}}
        if sk_from is not None and sk_to is not None:
            condition += " AND #sk BETWEEN :low AND :high"
            values[":low"], values[":high"] = {"S": sk_from}, {"S": sk_to}
        elif sk_from is not None:
            condition += " AND #sk >= :low"
            values[":low"] = {"S": sk_from}
        elif sk_to is not None:
            condition += " AND #sk <= :high"
            values[":high"] = {"S": sk_to}
        if sk_from is not None or sk_to is not None:
            names["#sk"] = sk_name
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if index:
            request["IndexName"] = index
        if attributes:
            names.update({f"#a{n}": name for n, name in enumerate(attributes)})
            request["ProjectionExpression"] = ", ".join(f"#a{n}" for n in range(len(attributes)))
        if where:
            request["FilterExpression"] = filter_expression(where, names, values)
        if start_key is not None:
            request["ExclusiveStartKey"] = start_key
        answer = self._call("query", request)
        items = [plain_item(raw) for raw in answer.get("Items", [])]
        scanned = int(answer["ScannedCount"]) if where and "ScannedCount" in answer else None
        return QueryPage(items=items, next_key=answer.get("LastEvaluatedKey"), scanned=scanned)

    def query_feed(self, guild_id: str, **kwargs: Any) -> QueryPage:
        """One page of a guild's feed across all its shards, merged in sort-key order (services.feed:
        the same keyword arguments as `query`; `index` with `pk` reads one of the guild's GSI keys).
        A read with `query` on `G#<guild>` or a GSI key sees only shard 0 of a sharded guild."""
        from guildlog.services.feed import query_feed

        return query_feed(self, guild_id, **kwargs)

    def get(self, pk: str, sk: str) -> Item | None:
        request = {"TableName": self.table_name, "Key": {"PK": {"S": pk}, "SK": {"S": sk}}}
        found = self._call("get_item", request).get("Item")
        return plain_item(found) if found else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """Items by key (BatchGetItem, 100 a call, unprocessed keys retried); absent keys are left out."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            chunk = wanted[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {
                self.table_name: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in chunk]}
            }
            for attempt in range(self.backoff.attempts):
                answer = self._call("batch_get_item", {"RequestItems": request})
                for raw in answer.get("Responses", {}).get(self.table_name, []):
                    item = plain_item(raw)
                    found[(str(item["PK"]), str(item["SK"]))] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt + 1 < self.backoff.attempts:
                    self.backoff.wait(attempt)
            else:
                raise StorageError("DynamoDB left keys unread after retries")
        return found

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**request)
        except Exception as exc:  # botocore has already retried throttling and network errors
            raise StorageError("DynamoDB refused a read", operation=operation, error=type(exc).__name__) from exc
        return answer


def filter_expression(where: Sequence[Clause], names: dict[str, str], values: dict[str, Any]) -> str:
    """The FilterExpression of `where`, its names and values added under their own placeholders."""
    clauses = []
    for n, clause in enumerate(where):
        for v, value in enumerate(clause.values):
            values[f":w{n}v{v}"] = {"S": value}
        terms = []
        for a, attribute in enumerate(clause.attributes):
            names[f"#w{n}a{a}"] = attribute
            for v in range(len(clause.values)):
                name, value = f"#w{n}a{a}", f":w{n}v{v}"
                terms.append(f"contains({name}, {value})" if clause.contains else f"{name} = {value}")
        clauses.append("(" + " OR ".join(terms) + ")")
    return " AND ".join(clauses)


def plain_item(raw: dict[str, Any]) -> Item:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: plain(deserializer.deserialize(v)) for k, v in raw.items()}
