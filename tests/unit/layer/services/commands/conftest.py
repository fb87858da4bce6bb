"""Helpers for the command services' tests: rows as ingest makes them, an in-memory table, calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.models.interaction import Interaction
from guildlog.models.row import EventRow
from guildlog.services.commands.app import route
from guildlog.services.commands.context import Call, Ports
from guildlog.services.commands.cursor import HmacCursorCodec
from guildlog.services.timefmt import DISCORD_EPOCH_MS
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


def message_id(at: str, n: int = 0) -> str:
    millis = int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((millis << 22) + n)


def row(**fields: Any) -> EventRow:
    """A normalized row; defaults to a message from MEMBER in CHANNEL of GUILD."""
    at = fields.get("occurred_at", "2026-11-20T10:00:00.000Z")
    base: dict[str, Any] = {
        "event_id": f"gw:s:{at}",
        "batch_id": "b1",
        "source": "gateway",
        "event_type": "MESSAGE_CREATE",
        "category": "message",
        "action": "create",
        "occurred_at": at,
        "received_at": at,
        "shard_id": 0,
        "guild_id": fx.GUILD,
        "channel_id": fx.CHANNEL,
        "user_id": fx.MEMBER,
        "message_id": message_id(at),
        "user_name": "member",
        "content": "hello",
    }
    return EventRow(**{**base, **fields})


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def ports(table: MemoryTable) -> Ports:
    return Ports(reader=table, config=table, cursors=HmacCursorCodec(KEY), default_retention_days=30, now=lambda: NOW)


def call_of(payload: dict[str, Any], now: datetime = NOW) -> Call:
    interaction = Interaction.model_validate(payload)
    target = route(interaction)
    return Call(interaction=interaction, path=target.path, options=target.options, now=now)


def name_in_directory(table: MemoryTable, channels: dict[str, str], members: dict[str, str]) -> None:
    """What the directory holds after a GUILD_CREATE naming these channels and members (id → name)."""
    from guildlog.models.envelope import EnvelopeEvent
    from guildlog.services.directory import Directory
    from guildlog.services.normalize import normalize
    from tests.fakes.memory_directory import MemoryDirectoryStore

    d = {
        "id": fx.GUILD,
        "name": "Guild",
        "channels": [{"id": c, "name": name, "type": 0} for c, name in channels.items()],
        "members": [{"user": {"id": u, "username": name}, "roles": []} for u, name in members.items()],
    }
    event = EnvelopeEvent(t="GUILD_CREATE", received_at=datetime(2026, 11, 1, tzinfo=UTC), d=d)
    store = MemoryDirectoryStore()
    store.put_items(
        Directory(store).resolve([(normalize(event, event_id="gw:s:0", batch_id="b0"), d)], {}).new_snapshots
    )
    for item in store.items.values():
        table.put(item)
