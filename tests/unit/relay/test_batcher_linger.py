"""The batcher's linger: routine events wait up to linger_ms, an urgent one seals within flush_ms."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from guildlog.services.categories import DISPATCH_TYPES
from guildlog.services.modlog import kinds
from guildlog_relay.batcher import URGENT_TYPES, Batch, Batcher, batch_id_prefix
from guildlog_relay.events import DispatchEncoder, DispatchRun, RelayEvent, relay_event
from guildlog_relay.status import StatusEvents
from tests.unit.relay.conftest import EPOCH

AT = datetime(2026, 3, 1, tzinfo=UTC)


def seqs(batch) -> list[int]:
    return [json.loads(e)["seq"] for e in batch.events]


def types(batch) -> list[str]:
    return [json.loads(e)["t"] for e in batch.events]


def beat(at: float, shard: tuple[int, int] = (0, 1)) -> RelayEvent:
    """The status task's heartbeat of `shard`, made at `at` seconds (on the tests' clock)."""
    return StatusEvents(shard).heartbeat(datetime.fromtimestamp(EPOCH + at, tz=UTC), {"connected": True})


def test_batcher_holds_a_routine_event_alone_until_the_linger_when_nothing_urgent_follows(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)

    assert batcher.add(make_event(1), now=100.0) == []
    assert batcher.deadline() == pytest.approx(160.0)
    assert batcher.due(159.9) is None
    assert batcher.add(make_event(2, t="MESSAGE_REACTION_ADD"), now=130.0) == []
    batch = batcher.due(160.0)

    assert batch is not None and seqs(batch) == [1, 2]
    assert len(batcher) == 0


def test_batcher_seals_within_flush_ms_of_an_urgent_event_carrying_the_routine_ones_before_it(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1), now=100.0)
    batcher.add(make_event(2, t="TYPING_START"), now=120.0)

    assert batcher.add(make_event(3, t="MESSAGE_DELETE"), now=130.0) == []
    assert batcher.deadline() == pytest.approx(131.0)
    assert batcher.add(make_event(4), now=130.5) == []  # within the flush: joins the batch
    sealed = batcher.add(make_event(5), now=131.0)  # the batch is due: sealed before 5 is added

    assert [seqs(b) for b in sealed] == [[1, 2, 3, 4]]
    assert sealed[0].batch_id.endswith("-1-4") and batcher.deadline() == pytest.approx(191.0)


def test_batcher_keeps_the_first_urgent_deadline_when_more_urgent_events_follow(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1, t="MESSAGE_UPDATE"), now=10.0)
    batcher.add(make_event(2, t="GUILD_BAN_ADD"), now=10.9)

    assert batcher.deadline() == pytest.approx(11.0)
    assert seqs(batcher.due(11.0)) == [1, 2]


def test_batcher_seals_by_count_and_bytes_when_events_linger(make_event):
    by_count = Batcher(max_events=3, max_age_ms=1000, linger_ms=60_000)
    size = len(make_event(1, d={"x": "a" * 100}).to_json())
    by_bytes = Batcher(max_age_ms=1000, linger_ms=60_000, max_bytes=size * 2 + 10)

    counted = [b for seq in range(1, 8) for b in by_count.add(make_event(seq), now=0.0)]
    weighed = [b for seq in range(1, 6) for b in by_bytes.add(make_event(seq, d={"x": "a" * 100}), now=0.0)]

    assert [seqs(b) for b in counted] == [[1, 2, 3], [4, 5, 6]]
    assert [seqs(b) for b in weighed] == [[1, 2], [3, 4]]


def test_batcher_seals_held_events_when_the_session_changes(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(7, session="old"), now=0.0)

    sealed = batcher.add(make_event(1, t="READY", session="new"), now=5.0)

    assert [(b.session_id, seqs(b)) for b in sealed] == [("old", [7])]
    assert batcher.deadline() == pytest.approx(6.0)  # READY starts a session: urgent


def test_batcher_seals_held_events_and_sends_a_relay_event_within_flush_ms_when_one_arrives(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1), now=0.0)
    gap = relay_event("GUILDLOG_GAP", {"shard": [0, 1]}, event_id="gap-0-s-1", received_at=AT)

    sealed = batcher.add(gap, now=30.0)

    assert [seqs(b) for b in sealed] == [[1]]
    assert batcher.deadline() == pytest.approx(31.0)
    [alone] = [batcher.due(31.0)]
    assert alone is not None and types(alone) == ["GUILDLOG_GAP"] and not alone.gateway


@pytest.mark.parametrize("t", ["GUILDLOG_CONNECT", "GUILDLOG_RESUME", "GUILDLOG_DISCONNECT", "GUILDLOG_GAP"])
def test_batcher_sends_a_relay_event_other_than_the_heartbeat_alone_and_urgent_when_gateway_events_follow(
    make_event, t
):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    assert batcher.add(relay_event(t, {"shard": [0, 1]}, event_id=f"{t}-1", received_at=AT), now=10.0) == []
    assert batcher.deadline() == pytest.approx(11.0)

    sealed = batcher.add(make_event(1), now=10.5)

    assert [types(b) for b in sealed] == [[t]] and not sealed[0].gateway
    assert batcher.deadline() == pytest.approx(70.5)


def test_batcher_holds_a_heartbeat_with_the_gateway_events_it_finds_held_when_a_linger_is_set(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1, at=100.0), now=100.0)

    assert batcher.add(beat(130.0), now=130.0) == []
    assert batcher.deadline() == pytest.approx(160.0)  # not urgent: still the first event's linger
    assert batcher.add(make_event(2, at=140.0), now=140.0) == []
    assert batcher.add(beat(150.0), now=150.0) == []
    assert batcher.due(159.9) is None
    batch = batcher.due(160.0)

    assert batch is not None and types(batch) == ["MESSAGE_CREATE", "GUILDLOG_HEARTBEAT"] * 2
    assert batch.gateway and (batch.first_seq, batch.last_seq) == (1, 2)
    assert batch.last_received_at == "2026-03-01T12:02:20.000Z"  # event 2's, not the last heartbeat's


def test_batcher_holds_a_heartbeat_for_the_linger_and_lets_the_next_gateway_event_join_it(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)

    assert batcher.add(beat(100.0), now=100.0) == []
    assert batcher.deadline() == pytest.approx(160.0)
    assert batcher.add(make_event(5, session="other"), now=120.0) == []
    batch = batcher.due(160.0)

    assert batch is not None and types(batch) == ["GUILDLOG_HEARTBEAT", "MESSAGE_CREATE"]
    assert batch.gateway and batch.session_id == "other" and (batch.first_seq, batch.last_seq) == (5, 5)
    assert batch.batch_id.startswith(batch_id_prefix("other", (0, 1)))


def test_batcher_sends_a_heartbeat_alone_after_the_linger_when_nothing_joins_it():
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(beat(100.0), now=100.0)
    batcher.add(beat(160.0 - 1e-3), now=159.999)

    batch = batcher.due(160.0)

    assert batch is not None and types(batch) == ["GUILDLOG_HEARTBEAT"] * 2
    assert not batch.gateway and batch.batch_id.startswith("relay-")


def test_batcher_seals_within_flush_ms_carrying_the_heartbeat_when_an_urgent_event_follows_it(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1), now=100.0)
    batcher.add(beat(110.0), now=110.0)

    assert batcher.add(make_event(2, t="MESSAGE_DELETE"), now=120.0) == []
    assert batcher.deadline() == pytest.approx(121.0)
    batch = batcher.due(121.0)

    assert batch is not None and types(batch) == ["MESSAGE_CREATE", "GUILDLOG_HEARTBEAT", "MESSAGE_DELETE"]


def test_batcher_seals_a_held_batch_with_its_heartbeat_when_a_dispatch_run_of_another_session_comes(make_event):
    encode = DispatchEncoder("new", (0, 1))
    run = DispatchRun("new", (0, 1))
    run.add(encode("READY", 1, AT, b"{}"), "READY", 1, AT)
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(7, session="old"), now=0.0)
    batcher.add(beat(1.0), now=1.0)

    sealed = batcher.add_many([run], now=2.0)

    assert [(b.session_id, types(b)) for b in sealed] == [("old", ["MESSAGE_CREATE", "GUILDLOG_HEARTBEAT"])]
    assert batcher.deadline() == pytest.approx(3.0)


def test_batcher_lets_a_dispatch_run_join_a_held_heartbeat_when_a_linger_is_set():
    encode = DispatchEncoder("s", (0, 1))
    run = DispatchRun("s", (0, 1))
    for seq in (3, 4):
        run.add(encode("MESSAGE_CREATE", seq, AT, b"{}"), "MESSAGE_CREATE", seq, AT)
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(beat(10.0), now=10.0)

    assert batcher.add_many([run], now=20.0) == []
    batch = batcher.flush()

    assert batch is not None and types(batch) == ["GUILDLOG_HEARTBEAT", "MESSAGE_CREATE", "MESSAGE_CREATE"]
    assert batch.gateway and batch.session_id == "s" and (batch.first_seq, batch.last_seq) == (3, 4)


def test_batcher_never_puts_a_heartbeat_with_the_events_of_another_shard(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1), now=0.0)

    sealed = batcher.add(beat(5.0, shard=(1, 2)), now=5.0)
    sealed += batcher.add(make_event(2), now=6.0)

    assert [types(b) for b in sealed] == [["MESSAGE_CREATE"], ["GUILDLOG_HEARTBEAT"]]
    assert [b.shard for b in sealed] == [(0, 1), (1, 2)]


def test_batcher_sends_a_relay_event_with_the_heartbeat_it_finds_held_and_urgently(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(beat(0.0), now=0.0)
    connect = relay_event("GUILDLOG_CONNECT", {"shard": [0, 1]}, event_id="connect-0-s", received_at=AT)

    assert batcher.add(connect, now=5.0) == []
    assert batcher.deadline() == pytest.approx(6.0)
    sealed = batcher.add(make_event(1), now=5.5)  # a relay batch now: gateway events stay out

    assert [types(b) for b in sealed] == [["GUILDLOG_HEARTBEAT", "GUILDLOG_CONNECT"]] and not sealed[0].gateway


def test_batcher_sends_a_heartbeat_within_flush_ms_and_apart_from_gateway_events_when_linger_is_zero(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=0)
    batcher.add(make_event(1), now=0.0)

    sealed = batcher.add(beat(0.5), now=0.5)
    sealed += batcher.add(make_event(2), now=0.6)

    assert [types(b) for b in sealed] == [["MESSAGE_CREATE"], ["GUILDLOG_HEARTBEAT"]]
    assert not sealed[1].gateway and batcher.deadline() == pytest.approx(1.6)


def test_batcher_gives_a_batch_with_a_heartbeat_the_same_prefixed_id_when_made_again(make_event):
    def run() -> Batch:
        batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
        batcher.add(make_event(1), now=0.0)
        batcher.add(beat(1.0), now=1.0)
        batcher.add(make_event(2), now=2.0)
        batch = batcher.flush()
        assert batch is not None
        return batch

    first, again = run(), run()
    plain = Batcher(max_age_ms=1000, linger_ms=60_000)
    plain.add(make_event(1), now=0.0)
    plain.add(make_event(2), now=2.0)

    assert first.batch_id == again.batch_id
    assert first.batch_id.startswith(batch_id_prefix("sess1", (0, 1)) + "1-2-h")
    assert plain.flush().batch_id == batch_id_prefix("sess1", (0, 1)) + "1-2"  # type: ignore[union-attr]


def test_batcher_flush_seals_what_is_held_when_asked_to_drain(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=60_000)
    batcher.add(make_event(1), now=0.0)
    batcher.add(make_event(2), now=1.0)

    batch = batcher.flush()

    assert batch is not None and seqs(batch) == [1, 2] and batcher.flush() is None


def test_batcher_sends_every_event_after_flush_ms_when_linger_is_zero(make_event):
    batcher = Batcher(max_age_ms=1000, linger_ms=0)
    batcher.add(make_event(1), now=10.0)

    assert batcher.deadline() == pytest.approx(11.0)
    assert [seqs(b) for b in batcher.add(make_event(2), now=11.0)] == [[1]]


def test_batcher_takes_a_dispatch_run_as_urgent_only_in_the_batch_that_holds_the_urgent_dispatch():
    encode = DispatchEncoder("s", (0, 1))
    run = DispatchRun("s", (0, 1))
    for seq, t in enumerate(["MESSAGE_CREATE", "MESSAGE_CREATE", "MESSAGE_DELETE", "MESSAGE_CREATE"], start=1):
        run.add(encode(t, seq, AT, b"{}"), t, seq, AT)
    batcher = Batcher(max_events=3, max_age_ms=1000, linger_ms=60_000)
    whole = Batcher(max_age_ms=1000, linger_ms=60_000)

    sealed = batcher.add_many([run], now=50.0)
    whole.add_many([run], now=50.0)

    assert [seqs(b) for b in sealed] == [[1, 2, 3]]
    assert batcher.deadline() == pytest.approx(110.0)  # 4 is routine: it lingers
    assert whole.deadline() == pytest.approx(51.0)


def test_batcher_refuses_a_linger_when_negative_or_shorter_than_the_flush():
    with pytest.raises(ValueError, match="linger_ms"):
        Batcher(max_age_ms=1000, linger_ms=999)
    with pytest.raises(ValueError, match="linger_ms"):
        Batcher(max_age_ms=1000, linger_ms=-1)


def test_urgent_types_hold_every_dispatch_type_the_moderation_log_posts_when_checked_against_it():
    posted = {t for t in DISPATCH_TYPES if kinds.kind_of(_postable_row(t)) is not None}

    assert posted and posted <= URGENT_TYPES
    assert {"READY", "RESUMED"} <= URGENT_TYPES
    assert not URGENT_TYPES & {"MESSAGE_CREATE", "MESSAGE_REACTION_ADD", "TYPING_START", "PRESENCE_UPDATE"}


def _postable_row(event_type: str) -> dict[str, object]:
    """A row of `event_type` with every field the log's filters look for."""
    audit = event_type == "GUILD_AUDIT_LOG_ENTRY_CREATE"
    return {
        "event_type": event_type,
        "guild_id": "1",
        "content": "text",
        "details": json.dumps({"edited_timestamp": "2026-03-01T00:00:00Z"}),
        "changes": json.dumps({"nick": {"before": "a", "after": "b"}}),
        "action": "member_kick" if audit else "timeout",
    }
