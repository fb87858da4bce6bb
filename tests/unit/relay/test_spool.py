from __future__ import annotations

import gzip
import json
import os
import stat
from datetime import UTC, datetime

import pytest

from guildlog_relay import spool as spool_module
from guildlog_relay.batcher import Batch, Batcher, make_batch
from guildlog_relay.events import relay_event
from guildlog_relay.spool import BatchMeta, Spool, SpoolCorruptError
from guildlog_relay.status import StatusEvents
from tests.unit.relay.conftest import EPOCH


@pytest.fixture
def batches(make_event):
    def make(count: int, *, per_batch: int = 2, start: int = 1):
        batcher = Batcher(max_events=per_batch)
        seqs = range(start, start + count * per_batch)
        return [b for seq in seqs for b in batcher.add(make_event(seq), now=0.0)]

    return make


def test_spool_write_fsyncs_tmp_file_before_renaming_it_into_place(tmp_path, batches, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(spool_module.os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(
        spool_module.os, "replace", lambda a, b: calls.append(f"replace {os.path.basename(a)}") or real_replace(a, b)
    )
    spool = Spool(tmp_path)
    (batch,) = batches(1)

    entry = spool.put(batch)

    assert calls[0] == "fsync" and calls[1] == f"replace {entry.name}.tmp"
    assert entry.path.read_bytes() == batch.body()
    assert [p.name for p in spool.dir.iterdir()] == [entry.name]


def test_spool_forgets_partial_write_when_reopened_after_a_crash(tmp_path, batches):
    spool = Spool(tmp_path)
    (batch,) = batches(1)
    entry = spool.put(batch)
    # What a kill between write and rename leaves behind: a tmp file that never got its name.
    (spool.dir / "0000000000000002_sess1-0-3-4.json.tmp").write_bytes(b'{"v":1,"batch_')

    reopened = Spool(tmp_path)

    assert [e.name for e in reopened.pending()] == [entry.name]
    assert not list(reopened.dir.glob("*.tmp"))


def test_spool_files_are_private_when_written(tmp_path, batches):
    spool = Spool(tmp_path)

    entry = spool.put(batches(1)[0])

    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.dir.stat().st_mode) == 0o700


def test_spool_returns_batches_oldest_first_when_reopened(tmp_path, batches):
    spool = Spool(tmp_path)
    written = [spool.put(b).batch_id for b in batches(12)]

    reopened = Spool(tmp_path)

    assert [e.batch_id for e in reopened.pending()] == written
    assert reopened.peek().batch_id == written[0]


def test_spool_queues_new_batches_after_recovered_ones_when_reopened(tmp_path, batches):
    first = Spool(tmp_path)
    old = [first.put(b).batch_id for b in batches(2)]

    reopened = Spool(tmp_path)
    new = reopened.put(batches(1, start=100)[0]).batch_id

    assert [e.batch_id for e in reopened.pending()] == [*old, new]


def test_spool_loads_recovered_batch_with_its_metadata_when_reopened(tmp_path, batches):
    (batch,) = batches(1, per_batch=3, start=7)
    Spool(tmp_path).put(batch)

    reopened = Spool(tmp_path)
    loaded = reopened.load(reopened.peek())

    assert loaded.body == batch.body()
    meta = loaded.meta
    assert (meta.session_id, meta.shard, meta.first_seq, meta.last_seq, meta.count) == ("sess1", (0, 1), 7, 9, 3)
    assert meta.gateway is True


def test_spool_puts_halves_where_the_parent_was_when_replaced(tmp_path, batches):
    spool = Spool(tmp_path)
    parent, after = (spool.put(b) for b in batches(2, per_batch=4))
    halves = batches(2, per_batch=2)

    spool.replace(parent, halves)

    assert [e.batch_id for e in spool.pending()] == [halves[0].batch_id, halves[1].batch_id, after.batch_id]
    assert not parent.path.exists()
    assert [e.batch_id for e in Spool(tmp_path).pending()] == [e.batch_id for e in spool.pending()]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda body: body[: len(body) // 2], id="truncated"),
        pytest.param(lambda body: b"", id="empty"),
        pytest.param(lambda body: body.replace(b'"v":1', b'"v":2'), id="other-protocol"),
        pytest.param(lambda body: body.replace(b"sess1-0-1-2", b"other-0-1-2"), id="batch-id-mismatch"),
    ],
)
def test_spool_load_raises_corrupt_when_recovered_file_is_damaged(tmp_path, batches, damage):
    entry = Spool(tmp_path).put(batches(1)[0])
    entry.path.write_bytes(damage(entry.path.read_bytes()))
    reopened = Spool(tmp_path)

    with pytest.raises(SpoolCorruptError) as caught:
        reopened.load(reopened.peek())

    assert caught.value.fields["file"] == entry.name


