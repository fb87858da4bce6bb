"""Per-shard checkpoints: written after acknowledgement only, never backwards, a lost session kept
as a pending gap until its gap event is on disk."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guildlog_relay.checkpoint import Checkpoint, Checkpointer, CheckpointStore, PendingGap
from guildlog_relay.pipeline import Ack

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GAP = PendingGap(session_id="s1", last_seq=40, since="2026-03-01T11:59:00.000Z", reason="session_expired")


def checkpointer(folder: Path, initial: Checkpoint | None = None) -> Checkpointer:
    return Checkpointer(CheckpointStore(folder), (0, 1), initial, clock=lambda: NOW)


def test_checkpoint_store_reads_back_what_it_wrote_when_reopened(tmp_path: Path) -> None:
    saved = Checkpoint(shard=(3, 8), session_id="s1", resume_url="wss://r", seq=12, received_at="x", gap=GAP)
    CheckpointStore(tmp_path).save(saved)

    assert CheckpointStore(tmp_path).load() == saved
    assert (tmp_path / "checkpoint.json").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "text", [b"", b"{", b'{"v":2}', b'{"v":1,"shard":[0],"seq":1}', b'{"v":1,"shard":[0,1],"seq":-1}']
)
def test_checkpoint_store_moves_an_unreadable_file_aside_and_starts_fresh_when_loading(
    tmp_path: Path, text: bytes
) -> None:
    (tmp_path / "checkpoint.json").write_bytes(text)

    assert CheckpointStore(tmp_path).load() is None
    assert (tmp_path / "checkpoint.json.unreadable").read_bytes() == text


def test_checkpointer_moves_forward_only_for_the_current_session_when_acks_arrive(tmp_path: Path) -> None:
    async def scenario() -> Checkpoint | None:
        live = checkpointer(tmp_path)
        await live.on_ready("s2", "wss://resume")
        await live.on_ack(Ack("s2", (0, 1), 10, "b1", "2026-03-01T11:00:00.000Z"))
        await live.on_ack(Ack("s1", (0, 1), 99, "old"))  # an older session's batch draining
        await live.on_ack(Ack("s2", (0, 1), 7, "b0"))  # never backwards
        return CheckpointStore(tmp_path).load()

    saved = asyncio.run(scenario())
    assert saved is not None
    assert (saved.session_id, saved.resume_url, saved.seq, saved.received_at) == (
        "s2",
        "wss://resume",
        10,
        "2026-03-01T11:00:00.000Z",
    )


def test_checkpointer_starts_a_new_session_at_seq_0_when_ready_arrives(tmp_path: Path) -> None:
    async def scenario() -> Checkpoint | None:
        live = checkpointer(tmp_path, Checkpoint(shard=(0, 1), session_id="s1", resume_url="u", seq=50))
        await live.on_ready("s2", "wss://r2")
        return CheckpointStore(tmp_path).load()

    saved = asyncio.run(scenario())
    assert saved is not None and (saved.session_id, saved.seq) == ("s2", 0)


def test_checkpointer_forgets_the_session_and_keeps_the_gap_until_recorded_when_a_session_is_lost(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[Checkpoint | None, Checkpoint | None]:
        live = checkpointer(tmp_path, Checkpoint(shard=(0, 1), session_id="s1", resume_url="u", seq=40))
        await live.session_lost(GAP)
        lost = CheckpointStore(tmp_path).load()
        await live.gap_recorded(GAP)
        return lost, CheckpointStore(tmp_path).load()

    lost, recorded = asyncio.run(scenario())
    assert lost is not None and lost.session_id is None and not lost.resumable
    assert lost.gap is not None and (lost.gap.session_id, lost.gap.last_seq, lost.gap.acked_seq) == ("s1", 40, 40)
    assert recorded is not None and recorded.gap is None


def test_checkpointer_keeps_count_of_the_lost_sessions_acks_when_its_batches_drain_after_the_loss(
    tmp_path: Path,
) -> None:
    async def scenario() -> Checkpoint | None:
        live = checkpointer(tmp_path, Checkpoint(shard=(0, 1), session_id="s1", resume_url="u", seq=30))
        await live.session_lost(GAP)
        await live.on_ack(Ack("s1", (0, 1), 35, "b", "2026-03-01T11:58:00.000Z"))
        await live.on_ready("s2", "u2")
        await live.on_ack(Ack("s1", (0, 1), 40, "b2", "2026-03-01T11:59:00.000Z"))
        return CheckpointStore(tmp_path).load()

    saved = asyncio.run(scenario())
    assert saved is not None and saved.session_id == "s2" and saved.seq == 0
    assert saved.gap is not None and (saved.gap.acked_seq, saved.gap.acked_at) == (40, "2026-03-01T11:59:00.000Z")


def test_checkpointer_writes_the_last_contact_when_saved_on_shutdown(tmp_path: Path) -> None:
    async def scenario() -> Checkpoint | None:
        live = checkpointer(tmp_path)
        live.contact(datetime(2026, 3, 1, 11, 58, 30, tzinfo=UTC))
        await live.save()
        return CheckpointStore(tmp_path).load()

    saved = asyncio.run(scenario())
    assert saved is not None and saved.last_contact == "2026-03-01T11:58:30.000Z"
    assert saved.saved_at == "2026-03-01T12:00:00.000Z"


def test_checkpoint_json_never_holds_more_than_the_session_fields_when_written(tmp_path: Path) -> None:
    CheckpointStore(tmp_path).save(Checkpoint(shard=(0, 1), session_id="s1", resume_url="wss://r", seq=3))

    assert set(json.loads((tmp_path / "checkpoint.json").read_text())) == {
        "v",
        "shard",
        "session_id",
        "resume_gateway_url",
        "seq",
        "received_at",
        "last_contact",
        "saved_at",
        "gap",
    }
