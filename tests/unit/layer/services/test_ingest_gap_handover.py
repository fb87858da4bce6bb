"""Ingest's hand-over of relay gaps to the gap repair (Ingestor(gap_repairs=…))."""

from __future__ import annotations

from typing import Any

from guildlog.services.gap_repair import GapJob
from guildlog.services.ingest import ConfigCache, Ingestor
from tests.unit.layer.services.test_ingest import NOW, FakeArchive, FakeStore, body, message, run

GAP_D = {
    "shard": [0, 1],
    "session_id": "s0",
    "last_seq": 41,
    "from_seq": 42,
    "to_seq": None,
    "since": "2026-03-08T00:10:00.000Z",
    "until": "2026-03-08T00:15:00.000Z",
    "reason": "session_expired",
}


class Jobs:
    def __init__(self) -> None:
        self.sent: list[GapJob] = []

    def send(self, jobs: list[Any]) -> None:
        self.sent.extend(jobs)


def gap_event(**d: Any) -> dict[str, Any]:
    return {
        "t": "GUILDLOG_GAP",
        "source": "relay",
        "id": "gap-0-s0-42",
        "shard": [0, 1],
        "received_at": "2026-03-08T00:10:00.000Z",
        "d": {**GAP_D, **d},
    }


def make() -> tuple[Ingestor, Jobs]:
    jobs = Jobs()
    ingestor = Ingestor(
        FakeArchive(), FakeStore(), clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0), gap_repairs=jobs
    )
    return ingestor, jobs


def test_ingest_hands_a_gap_to_the_repair_when_the_relay_reports_one() -> None:
    ingestor, jobs = make()

    run(ingestor, body(message(1, "2026-03-08T00:09:00.000Z"), gap_event()))

    assert jobs.sent == [
        GapJob(
            gap_event_id="relay:gap-0-s0-42",
            shard=(0, 1),
            since="2026-03-08T00:10:00.000Z",
            until="2026-03-08T00:15:00.000Z",
            reason="session_expired",
        )
    ]


def test_ingest_hands_the_gap_again_when_its_batch_is_retried() -> None:
    ingestor, jobs = make()
    run(ingestor, body(gap_event()))

    run(ingestor, body(gap_event()))

    assert [j.gap_event_id for j in jobs.sent] == ["relay:gap-0-s0-42", "relay:gap-0-s0-42"]


def test_ingest_hands_nothing_over_when_the_batch_holds_no_gap() -> None:
    ingestor, jobs = make()

    run(ingestor, body(message(1, "2026-03-08T00:09:00.000Z")))

    assert jobs.sent == []
