"""Ingest's hand-over to the moderation log: which rows are queued for NotifyFunction, and how."""

from __future__ import annotations

import json
from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.services.ingest import ConfigCache, Ingestor
from tests.unit.layer.services.test_ingest import GUILD, NOW, USER, FakeArchive, FakeStore, body, message, run

LOG = "100000000000000050"


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, messages: list[tuple[str, str, str]]) -> int:
        self.sent.extend(messages)
        return 1


def make(config: GuildConfig | None) -> tuple[Ingestor, FakeQueue]:
    queue = FakeQueue()
    store = FakeStore({GUILD: config} if config else {})
    ingestor = Ingestor(
        FakeArchive(), store, clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0), notifier=queue
    )
    return ingestor, queue


def delete(seq: int, at: str) -> dict[str, Any]:
    return {
        "t": "MESSAGE_DELETE",
        "seq": seq,
        "received_at": at,
        "d": {"id": str(200000000000000000 + seq), "channel_id": "100000000000000002", "guild_id": GUILD},
    }


def join(seq: int, at: str) -> dict[str, Any]:
    return {
        "t": "GUILD_MEMBER_ADD",
        "seq": seq,
        "received_at": at,
        "d": {"guild_id": GUILD, "user": {"id": USER, "username": "alice"}, "joined_at": at},
    }


def test_ingest_queues_the_postable_rows_in_order_when_the_guild_has_a_log_channel() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD, log_channel_id=LOG))
    at = "2026-03-08T00:59:00.000Z"

    run(ingestor, body(message(1, at), join(2, at), delete(3, at)))

    assert [json.loads(b)["row"]["event_type"] for _, _, b in queue.sent] == ["GUILD_MEMBER_ADD", "MESSAGE_DELETE"]
    assert {group for group, _, _ in queue.sent} == {GUILD}
    assert [e for _, e, _ in queue.sent] == ["gw:s1:2", "gw:s1:3"]


def test_ingest_queues_nothing_when_the_guild_has_no_log_channel() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD))

    run(ingestor, body(join(2, "2026-03-08T00:59:00.000Z")))

    assert queue.sent == []


def test_ingest_queues_again_when_a_batch_is_retried_so_a_crash_before_the_hand_over_loses_nothing() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD, log_channel_id=LOG))
    payload = body(join(2, "2026-03-08T00:59:00.000Z"))

    run(ingestor, payload)
    run(ingestor, payload)

    assert [e for _, e, _ in queue.sent] == ["gw:s1:2", "gw:s1:2"]  # same event id: SQS and the markers keep one


def test_ingest_queues_nothing_when_the_rows_are_imported_history() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD, log_channel_id=LOG))
    event = {**join(2, "2026-03-08T00:59:00.000Z"), "source": "import", "id": "x-1"}

    run(ingestor, body(event))

    assert queue.sent == []
