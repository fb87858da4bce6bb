"""Where each shard of the live relay starts, from its checkpoint and its spool, and the queue that
feeds its pipeline (no network)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guildlog_relay.batcher import Batcher
from guildlog_relay.checkpoint import Checkpoint, PendingGap
from guildlog_relay.discovery import GatewayInfo
from guildlog_relay.events import DispatchRun
from guildlog_relay.live import EventQueue, LiveRelay, LiveSettings, resume_state
from guildlog_relay.pipeline import Pipeline
from guildlog_relay.spool import Spool


@pytest.fixture
def pipeline(tmp_path: Path, make_poster) -> Pipeline:
    return Pipeline(spool=Spool(tmp_path / "shard-0"), poster=make_poster(), batcher=Batcher(max_events=5))


NOW_ISO = "2026-03-01T13:00:00.000Z"


def relay(tmp_path: Path, shard_count: int = 1) -> LiveRelay:
    return LiveRelay(
        LiveSettings(state_dir=tmp_path),
        token="t",
        gateway=GatewayInfo("wss://x", shard_count),
        make_pipeline=lambda folder: None,  # type: ignore[arg-type, return-value]
        wall_clock=lambda: datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
    )


def spool_seqs(pipeline: Pipeline, make_event, session: str, seqs: range) -> None:
    for seq in seqs:
        for batch in pipeline.batcher.add(make_event(seq, session=session, at=seq), now=0.0):
            pipeline.spool.put(batch)


def test_resume_state_resumes_after_the_newest_spooled_seq_when_it_is_past_the_checkpoint(
    tmp_path: Path, pipeline: Pipeline, make_event
) -> None:
    spool_seqs(pipeline, make_event, "s1", range(11, 21))
    saved = Checkpoint(shard=(0, 1), session_id="s1", resume_url="wss://r", seq=10, received_at="x")

    resume, initial, earlier = resume_state((0, 1), saved, pipeline, NOW_ISO)

    assert (resume.session_id, resume.resume_url, resume.seq) == ("s1", "wss://r", 20)
    assert resume.since == "2026-03-01T12:00:20.000Z" and initial == saved and earlier is None


def test_resume_state_starts_the_pending_gap_at_what_is_on_disk_when_a_crash_took_events_from_memory(
    tmp_path: Path, pipeline: Pipeline, make_event
) -> None:
    spool_seqs(pipeline, make_event, "s1", range(11, 16))
    gap = PendingGap("s1", last_seq=22, since="2026-03-01T12:00:22.000Z", reason="invalid_session", acked_seq=10)
    saved = Checkpoint(shard=(0, 1), gap=gap)

    resume, initial, _ = resume_state((0, 1), saved, pipeline, NOW_ISO)

    assert resume.session_id is None and resume.pending_gap is not None
    assert (resume.pending_gap.last_seq, resume.pending_gap.since) == (15, "2026-03-01T12:00:15.000Z")
    assert initial is not None and initial.gap == resume.pending_gap


def test_resume_state_keeps_the_pending_gap_when_everything_it_claims_reached_the_disk(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    gap = PendingGap("s1", last_seq=22, since="2026-03-01T12:00:22.000Z", reason="invalid_session", acked_seq=22)

    resume, initial, _ = resume_state((0, 1), Checkpoint(shard=(0, 1), gap=gap), pipeline, NOW_ISO)

    assert resume.pending_gap == gap and initial is not None and initial.gap == gap


def test_resume_state_reports_the_saved_session_as_a_gap_when_the_shard_count_changed(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    saved = Checkpoint(
        shard=(0, 1), session_id="s1", resume_url="wss://r", seq=7, received_at="2026-03-01T12:00:07.000Z"
    )

    resume, initial, earlier = resume_state((0, 2), saved, pipeline, NOW_ISO)

    assert resume.session_id is None and earlier is None
    assert resume.pending_gap is not None and resume.pending_gap.reason == "shard_count_changed"
    assert (resume.pending_gap.session_id, resume.pending_gap.last_seq) == ("s1", 7)
    assert initial is not None and initial.shard == (0, 2) and initial.gap == resume.pending_gap


# -- the queue between a shard's session and its forwarder ---------------------------------------


def _seqs(items: list) -> list[int | None]:
    return [seq for item in items for seq in (item.seqs if isinstance(item, DispatchRun) else [item.seq])]


def test_event_queue_makes_put_wait_until_get_all_frees_room_when_full(make_event) -> None:
    async def scenario() -> tuple[list[int], list[list[int | None]]]:
        queue = EventQueue(3)
        put: list[int] = []

        async def producer() -> None:
            for seq in range(1, 8):
                await queue.put(make_event(seq))
                put.append(seq)

        task = asyncio.create_task(producer())
        await asyncio.sleep(0)
        taken: list[list[int | None]] = []
        assert put == [1, 2, 3] and queue.qsize() == 3  # the fourth put waits
        while sum(len(c) for c in taken) < 7:
            items, count = await queue.get_all()
            assert count == len(items) <= 3
            taken.append(_seqs(items))
            queue.task_done(count)
            await asyncio.sleep(0)
        await task
        return put, taken

    put, taken = asyncio.run(scenario())

    assert put == list(range(1, 8)) and [seq for chunk in taken for seq in chunk] == list(range(1, 8))


def test_event_queue_gathers_dispatches_in_one_run_between_other_events_when_put(make_event) -> None:
    async def scenario() -> tuple[list, int]:
        queue = EventQueue(100)
        at = datetime(2026, 3, 1, tzinfo=UTC)
        for seq in (1, 2):
            assert queue.put_dispatch("s", (0, 1), b"{}", "MESSAGE_CREATE", seq, at)
        await queue.put(make_event(3))
        for seq in (4, 5):
            assert queue.put_dispatch("s", (0, 1), b"{}", "MESSAGE_CREATE", seq, at)
        assert queue.put_dispatch("other", (0, 1), b"{}", "MESSAGE_CREATE", 1, at)
        return await queue.get_all()

    items, count = asyncio.run(scenario())

    assert [type(item).__name__ for item in items] == ["DispatchRun", "RelayEvent", "DispatchRun", "DispatchRun"]
    assert _seqs(items) == [1, 2, 3, 4, 5, 1] and count == 6


def test_event_queue_refuses_a_dispatch_until_room_when_full() -> None:
    async def scenario() -> list[str]:
        queue = EventQueue(2)
        at = datetime(2026, 3, 1, tzinfo=UTC)
        seen = [str(queue.put_dispatch("s", (0, 1), b"{}", "MESSAGE_CREATE", seq, at)) for seq in (1, 2, 3)]
        waiting = asyncio.create_task(queue.room())
        await asyncio.sleep(0)
        seen.append(f"room {waiting.done()}")
        items, _ = await queue.get_all()
        await asyncio.sleep(0)
        seen.append(f"room {waiting.done()}, taken {_seqs(items)}")
        seen.append(str(queue.put_dispatch("s", (0, 1), b"{}", "MESSAGE_CREATE", 3, at)))
        items, _ = await queue.get_all()
        seen.append(f"a new run {_seqs(items)}")
        return seen

    assert asyncio.run(scenario()) == [
        "True",
        "True",
        "False",
        "room False",
        "room True, taken [1, 2]",
        "True",
        "a new run [3]",
    ]


def test_event_queue_join_waits_for_task_done_of_every_event_when_taken(make_event) -> None:
    async def scenario() -> list[str]:
        queue = EventQueue(10)
        seen: list[str] = []
        for seq in (1, 2, 3):
            await queue.put(make_event(seq))
        joined = asyncio.create_task(queue.join())
        _, count = await queue.get_all()
        await asyncio.sleep(0)
        seen.append(f"taken {count}, joined {joined.done()}, empty {queue.empty()}")
        queue.task_done(2)
        await asyncio.sleep(0)
        seen.append(f"joined {joined.done()}")
        queue.task_done(1)
        await asyncio.sleep(0)
        seen.append(f"joined {joined.done()}")
        return seen

    assert asyncio.run(scenario()) == ["taken 3, joined False, empty True", "joined False", "joined True"]


def test_event_queue_passes_room_on_when_a_waiting_put_is_cancelled(make_event) -> None:
    async def scenario() -> list[int | None]:
        queue = EventQueue(1)
        await queue.put(make_event(1))
        first = asyncio.create_task(queue.put(make_event(2)))
        second = asyncio.create_task(queue.put(make_event(3)))
        await asyncio.sleep(0)
        await queue.get_all()  # room for one: the first waiting put is woken...
        first.cancel()  # ...and cancelled before it ran, so the second must get the room
        await asyncio.gather(first, return_exceptions=True)
        await asyncio.wait_for(second, 60)
        items, _ = await queue.get_all()
        return _seqs(items)

    assert asyncio.run(scenario()) == [3]
