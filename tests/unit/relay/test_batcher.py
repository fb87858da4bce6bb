from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from guildlog.models.envelope import BATCH_ID_PATTERN, Envelope
from guildlog_relay.batcher import Batcher, gateway_batch_id
from guildlog_relay.events import DispatchEncoder, DispatchRun, RelayEvent, relay_event

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_batcher_seals_at_max_events_when_count_reached(make_event):
    batcher = Batcher(max_events=3, max_age_ms=60_000)

    sealed = [b for seq in range(1, 8) for b in batcher.add(make_event(seq), now=0.0)]

    assert [[json.loads(e)["seq"] for e in b.events] for b in sealed] == [[1, 2, 3], [4, 5, 6]]
    assert len(batcher) == 1


def test_batcher_seals_buffer_before_adding_when_first_event_is_max_age_old(make_event):
    batcher = Batcher(max_events=100, max_age_ms=1000)

    assert batcher.add(make_event(1), now=10.0) == []
    assert batcher.add(make_event(2), now=10.999) == []
    sealed = batcher.add(make_event(3), now=11.0)

    assert [b.first_seq for b in sealed] == [1]
    assert [b.last_seq for b in sealed] == [2]
    assert batcher.deadline() == pytest.approx(12.0)


def test_batcher_due_returns_batch_only_when_deadline_reached(make_event):
    batcher = Batcher(max_events=100, max_age_ms=500)
    batcher.add(make_event(1), now=1.0)

    assert batcher.due(1.499) is None
    batch = batcher.due(1.5)

    assert batch is not None and batch.last_seq == 1
    assert batcher.deadline() is None and batcher.due(99.0) is None


def test_batcher_seals_before_adding_when_byte_cap_would_be_exceeded(make_event):
    size = len(make_event(1, d={"x": "a" * 100}).to_json())
    batcher = Batcher(max_events=100, max_age_ms=60_000, max_bytes=size * 2 + 10)

    sealed = [b for seq in range(1, 6) for b in batcher.add(make_event(seq, d={"x": "a" * 100}), now=0.0)]

    assert [(b.first_seq, b.last_seq) for b in sealed] == [(1, 2), (3, 4)]
    assert all(b.size <= size * 2 + 10 for b in sealed)


def test_batcher_sends_event_alone_when_it_alone_exceeds_byte_cap(make_event):
    batcher = Batcher(max_events=100, max_age_ms=60_000, max_bytes=500)
    batcher.add(make_event(1), now=0.0)

    sealed = batcher.add(make_event(2, d={"x": "a" * 1000}), now=0.0)

    assert [(b.first_seq, b.last_seq) for b in sealed] == [(1, 1), (2, 2)]
    assert len(batcher) == 0


def test_batcher_seals_when_session_changes(make_event):
    batcher = Batcher(max_events=100, max_age_ms=60_000)
    batcher.add(make_event(7, session="old"), now=0.0)
    batcher.add(make_event(8, session="old"), now=0.0)

    sealed = batcher.add(make_event(1, session="new"), now=0.0)

    assert [(b.session_id, b.first_seq, b.last_seq) for b in sealed] == [("old", 7, 8)]
    assert batcher.flush().session_id == "new"


def test_batcher_seals_when_shard_changes():
    batcher = Batcher(max_events=100, max_age_ms=60_000)
    batcher.add(RelayEvent(t="X", d={}, received_at=AT, seq=1, session_id="s", shard=(0, 2)), now=0.0)

    sealed = batcher.add(RelayEvent(t="X", d={}, received_at=AT, seq=1, session_id="s", shard=(1, 2)), now=0.0)

    assert [b.shard for b in sealed] == [(0, 2)]


