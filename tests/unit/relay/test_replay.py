from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from guildlog_relay.batcher import Batcher
from guildlog_relay.pipeline import Pipeline
from guildlog_relay.replay import ReplayFormatError, ReplaySource, run_replay
from guildlog_relay.spool import Spool

NOW = datetime(2026, 5, 5, 5, 5, 5, tzinfo=UTC)


def write_lines(path, *frames) -> str:
    path.write_text("".join((f if isinstance(f, str) else json.dumps(f)) + "\n" for f in frames), encoding="utf-8")
    return path


def dispatch(seq: int, t: str = "MESSAGE_CREATE", **extra):
    return {"op": 0, "t": t, "s": seq, "d": {"id": str(10**17 + seq), "content": f"m{seq}"}, **extra}


def read(path):
    source = ReplaySource(path, clock=lambda: NOW)
    return source, list(source)


def test_replay_yields_dispatches_with_d_untouched_when_frames_are_good(tmp_path):
    d = {"id": "123456789012345678", "content": "hé\n✓", "embeds": [{"n": 1.25}], "flags": 0}
    path = write_lines(tmp_path / "r.jsonl", {"op": 0, "t": "MESSAGE_CREATE", "s": 5, "d": d})

    _, (event,) = read(path)

    assert (event.t, event.seq, event.source, event.shard, event.d) == ("MESSAGE_CREATE", 5, "gateway", (0, 1), d)


def test_replay_skips_and_counts_other_ops_when_frames_are_not_dispatches(tmp_path):
    path = write_lines(
        tmp_path / "r.jsonl", {"op": 10, "d": {"heartbeat_interval": 41250}}, dispatch(1), {"op": 11}, "", "   ",
        {"op": 1, "d": 1}, {"op": 11}, dispatch(2),
    )  # fmt: skip

    source, events = read(path)

    assert [e.seq for e in events] == [1, 2]
    assert (source.stats.frames, source.stats.dispatches) == (6, 2)
    assert dict(source.stats.skipped) == {10: 1, 11: 2, 1: 1}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param("[1, 2]", "not a JSON object", id="not-an-object"),
        pytest.param('{"t": "X", "s": 1}', "no integer op", id="no-op"),
        pytest.param('{"op": 0, "s": 3, "d": {}}', "op 0 frame without t", id="op0-without-t"),
        pytest.param('{"op": 0, "t": "message_create", "s": 3}', "t is not an event name", id="lowercase-t"),
        pytest.param('{"op": 0, "t": "READY", "d": {}}', "without a non-negative integer s", id="no-s"),
        pytest.param('{"op": 0, "t": "X", "s": 3, "received_at": "yesterday"}', "received_at", id="bad-received-at"),
        pytest.param('{"op": 0, "t": "X", "s": 3, "received_at": true}', "received_at", id="bool-received-at"),
        pytest.param('{"op": 0, "t": "X", "s": 3, "received_at": 1e30}', "received_at", id="absurd-received-at"),
        pytest.param('{"op": 0, "t": "X", "s": 3, "d": {"n": NaN}}', "not JSON", id="nan"),
        pytest.param('{"op": 0, "t": "READY", "s": 1, "d": {}}', "READY without a session_id", id="ready-no-session"),
    ],
)
def test_replay_raises_naming_file_and_line_when_a_line_is_malformed(tmp_path, line, reason):
    path = write_lines(tmp_path / "r.jsonl", dispatch(1), "", dispatch(2), line, dispatch(4))
    source = ReplaySource(path, clock=lambda: NOW)
    delivered = []

    with pytest.raises(ReplayFormatError) as caught:
        delivered.extend(e.seq for e in source)

    assert delivered == [1, 2]
    assert caught.value.line == 4 and f"{path}:4:" in caught.value.message
    assert reason in caught.value.reason


def test_replay_uses_ready_session_id_when_the_file_has_one(tmp_path):
    ready = {"op": 0, "t": "READY", "s": 1, "d": {"session_id": "abc123", "v": 10}}
    path = write_lines(tmp_path / "r.jsonl", {"op": 10, "d": {}}, ready, dispatch(2), dispatch(3))

    _, events = read(path)

    assert {e.session_id for e in events} == {"abc123"}


