"""Ingest's hand-over of attachment copies: what is queued, and that it is batched."""

from __future__ import annotations

from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.services.attachments import CopyJob
from guildlog.services.ingest import ConfigCache, Ingestor
from tests.unit.layer.services.test_ingest import GUILD, NOW, FakeArchive, FakeStore, body, message, run

AT = "2026-03-08T00:59:00.000Z"


class FakeQueue:
    def __init__(self) -> None:
        self.calls: list[list[CopyJob]] = []

    def send(self, jobs: list[CopyJob]) -> int:
        self.calls.append(list(jobs))
        return 1


def make(config: GuildConfig | None = None) -> tuple[Ingestor, FakeQueue]:
    queue = FakeQueue()
    store = FakeStore({GUILD: config} if config else {})
    ingestor = Ingestor(
        FakeArchive(), store, clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0), attachment_queue=queue
    )
    return ingestor, queue


def files(n: int) -> list[dict[str, Any]]:
    return [
        {"id": str(300000000000000000 + i), "filename": f"f{i}.png", "url": f"https://cdn.discordapp.com/a/{i}/f.png"}
        for i in range(n)
    ]


def test_ingest_queues_every_file_of_a_batch_in_one_hand_over_when_messages_have_attachments() -> None:
    ingestor, queue = make()

    run(ingestor, body(message(1, AT, attachments=files(2)), message(2, AT, attachments=files(3))))

    assert len(queue.calls) == 1 and len(queue.calls[0]) == 5


def test_ingest_queues_nothing_when_the_guild_switched_copies_off() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD, attachments_copy=False))

    run(ingestor, body(message(1, AT, attachments=files(2))))

    assert queue.calls == []


def test_ingest_queues_nothing_when_no_message_has_a_file() -> None:
    ingestor, queue = make()

    run(ingestor, body(message(1, AT), message(2, AT)))

    assert queue.calls == []


def test_ingest_queues_the_record_expiry_from_the_guilds_retention_when_it_has_one() -> None:
    ingestor, queue = make(GuildConfig(guild_id=GUILD, retention_days=7))

    run(ingestor, body(message(1, AT, attachments=files(1))))

    [[job]] = queue.calls
    assert job.expires_at == int(NOW.timestamp()) - 60 + 7 * 86_400
