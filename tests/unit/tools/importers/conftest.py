"""The importers' tests: the ingest service over in-memory storage, and the paths they read."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from guildlog.models.config import GuildConfig
from guildlog.services.hot_items import Item
from guildlog.services.ingest import Ingestor
from guildlog_tools.importers.sink import IngestorSink
from tests.fakes.archive_stores import MemoryArchive
from tests.paths import FIXTURES_ROOT, REPO

OWN = REPO / "tests" / "fixtures" / "import"
DAF_LOGS = FIXTURES_ROOT / "daf" / "Examples" / "Logging"
DCE_SAMPLES = FIXTURES_ROOT / "chat-analytics" / "tests" / "samples" / "discord"
# Just after the own fixtures' days, so their rows are inside the hot table's retention.
NOW = datetime(2024, 2, 6, tzinfo=UTC)


def need_shared_fixtures() -> None:
    """Skip when ../shared/fixtures is absent (a clone on its own); under CI, fail instead."""
    if FIXTURES_ROOT.is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail("../shared/fixtures not found, but CI must run the importer tests against it", pytrace=False)
    pytest.skip("../shared/fixtures not found")


class MemoryHotStore:
    """The ingest service's HotStore port over a dict of items."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}

    def put_items(self, items: list[Item]) -> int:
        for item in items:
            self.items[(item["PK"], item["SK"])] = copy.deepcopy(item)
        return len(items)

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {key: self.items[key].get("batch_id", "") for key in keys if key in self.items}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, GuildConfig]:
        return {}


class MemoryStack:
    """What an import leaves behind: the archive's objects and the hot table's items."""

    def __init__(self, now: datetime = NOW) -> None:
        self.archive = MemoryArchive()
        self.store = MemoryHotStore()
        self.sink = IngestorSink(Ingestor(self.archive, self.store, clock=lambda: now))

    def lines(self, dataset: str) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for key in sorted(self.archive.objects)
            if key.startswith(dataset + "/")
            for line in self.archive.objects[key].splitlines()
        ]

    def rows(self) -> list[dict[str, Any]]:
        return sorted(self.lines("events"), key=lambda r: r["event_id"])

    def row(self, event_id: str) -> dict[str, Any]:
        found = [r for r in self.rows() if r["event_id"] == event_id]
        assert len(found) == 1, f"{len(found)} rows for {event_id}"
        return found[0]

    def snapshot(self) -> tuple[dict[str, str], dict[tuple[str, str], Item]]:
        return dict(self.archive.objects), copy.deepcopy(self.store.items)


@pytest.fixture
def stack() -> MemoryStack:
    return MemoryStack()


def own(relative: str) -> Path:
    return OWN / relative
