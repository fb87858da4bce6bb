"""The moderation log's store (adapters.modlog_store.DynamoLogStore) over the in-memory hot table."""

from __future__ import annotations

from guildlog.errors import StorageError
from guildlog.models.config import ERROR_PREFIX, WEBHOOK_PREFIX, GuildConfig
from tests.fakes.memory_table import MemoryTable


class MemoryLogStore:
    def __init__(self, table: MemoryTable) -> None:
        self.table = table
        self.fail_marks = 0  # the next n mark_posted calls fail (a crash between the post and its marker)

    def config(self, guild_id: str) -> GuildConfig | None:
        item = self.table.items.get((f"G#{guild_id}", "CONFIG"))
        return GuildConfig.model_validate({**item, "guild_id": guild_id}) if item else None

    def posted(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(e, c) for e, c in keys if (f"N#{e}", f"P#{c}") in self.table.items}

    def mark_posted(self, keys: list[tuple[str, str]]) -> None:
        if self.fail_marks:
            self.fail_marks -= 1
            raise StorageError("scripted marker failure")
        for event, channel in keys:
            self.table.put({"PK": f"N#{event}", "SK": f"P#{channel}", "kind": "modlog_posted"})

    def stop_channel(self, guild_id: str, channel_id: str, reason: str) -> None:
        self._set(guild_id, ERROR_PREFIX + channel_id, reason)

    def save_webhook(self, guild_id: str, channel_id: str, value: str) -> None:
        self._set(guild_id, WEBHOOK_PREFIX + channel_id, value)

    def _set(self, guild_id: str, name: str, value: str) -> None:
        item = self.table.items.setdefault((f"G#{guild_id}", "CONFIG"), {"PK": f"G#{guild_id}", "SK": "CONFIG"})
        if value:
            item[name] = value
        else:
            item.pop(name, None)
