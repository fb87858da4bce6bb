"""The interactions function's two writes: interaction claims and a server's configuration.

- Claim: `I#<interaction id>` / `CLAIM`, a conditional PutItem (`attribute_not_exists`), so the
  same interaction delivered twice has its side effects once. It expires after a day (TTL).
- Configuration: `G#<guild>` / `CONFIG`, one UpdateItem per change (SET, REMOVE, and ADD/DELETE on
  string sets), so two moderators changing different settings at once do not undo each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.hot_reader import plain_item
from guildlog.errors import StorageError
from guildlog.services import keys
from guildlog.services.commands.context import Item


class CommandStore:
    """`client` is a boto3 DynamoDB client (injected, or built lazily)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    client = BotoClient("dynamodb")

    def claim(self, interaction_id: str, expires_at: int) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "PK": {"S": keys.claim_pk(interaction_id)},
                    "SK": {"S": keys.CLAIM_SK},
                    "kind": {"S": "interaction_claim"},
                    "expires_at": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise StorageError("DynamoDB refused the interaction claim", error=type(exc).__name__) from exc
        return True

    def update_config(
        self,
        guild_id: str,
        *,
        actor_id: str,
        at: str,
        set_fields: Mapping[str, Any] | None = None,
        remove_fields: Iterable[str] = (),
        add_to_sets: Mapping[str, str] | None = None,
        delete_from_sets: Mapping[str, str] | None = None,
    ) -> Item:
        """Apply one change to the server's configuration; returns the item as it is now."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = ["#guild = :guild", "#by = :by", "#at = :at", "#kind = :kind"]
        names.update({"#guild": "guild_id", "#by": "updated_by", "#at": "updated_at", "#kind": "kind"})
        values.update(
            {":guild": {"S": guild_id}, ":by": {"S": actor_id}, ":at": {"S": at}, ":kind": {"S": "guild_config"}}
        )
        for n, (name, value) in enumerate((set_fields or {}).items()):
            names[f"#s{n}"] = name
            if isinstance(value, bool):
                values[f":s{n}"] = {"BOOL": value}
            else:
                values[f":s{n}"] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
            sets.append(f"#s{n} = :s{n}")
        expression = "SET " + ", ".join(sets)
        removes = []
        for n, name in enumerate(remove_fields):
            names[f"#r{n}"] = name
            removes.append(f"#r{n}")
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        adds = []
        for n, (name, member) in enumerate((add_to_sets or {}).items()):
            names[f"#a{n}"] = name
            values[f":a{n}"] = {"SS": [member]}
            adds.append(f"#a{n} :a{n}")
        if adds:
            expression += " ADD " + ", ".join(adds)
        deletes = []
        for n, (name, member) in enumerate((delete_from_sets or {}).items()):
            names[f"#d{n}"] = name
            values[f":d{n}"] = {"SS": [member]}
            deletes.append(f"#d{n} :d{n}")
        if deletes:
            expression += " DELETE " + ", ".join(deletes)
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key={"PK": {"S": keys.guild_pk(guild_id)}, "SK": {"S": keys.CONFIG_SK}},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            raise StorageError("DynamoDB refused the configuration change", error=type(exc).__name__) from exc
        return plain_item(answer.get("Attributes", {}))


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