def test_spool_reject_moves_file_and_writes_reason_when_called(tmp_path, batches):
    spool = Spool(tmp_path)
    entry = spool.put(batches(1)[0])
    body = entry.path.read_bytes()

    target = spool.reject(entry, {"status": 400, "reason": "malformed"})

    assert len(spool) == 0 and not entry.path.exists()
    assert target.parent == tmp_path / "rejected" and target.read_bytes() == body
    reason = json.loads(target.with_name(target.stem + ".reason.json").read_bytes())
    assert reason["batch_id"] == entry.batch_id and reason["status"] == 400 and reason["reason"] == "malformed"


def test_spool_reject_keeps_both_files_when_the_same_name_is_rejected_twice(tmp_path, batches):
    for _ in range(2):
        spool = Spool(tmp_path)
        spool.reject(spool.put(batches(1)[0]), {"reason": "x"})

    assert len(list((tmp_path / "rejected").glob("*.reason.json"))) == 2


def test_spool_ignores_foreign_files_when_recovering(tmp_path, batches):
    spool = Spool(tmp_path)
    entry = spool.put(batches(1)[0])
    (spool.dir / "notes.txt").write_text("hello")

    assert [e.name for e in Spool(tmp_path).pending()] == [entry.name]


def test_spool_finds_the_newest_batch_of_a_session_when_reopened_after_a_crash(tmp_path, make_event):
    batcher = Batcher(max_events=2)
    spool = Spool(tmp_path)
    for seq, session in (
        (1, "old"),
        (2, "old"),
        (3, "sess"),
        (4, "sess"),
        (5, "sess"),
        (6, "sess"),
        (7, "x"),
        (8, "x"),
    ):
        for batch in batcher.add(make_event(seq, session=session, at=seq), now=0.0):
            spool.put(batch)

    newest = Spool(tmp_path).newest_of_session("sess", (0, 1))

    assert newest is not None and (newest.first_seq, newest.last_seq) == (5, 6)
    assert newest.last_received_at == "2026-03-01T12:00:06.000Z"
    assert Spool(tmp_path).newest_of_session("gone", (0, 1)) is None
    assert Spool(tmp_path).newest_of_session("sess", (1, 2)) is None


def test_spool_keeps_a_delivered_batch_on_disk_out_of_the_queue_until_removed(tmp_path, batches):
    spool = Spool(tmp_path)
    first, second = (spool.put(b) for b in batches(2))

    spool.deliver(first)

    assert [e.name for e in spool.pending()] == [second.name] and len(spool) == 1
    assert first.path.exists()
    # A crash now: the next run sends it again (the webhook recognises it) and resumes after it.
    reopened = Spool(tmp_path)
    assert [e.name for e in reopened.pending()] == [first.name, second.name]
    spool.remove(first)
    assert not first.path.exists() and [e.name for e in Spool(tmp_path).pending()] == [second.name]


def test_spool_keeps_the_gzip_payload_and_reads_the_body_back_when_reopened(tmp_path, batches):
    batch, other = batches(2, per_batch=3, start=7)
    payload = gzip.compress(batch.body(), mtime=0)
    spool = Spool(tmp_path)
    entry = spool.put(batch, payload, gzipped=True)
    spool.put(other)

    reopened = Spool(tmp_path)
    loaded = reopened.load(reopened.peek())

    assert entry.name.endswith("_sess1-0-7-9.json.gz") and entry.path.read_bytes() == payload
    assert loaded.entry.gzipped and loaded.data == payload and loaded.body == batch.body()
    assert (loaded.meta.first_seq, loaded.meta.last_seq, loaded.meta.count) == (7, 9, 3)
    assert [e.gzipped for e in reopened.pending()] == [True, False]
    newest = reopened.newest_of_session("sess1", (0, 1))
    assert newest is not None and newest.last_seq == 12


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not gzip at all", id="not-gzip"),
        pytest.param(lambda data: gzip.compress(b'{"v":2}'), id="other-protocol"),
    ],
)
def test_spool_load_raises_corrupt_when_a_recovered_gzip_file_is_damaged(tmp_path, batches, damage):
    (batch,) = batches(1)
    entry = Spool(tmp_path).put(batch, gzip.compress(batch.body()), gzipped=True)
    entry.path.write_bytes(damage(entry.path.read_bytes()))
    reopened = Spool(tmp_path)

    with pytest.raises(SpoolCorruptError) as caught:
        reopened.load(reopened.peek())

    assert caught.value.fields["file"] == entry.name