def test_batcher_keeps_relay_events_apart_when_mixed_with_gateway_events(make_event):
    batcher = Batcher(max_events=100, max_age_ms=60_000)
    batcher.add(make_event(1), now=0.0)

    gap = relay_event("GUILDLOG_GAP", {"from": 2, "to": 9}, event_id="gap:0:sess1:2-9", received_at=AT)
    sealed = batcher.add(gap, now=0.0)
    relay_batch = batcher.flush()

    assert [b.gateway for b in sealed] == [True]
    assert relay_batch is not None and relay_batch.gateway is False


def test_batch_body_is_a_valid_envelope_with_d_untouched_when_sealed(make_event):
    data = {"content": "é ✓ \u2028 <b>", "nested": {"n": 1.5, "big": 2**70, "list": [None, True]}}
    batcher = Batcher(max_events=2, max_age_ms=60_000)
    batcher.add(make_event(41, d=data), now=0.0)
    (batch,) = batcher.add(make_event(42), now=0.0)

    envelope = Envelope.model_validate_json(batch.body())
    first = json.loads(batch.body())["events"][0]

    assert envelope.batch_id == batch.batch_id and envelope.relay.session_id == "sess1"
    assert list(first) == ["t", "seq", "received_at", "source", "session_id", "shard", "d"]
    assert first["d"] == data and first["source"] == "gateway" and first["shard"] == [0, 1]


def test_batch_body_stays_valid_utf8_when_d_holds_a_lone_surrogate(make_event):
    batcher = Batcher(max_events=1)

    (batch,) = batcher.add(make_event(1, d={"content": "\ud83d"}), now=0.0)

    assert json.loads(batch.body().decode("utf-8"))["events"][0]["d"]["content"] == "\ud83d"


def test_relay_event_carries_its_explicit_id_when_serialized():
    gap = relay_event("GUILDLOG_GAP", {"from": 5}, event_id="gap:0:s:5-9", received_at=AT, session_id="s")

    item = json.loads(gap.to_json())

    assert item["id"] == "gap:0:s:5-9" and item["source"] == "relay" and "seq" not in item


def test_batch_id_is_the_same_when_same_events_are_batched_again(make_event):
    def ids() -> list[str]:
        batcher = Batcher(max_events=4, max_age_ms=60_000)
        batches = [b for seq in range(1, 11) for b in batcher.add(make_event(seq), now=0.0)]
        return [b.batch_id for b in [*batches, batcher.flush()]]

    assert ids() == ids() == ["sess1-0-1-4", "sess1-0-5-8", "sess1-0-9-10"]


def test_batch_id_matches_the_envelope_pattern_when_session_id_has_unsafe_characters():
    unsafe = gateway_batch_id("../../etc/passwd x", (3, 4), 1, 2)
    long = gateway_batch_id("a" * 128, (0, 1), 10**12, 10**12 + 499)

    assert re.match(BATCH_ID_PATTERN, unsafe) and "/" not in unsafe
    assert re.match(BATCH_ID_PATTERN, long)
    assert gateway_batch_id("a/b", (0, 1), 1, 2) != gateway_batch_id("a_b", (0, 1), 1, 2)


def test_batch_id_names_its_events_when_sequence_numbers_are_not_contiguous(make_event):
    def batch_of(seqs: list[int], content: str):
        batcher = Batcher(max_events=100)
        for seq in seqs:
            batcher.add(make_event(seq, d={"c": content}), now=0.0)
        return batcher.flush()

    gappy, other = batch_of([1, 3], "x"), batch_of([1, 3], "y")

    assert gappy.batch_id.startswith("sess1-0-1-3-h")
    assert gappy.batch_id != other.batch_id


def test_batch_id_is_random_when_batch_holds_relay_events():
    def batch():
        batcher = Batcher()
        batcher.add(relay_event("GUILDLOG_GAP", {}, event_id="gap:1", received_at=AT), now=0.0)
        return batcher.flush()

    first, second = batch(), batch()

    assert first.batch_id != second.batch_id
    assert re.match(BATCH_ID_PATTERN, first.batch_id)


@pytest.mark.parametrize("max_events", [0, 10_001])
def test_batcher_refuses_settings_when_batch_size_is_outside_protocol_limits(max_events):
    with pytest.raises(ValueError, match="max_events"):
        Batcher(max_events=max_events)


