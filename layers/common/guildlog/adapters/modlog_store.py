"""The moderation log's reads and writes in the hot table.

- the guild's configuration: GetItem `G#<guild>` / `CONFIG`, read afresh for every batch;
- posted markers: `N#<event id>` / `P#<channel>` (BatchGetItem before posting, BatchWriteItem after;
  a week's TTL, longer than SQS keeps a message), so a redelivered row is not posted twice;
- a stopped channel (`error#<channel>`) and a channel's webhook (`webhook#<channel>`): one
  attribute of the config item each, SET by UpdateItem without touching the rest of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.errors import StorageError
from guildlog.models.config import ERROR_PREFIX, WEBHOOK_PREFIX, GuildConfig
from guildlog.services.timefmt import iso, utcnow

MARKER_TTL_S = 7 * 24 * 3600


class DynamoLogStore:
    """`client` is a boto3 DynamoDB client (injected, or built lazily by the reader and the store)."""

    def __init__(self, table_name: str, client: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.reader = HotReader(table_name, client)
        self.store = DynamoStore(table_name, client)
        self.clock = clock

    def config(self, guild_id: str) -> GuildConfig | None:
        item = self.reader.get(f"G#{guild_id}", "CONFIG")
        return GuildConfig.model_validate({**item, "guild_id": guild_id}) if item else None

    def posted(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        found = self.reader.get_many((f"N#{event}", f"P#{channel}") for event, channel in keys)
        return {(pk[2:], sk[2:]) for pk, sk in found}

    def mark_posted(self, keys: list[tuple[str, str]]) -> None:
        expires = int(self.clock()) + MARKER_TTL_S
        items = [
            {"PK": f"N#{event}", "SK": f"P#{channel}", "kind": "modlog_posted", "expires_at": expires}
            for event, channel in keys
        ]
        if items:
            self.store.put_items(items)

    def stop_channel(self, guild_id: str, channel_id: str, reason: str) -> None:
        """Record why posting in the channel stopped; an empty reason clears it (the channel works again)."""
        self._set(guild_id, ERROR_PREFIX + channel_id, f"{reason}, since {iso(utcnow())}" if reason else "")

    def save_webhook(self, guild_id: str, channel_id: str, value: str) -> None:
        self._set(guild_id, WEBHOOK_PREFIX + channel_id, value)

    def _set(self, guild_id: str, name: str, value: str) -> None:
        key = {"PK": {"S": f"G#{guild_id}"}, "SK": {"S": "CONFIG"}}
        try:
            if value:
                self.store.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="SET #n = :v",
                    ExpressionAttributeNames={"#n": name},
                    ExpressionAttributeValues={":v": {"S": value}},
                )
            else:
                self.store.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="REMOVE #n",
                    ExpressionAttributeNames={"#n": name},
                )
        except Exception as exc:
            raise StorageError("DynamoDB refused a log configuration write", error=type(exc).__name__) from exc
