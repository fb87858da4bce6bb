"""The relay's own events: deterministic gap ids, small `d`, placed at the start of the loss."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from guildlog.models.envelope import EnvelopeEvent
from guildlog_relay.checkpoint import PendingGap
from guildlog_relay.pipeline import Dropped
from guildlog_relay.status import StatusEvents

UNTIL = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
GAP = PendingGap(session_id="abc", last_seq=41, since="2026-03-01T12:00:00.250Z", reason="session_expired")


def test_status_gap_has_the_same_id_and_time_when_the_same_loss_is_reported_twice() -> None:
    events = StatusEvents((2, 4))

    first, again = events.gap(GAP, UNTIL), events.gap(GAP, datetime(2026, 3, 1, 13, 0, tzinfo=UTC))

    assert first.id == again.id == "gap-2-abc-42"
    assert first.received_at == again.received_at == datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert first.d == {
        "shard": [2, 4],
        "session_id": "abc",
        "last_seq": 41,
        "from_seq": 42,
        "to_seq": None,
        "since": "2026-03-01T12:00:00.250Z",
        "until": "2026-03-01T12:05:00.000Z",
        "reason": "session_expired",
    }


def test_status_events_are_valid_envelope_events_of_the_relay_category_when_built() -> None:
    events = StatusEvents((0, 1))
    built = [
        events.connect(UNTIL, "abc", 3),
        events.resume(UNTIL, "abc", 10, 4),
        events.disconnect(UNTIL, "abc", 10, 4000, "zombie", "resume"),
        events.heartbeat(UNTIL, {"seq": 10, "connected": True}),
        events.gap(GAP, UNTIL),
        events.dropped(Dropped("b", "too_large", "abc", (0, 1), 7, 7, 1, "GUILD_CREATE", 60_000_000, "x.json"), UNTIL),
    ]

    for event in built:
        parsed = EnvelopeEvent.model_validate_json(event.to_json())
        assert parsed.source == "relay" and parsed.t.startswith("GUILDLOG_") and parsed.shard == (0, 1)
        assert len(event.to_json()) < 600 and parsed.id and len(parsed.id) <= 200
    assert len({e.id for e in built}) == len(built)


def test_status_gap_for_a_too_large_event_names_its_seq_and_where_it_is_kept_when_dropped() -> None:
    dropped = Dropped("b1", "too_large", "abc", (0, 1), 7, 7, 1, "GUILD_CREATE", 60_000_000, "0000_b1.json", None)

    event = StatusEvents((0, 1)).dropped(dropped, UNTIL)

    assert event.id == "gap-0-abc-7-7"
    assert (event.d["from_seq"], event.d["to_seq"], event.d["t"], event.d["bytes"]) == (
        7,
        7,
        "GUILD_CREATE",
        60_000_000,
    )
    assert event.d["kept_as"] == "rejected/0000_b1.json"


def test_status_gap_hashes_the_session_in_the_id_when_the_session_id_is_long() -> None:
    gap = PendingGap(session_id="s" * 128, last_seq=1, since="2026-03-01T12:00:00.000Z", reason="x")

    event = StatusEvents((0, 1)).gap(gap, UNTIL)

    assert event.id is not None and len(event.id) < 60 and event.d["session_id"] == "s" * 128
    assert json.loads(event.to_json())["id"] == event.id