def test_spool_reject_keeps_the_gzip_name_and_writes_the_reason_beside_it_when_called(tmp_path, batches):
    (batch,) = batches(1)
    spool = Spool(tmp_path)
    sent = gzip.compress(batch.body())  # once: gzip's header carries the second it was made
    entry = spool.put(batch, sent, gzipped=True)

    kept = spool.reject(entry, {"status": 400})

    assert kept.name == entry.name and kept.read_bytes() == sent
    stem = entry.name.removesuffix(".json.gz")
    assert sorted(p.name for p in spool.rejected_dir.iterdir()) == [entry.name, f"{stem}.reason.json"]


def test_spool_hands_back_the_payloads_it_wrote_without_reading_them_when_within_the_held_bytes(
    tmp_path, batches, monkeypatch
):
    monkeypatch.setattr(spool_module, "HELD_BYTES", 1000)
    spool = Spool(tmp_path)
    small, large = batches(2)
    first = spool.put(small, b"x" * 600)
    second = spool.put(large, b"y" * 600)  # over the budget with the first: on disk only
    first.path.write_bytes(b"changed on disk")
    second.path.write_bytes(b"changed on disk")

    assert spool.load(first).data == b"x" * 600
    assert spool.load(second).data == b"changed on disk"
    spool.deliver(first)  # the budget is free again, but what was written meanwhile stays on disk
    third = spool.put(batches(1, start=20)[0], b"z" * 600)
    third.path.write_bytes(b"changed on disk")
    assert spool.load(third).data == b"z" * 600


def mixed_batch(make_event) -> Batch:
    """Gateway events 7 and 8 with the shard's heartbeats among them, as a batcher with a linger seals them."""
    beats = StatusEvents((0, 1))
    batcher = Batcher(linger_ms=60_000)
    batcher.add(make_event(7, at=1.0), now=1.0)
    batcher.add(beats.heartbeat(datetime.fromtimestamp(EPOCH + 2.0, tz=UTC), {"connected": True}), now=2.0)
    batcher.add(make_event(8, at=3.0), now=3.0)
    batcher.add(beats.heartbeat(datetime.fromtimestamp(EPOCH + 4.0, tz=UTC), {"connected": True}), now=4.0)
    batch = batcher.flush()
    assert batch is not None
    return batch


def test_spool_reads_back_the_meta_it_was_given_when_a_batch_holds_heartbeats_and_is_reopened(tmp_path, make_event):
    batch = mixed_batch(make_event)
    given = Spool(tmp_path).put(batch).meta

    reopened = Spool(tmp_path)
    meta = reopened.load(reopened.peek()).meta

    assert meta == given == BatchMeta.of(batch)
    assert (meta.gateway, meta.first_seq, meta.last_seq, meta.count) == (True, 7, 8, 4)
    assert meta.last_received_at == "2026-03-01T12:00:03.000Z"
    assert reopened.newest_of_session("sess1", (0, 1)) == meta


def test_spool_reads_a_batch_back_as_no_gateway_batch_when_it_holds_heartbeats_alone_or_another_relay_event(
    tmp_path, make_event
):
    beats = StatusEvents((0, 1))
    alone = make_batch(
        None, (0, 1), [(beats.heartbeat(datetime.fromtimestamp(EPOCH, tz=UTC), {}).to_json(), None)], True
    )
    gap = relay_event("GUILDLOG_GAP", {"shard": [0, 1]}, event_id="gap-0-s-1", received_at=datetime.now(UTC))
    with_gap = make_batch("sess1", (0, 1), [(make_event(1).to_json(), 1), (gap.to_json(), None)], False)
    spool = Spool(tmp_path)
    spool.put(alone)
    spool.put(with_gap)

    reopened = Spool(tmp_path)
    metas = [reopened.load(entry).meta for entry in reopened.pending()]

    assert [m.gateway for m in metas] == [False, False] and not alone.gateway
    assert reopened.newest_of_session("sess1", (0, 1)) is None