def test_replay_starts_a_new_session_when_a_later_ready_arrives(tmp_path):
    path = write_lines(
        tmp_path / "r.jsonl", dispatch(7), {"op": 0, "t": "READY", "s": 1, "d": {"session_id": "second"}}, dispatch(2)
    )

    _, events = read(path)

    assert events[0].session_id.startswith("replay-")
    assert [e.session_id for e in events[1:]] == ["second", "second"]


def test_replay_session_id_is_a_hash_of_the_file_when_there_is_no_ready(tmp_path):
    one = write_lines(tmp_path / "one.jsonl", dispatch(1), dispatch(2))
    same = write_lines(tmp_path / "same.jsonl", dispatch(1), dispatch(2))
    other = write_lines(tmp_path / "other.jsonl", dispatch(1), dispatch(3))

    sessions = [{e.session_id for e in read(p)[1]} for p in (one, same, other)]

    assert sessions[0] == sessions[1] and len(sessions[0]) == 1
    assert sessions[0] != sessions[2]
    assert next(iter(sessions[0])).startswith("replay-")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T03:04:05.678Z", datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("2026-01-02T04:04:05+01:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1767323045, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1767323045.5, datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        (None, NOW),
    ],
)
def test_replay_reads_received_at_as_aware_utc_when_given_iso_or_unix_seconds(tmp_path, value, expected):
    frame = dispatch(1) if value is None else dispatch(1, received_at=value)

    _, (event,) = read(write_lines(tmp_path / "r.jsonl", frame))

    assert event.received_at == expected


def _replay_batch_ids(path, state_dir, transport, signer_poster) -> list[str]:
    start = len(transport.calls)
    pipeline = Pipeline(spool=Spool(state_dir), poster=signer_poster(), batcher=Batcher(max_events=3))
    assert run_replay(path, pipeline).ok
    return transport.batch_ids[start:]


def test_run_replay_gives_the_same_batch_ids_when_the_same_file_is_replayed_again(tmp_path, transport, make_poster):
    frames = [dispatch(s, received_at=1767323045 + s / 10) for s in range(1, 9)]
    path = write_lines(tmp_path / "r.jsonl", *frames)

    first = _replay_batch_ids(path, tmp_path / "state1", transport, make_poster)
    second = _replay_batch_ids(path, tmp_path / "state2", transport, make_poster)

    assert first == second and len(first) == 3
    assert [e["seq"] for c in transport.calls for e in c["envelope"]["events"]] == [*range(1, 9), *range(1, 9)]


def test_run_replay_delivers_events_read_before_a_malformed_line_and_fails(tmp_path, transport, make_poster):
    path = write_lines(tmp_path / "r.jsonl", dispatch(1), dispatch(2), "oops", dispatch(4))
    pipeline = Pipeline(spool=Spool(tmp_path / "state"), poster=make_poster())

    result = run_replay(path, pipeline)

    assert not result.ok
    assert result.errors == [f"{path}:3: not JSON (Expecting value: line 1 column 1 (char 0))"]
    assert transport.delivered_seqs() == [1, 2]
    assert result.pending == 0


def test_run_replay_holds_routine_events_by_the_frames_own_clock_and_the_same_way_when_replayed_again(
    tmp_path, transport, make_poster
):
    timeline = [(1, 0.0, "MESSAGE_CREATE"), (2, 20.0, "MESSAGE_REACTION_ADD"), (3, 59.0, "MESSAGE_CREATE")]
    timeline += [(4, 60.0, "MESSAGE_CREATE"), (5, 80.0, "MESSAGE_DELETE"), (6, 80.5, "MESSAGE_CREATE")]
    timeline += [(7, 81.0, "TYPING_START"), (8, 300.0, "MESSAGE_CREATE")]
    frames = [dispatch(seq, t, received_at=1767323045 + at) for seq, at, t in timeline]
    path = write_lines(tmp_path / "r.jsonl", *frames)

    def replay(state: str) -> list[list[int]]:
        start = len(transport.calls)
        batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
        assert run_replay(path, Pipeline(spool=Spool(tmp_path / state), poster=make_poster(), batcher=batcher)).ok
        return [[e["seq"] for e in c["envelope"]["events"]] for c in transport.calls[start:]]

    first, ids = replay("state1"), transport.batch_ids[:]
    second = replay("state2")

    # 4 comes 60 s after 1: the linger is over. The delete sends 4-6 within 1 s; 7 comes at 1 s: a new batch.
    assert first == second == [[1, 2, 3], [4, 5, 6], [7], [8]]
    assert transport.batch_ids[len(ids) :] == ids