def test_batcher_add_many_seals_the_same_batches_as_add_when_given_the_events_at_once(make_event):
    events = [make_event(seq, session="a" if seq < 6 else "b") for seq in range(1, 12)]
    one_by_one, at_once = Batcher(max_events=3), Batcher(max_events=3)

    sealed = [b for event in events for b in one_by_one.add(event, now=5.0)]
    sealed_at_once = at_once.add_many(events, now=5.0)

    assert [(b.batch_id, b.body()) for b in sealed_at_once] == [(b.batch_id, b.body()) for b in sealed]
    assert [b.batch_id for b in sealed] == ["a-0-1-3", "a-0-4-5", "b-0-6-8", "b-0-9-11"]
    assert (one_by_one.flush(), at_once.flush()) == (None, None)


@pytest.mark.parametrize(
    ("max_events", "max_bytes"),
    [(3, 1_000_000), (500, 1_000_000), (4, 700), (100, 250), (2, 1)],
    ids=["by-count", "one-batch", "count-and-bytes", "by-bytes", "each-alone"],
)
def test_batcher_seals_the_same_batches_from_a_dispatch_run_as_from_its_events_when_caps_fall_inside(
    max_events: int, max_bytes: int
):
    at = [datetime(2026, 3, 1, 12, 0, 0, ms * 1000, tzinfo=UTC) for ms in range(11)]
    raw = [b'{"id":"%d","content":"%s"}' % (seq, b"x" * (seq * 13 % 90)) for seq in range(1, 12)]
    events = [RelayEvent("MESSAGE_CREATE", None, at[i], i + 1, "s", (0, 1), "gateway", None, raw[i]) for i in range(11)]
    encode = DispatchEncoder("s", (0, 1))
    run = DispatchRun("s", (0, 1))
    for i in range(11):
        run.add(encode("MESSAGE_CREATE", i + 1, at[i], raw[i]), "MESSAGE_CREATE", i + 1, at[i])
    gap = relay_event("GUILDLOG_GAP", {"x": 1}, event_id="gap-1", received_at=at[0])
    one_by_one = Batcher(max_events=max_events, max_bytes=max_bytes)
    as_run = Batcher(max_events=max_events, max_bytes=max_bytes)

    expected = one_by_one.add_many([gap, *events], now=1.0) + [one_by_one.flush()]
    sealed = as_run.add_many([gap, run], now=1.0) + [as_run.flush()]

    def shape(batches: list) -> list:
        return [(b.batch_id, b.body(), b.last_received_at) for b in batches if b is not None]

    assert shape(sealed)[1:] == shape(expected)[1:] and len(sealed) == len(expected) >= 2


def test_batcher_seals_a_dispatch_run_by_age_and_session_when_added_after_other_events(make_event):
    at = datetime(2026, 3, 1, tzinfo=UTC)
    batcher = Batcher(max_events=100, max_age_ms=1000)
    batcher.add(make_event(1, session="a"), now=0.0)
    run = DispatchRun("a", (0, 1))
    run.add(DispatchEncoder("a", (0, 1))("MESSAGE_CREATE", 2, at, b"{}"), "MESSAGE_CREATE", 2, at)
    other = DispatchRun("b", (0, 1))
    other.add(DispatchEncoder("b", (0, 1))("MESSAGE_CREATE", 1, at, b"{}"), "MESSAGE_CREATE", 1, at)

    late = batcher.add_many([run], now=1.5)  # the buffered batch is 1.5 s old: sealed first
    switched = batcher.add_many([other], now=1.6)  # another session: sealed first

    assert [(b.session_id, b.first_seq, b.last_seq) for b in late] == [("a", 1, 1)]
    assert [(b.session_id, b.first_seq, b.last_seq) for b in switched] == [("a", 2, 2)]
    assert batcher.flush().batch_id == "b-0-1-1"
