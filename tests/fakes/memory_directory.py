"""The directory's store port (services/directory.py DirectoryStore) in memory, with DynamoDB's
semantics: conditional snapshot puts by (`at`, `event_id`), version reads by key order."""

from __future__ import annotations

import copy
from typing import Any

Item = dict[str, Any]


class MemoryDirectoryStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.snapshot_puts = 0
        self.version_queries = 0

    def snapshots(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        return {key: copy.deepcopy(self.items[key]) for key in keys if key in self.items}

    def version_before(self, pk: str, prefix: str, below: str) -> Item | None:
        self.version_queries += 1
        found = sorted(sk for (p, sk) in self.items if p == pk and sk.startswith(prefix) and sk < below)
        return copy.deepcopy(self.items[(pk, found[-1])]) if found else None

    def put_snapshots(self, items: list[Item]) -> None:
        for item in items:
            key = (item["PK"], item["SK"])
            stored = self.items.get(key)
            if stored is None or (stored["at"], stored["event_id"]) <= (item["at"], item["event_id"]):
                self.items[key] = copy.deepcopy(item)
                self.snapshot_puts += 1

    def put_items(self, items: list[Item]) -> int:
        for item in items:
            self.items[(item["PK"], item["SK"])] = copy.deepcopy(item)
        return 1


class ScriptedInvites:
    """InviteLister: answers each guild's list from a script, and counts the calls."""

    def __init__(self, lists: list[list[dict[str, Any]] | None]) -> None:
        self.lists = list(lists)
        self.calls = 0

    def list_invites(self, guild_id: str) -> list[dict[str, Any]] | None:
        self.calls += 1
        return copy.deepcopy(self.lists.pop(0)) if self.lists else None
