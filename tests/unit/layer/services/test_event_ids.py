"""guildlog.services.event_ids: one delivery, one id; two Discord events, two ids."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.models.envelope import Envelope, EnvelopeEvent, RelayInfo
from guildlog.services.event_ids import event_id

RECEIVED_AT = "2026-03-07T12:00:00Z"


def make_event(**fields: Any) -> EnvelopeEvent:
    return EnvelopeEvent.model_validate({"t": "MESSAGE_CREATE", "received_at": RECEIVED_AT, **fields})


def make_envelope(session_id: str | None = "relay-session") -> Envelope:
    return Envelope(v=1, batch_id="batch-1", relay=RelayInfo(session_id=session_id), events=[])


def test_event_id_uses_relay_session_and_seq_when_event_is_a_gateway_dispatch() -> None:
    assert event_id(make_event(seq=42), make_envelope()) == "gw:relay-session:42"


def test_event_id_prefers_the_event_session_when_event_and_relay_sessions_differ() -> None:
    # A batch can carry events from before a reconnect: the event's own session names them.
    event = make_event(seq=42, session_id="older-session")

    assert event_id(event, make_envelope("relay-session")) == "gw:older-session:42"


def test_event_id_keeps_seq_zero_when_seq_is_zero() -> None:
    assert event_id(make_event(seq=0), make_envelope()) == "gw:relay-session:0"


def test_event_id_differs_when_only_the_session_differs() -> None:
    event = make_event(seq=7)

    assert event_id(event, make_envelope("a")) != event_id(event, make_envelope("b"))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"source": "import", "id": "channel-9/message-1"}, "import:channel-9/message-1"),
        ({"source": "relay", "t": "GUILDLOG_GAP", "id": "gap-3"}, "relay:gap-3"),
        ({"source": "gateway", "seq": 5, "id": "explicit"}, "gateway:explicit"),
    ],
)
def test_event_id_uses_source_and_explicit_id_when_event_has_an_id(fields: dict[str, Any], expected: str) -> None:
    assert event_id(make_event(**fields), make_envelope()) == expected


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"seq": None}, id="gateway-without-seq"),
        pytest.param({"source": "import", "seq": 3}, id="import-without-id"),
    ],
)
def test_event_id_falls_back_to_a_content_hash_when_there_is_no_natural_key(fields: dict[str, Any]) -> None:
    assert event_id(make_event(t="MESSAGE_UPDATE", d={"id": "1"}, **fields), make_envelope()).startswith("h:")


def test_event_id_falls_back_to_a_content_hash_when_no_session_is_known() -> None:
    assert event_id(make_event(seq=42), make_envelope(session_id=None)).startswith("h:")


def test_event_id_hash_is_deterministic_when_the_same_event_arrives_again() -> None:
    first = make_event(t="MESSAGE_UPDATE", d={"id": "1", "content": "hi", "nested": {"a": 1, "b": [1, 2]}})
    again = make_event(
        t="MESSAGE_UPDATE",
        d={"nested": {"b": [1, 2], "a": 1}, "content": "hi", "id": "1"},
        received_at="2026-03-08T00:00Z",
    )

    assert event_id(first, make_envelope(None)) == event_id(again, make_envelope(None))


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"d": {"id": "1", "content": "hi!"}}, id="d-differs-by-one-char"),
        pytest.param({"d": {"id": "1", "content": "hi", "extra": None}}, id="d-has-one-more-key"),
        pytest.param({"t": "MESSAGE_DELETE", "d": {"id": "1", "content": "hi"}}, id="t-differs"),
    ],
)
def test_event_id_hash_differs_when_the_event_differs(other: dict[str, Any]) -> None:
    base = make_event(t="MESSAGE_UPDATE", d={"id": "1", "content": "hi"})

    assert event_id(base, make_envelope(None)) != event_id(
        make_event(**{"t": "MESSAGE_UPDATE", **other}), make_envelope(None)
    )


# --- a message's create: one id whichever path captured it ------------------------------------------

MESSAGE_ID = "1310000000000000001"


def test_event_id_is_the_message_id_when_the_gateway_delivers_a_message_create() -> None:
    event = make_event(seq=42, d={"id": MESSAGE_ID, "content": "hi"})

    assert event_id(event, make_envelope("a")) == f"msg:{MESSAGE_ID}"
    assert event_id(event, make_envelope("b")) == event_id(event, make_envelope("a"))


def test_event_id_is_the_same_when_a_backfill_reads_the_message_the_relay_delivered() -> None:
    live = make_event(seq=42, d={"id": MESSAGE_ID, "content": "hi"})
    edited = {"id": MESSAGE_ID, "content": "hi!", "edited_timestamp": "2026-03-07T12:05:00+00:00"}
    backfilled = make_event(source="backfill", id=MESSAGE_ID, d=edited)

    assert event_id(backfilled, make_envelope(None)) == event_id(live, make_envelope())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"t": "MESSAGE_UPDATE", "seq": 43, "d": {"id": MESSAGE_ID}}, "gw:relay-session:43", id="edit"),
        pytest.param({"t": "MESSAGE_DELETE", "seq": 44, "d": {"id": MESSAGE_ID}}, "gw:relay-session:44", id="delete"),
        pytest.param({"source": "import", "id": "dce/7", "d": {"id": MESSAGE_ID}}, "import:dce/7", id="import"),
        pytest.param({"seq": 45, "d": {"id": "not-a-snowflake"}}, "gw:relay-session:45", id="odd-id"),
        pytest.param({"seq": 46, "d": {"id": "١٢٣"}}, "gw:relay-session:46", id="non-ascii-digits"),
        pytest.param({"seq": 47, "d": {"id": 1310000000000000001}}, "gw:relay-session:47", id="number-id"),
    ],
)
def test_event_id_keeps_its_other_rules_when_the_event_is_not_a_message_create_from_discord(
    fields: dict[str, Any], expected: str
) -> None:
    assert event_id(make_event(**fields), make_envelope()) == expected
