"""guildlog.services.webhook_body: caps, gzip, JSON and the v1 envelope, before anything is written."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import timedelta
from typing import Any

import pytest

from guildlog.errors import MalformedRequestError, PayloadTooLargeError
from guildlog.services.webhook_body import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES, decompress, parse_envelope

SECRET = "sk-live-51HmAbCdEfGhIjKlMnOpQrStUvWxYz"


def event(**fields: Any) -> dict[str, Any]:
    return {"t": "MESSAGE_CREATE", "seq": 1, "received_at": "2026-03-07T12:00:00.000Z", "d": {}, **fields}


def envelope(**fields: Any) -> dict[str, Any]:
    return {"v": 1, "batch_id": "batch-1", "relay": {"session_id": "s1"}, "events": [event()], **fields}


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzipped without ever holding them all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_parse_envelope_reads_body_when_it_is_not_compressed(encoding: str | None) -> None:
    parsed, raw = parse_envelope(encoded(envelope()), encoding)

    assert parsed.batch_id == "batch-1"
    assert len(raw) == 1


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", " gzip "])
def test_parse_envelope_inflates_body_when_it_is_gzipped(encoding: str) -> None:
    parsed, raw = parse_envelope(gzip.compress(encoded(envelope())), encoding)

    assert parsed.events[0].t == "MESSAGE_CREATE"
    assert raw == envelope()["events"]


def test_decompress_raises_payload_too_large_when_gzip_bomb_inflates_past_the_cap() -> None:
    bomb = gzip_bomb(100 * 1024 * 1024)
    assert len(bomb) < MAX_BODY_BYTES  # small enough to pass the compressed cap

    with pytest.raises(PayloadTooLargeError) as caught:
        parse_envelope(bomb, "gzip")

    assert caught.value.fields["limit"] == MAX_DECOMPRESSED_BYTES


def test_decompress_raises_payload_too_large_when_output_passes_a_small_cap() -> None:
    with pytest.raises(PayloadTooLargeError):
        decompress(gzip.compress(bytes(10_001)), "gzip", max_bytes=10_000)


def test_decompress_returns_everything_when_output_is_exactly_the_cap() -> None:
    assert decompress(gzip.compress(bytes(10_000)), "gzip", max_bytes=10_000) == bytes(10_000)


def test_decompress_returns_everything_when_output_spans_many_chunks() -> None:
    text = bytes(range(256)) * 20_000  # 5 MB: several of the inflater's 1 MB steps

    assert decompress(gzip.compress(text), "gzip") == text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(gzip.compress(encoded(envelope()))[:-8], id="truncated-trailer"),
        pytest.param(gzip.compress(encoded(envelope()))[:20], id="truncated-stream"),
        pytest.param(encoded(envelope()), id="plain-json-labelled-gzip"),
        pytest.param(b"", id="empty"),
        pytest.param(zlib.compress(encoded(envelope())), id="zlib-not-gzip"),
    ],
)
def test_parse_envelope_raises_malformed_when_gzip_is_broken(body: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        parse_envelope(body, "gzip")


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, br", "x-gzip"])
def test_parse_envelope_raises_malformed_when_encoding_is_unsupported(encoding: str) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(gzip.compress(encoded(envelope())), encoding)

    assert caught.value.fields["encoding"] == encoding.strip().lower()


def test_parse_envelope_raises_payload_too_large_when_body_is_over_the_cap() -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_envelope(b" " * (MAX_BODY_BYTES + 1))

    assert caught.value.fields["limit"] == MAX_BODY_BYTES


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken-json"),
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-past-the-parser-depth"),
    ],
)
def test_parse_envelope_raises_malformed_when_body_is_not_json(body: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        parse_envelope(body)


@pytest.mark.parametrize("value", [[], [envelope()], "envelope", 1, None, True])
def test_parse_envelope_raises_malformed_when_json_is_not_an_object(value: Any) -> None:
    with pytest.raises(MalformedRequestError):
        parse_envelope(encoded(value))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(envelope(v=2), "v: literal_error", id="wrong-version"),
        pytest.param(envelope(batch_id=f"../{SECRET}"), "batch_id: string_pattern_mismatch", id="unsafe-batch-id"),
        pytest.param(envelope(events=SECRET), "events: list_type", id="events-not-a-list"),
        pytest.param(envelope(events=[event(t=SECRET)]), "events.0.t: string_pattern_mismatch", id="bad-type"),
        pytest.param(envelope(events=[event(seq=SECRET)]), "events.0.seq: int_parsing", id="bad-seq"),
        pytest.param(
            envelope(events=[event(received_at=SECRET)]),
            "events.0.received_at: datetime_from_date_parsing",
            id="bad-received-at",
        ),
        pytest.param(
            envelope(relay={"session_id": SECRET * 10}), "relay.session_id: string_too_long", id="session-too-long"
        ),
        pytest.param({k: v for k, v in envelope().items() if k != "events"}, "events: missing", id="no-events"),
    ],
)
def test_parse_envelope_reports_locations_and_types_when_envelope_does_not_validate(
    body: dict[str, Any], problem: str
) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(body))

    assert problem in caught.value.fields["problems"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(envelope(batch_id=SECRET + "/x"), id="in-batch-id"),
        pytest.param(envelope(events=[event(t=SECRET)]), id="in-event-type"),
        pytest.param(envelope(events=[event(received_at=SECRET)]), id="in-received-at"),
        pytest.param(envelope(events=[event(seq=SECRET)]), id="in-seq"),
        pytest.param(envelope(v=SECRET), id="in-version"),
    ],
)
def test_parse_envelope_never_echoes_payload_text_when_envelope_does_not_validate(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(body))

    error = caught.value
    assert error.fields["problems"]
    for text in (str(error), repr(error), error.message, json.dumps(error.fields)):
        assert SECRET not in text


def test_parse_envelope_caps_the_problem_list_when_many_events_are_invalid() -> None:
    body = envelope(events=[event(t="bad type") for _ in range(50)])

    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(body))

    assert 1 <= len(caught.value.fields["problems"]) <= 5


def test_parse_envelope_returns_raw_events_exactly_as_sent_when_envelope_is_valid() -> None:
    raw_events = [
        event(d={"content": "héllo 🎉", "embeds": [], "unknown_new_field": {"x": [1.5, None, True]}}),
        event(seq=2, t="SOMETHING_DISCORD_ADDED", d=[1, 2]),
        event(seq=None, source="import", id="k-1", received_at="2026-03-07T12:00:00+02:00", d=None),
    ]
    body = envelope(events=raw_events)

    parsed, raw = parse_envelope(encoded(body))

    assert raw == raw_events
    assert raw[2]["received_at"] == "2026-03-07T12:00:00+02:00"  # not the model's normalized time
    assert [e.t for e in parsed.events] == ["MESSAGE_CREATE", "SOMETHING_DISCORD_ADDED", "MESSAGE_CREATE"]


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_envelope_raises_malformed_request_when_received_at_overflows_in_utc(received_at: str) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(envelope(events=[event(received_at=received_at)])))

    assert caught.value.fields["problems"] == ["events.0.received_at: value_error"]


@pytest.mark.parametrize(
    "received_at", ["0001-01-01T00:00:00Z", "2014-12-31T23:59:59.999Z", "2100-01-01T00:00:00Z", "9999-12-31T00:00:00Z"]
)
def test_parse_envelope_raises_malformed_request_when_received_at_is_outside_the_accepted_years(
    received_at: str,
) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(envelope(events=[event(received_at=received_at)])))

    assert caught.value.fields["problems"] == ["events.0.received_at: value_error"]


@pytest.mark.parametrize(
    "received_at", ["2015-01-01T00:00:00Z", "2099-12-31T23:59:59.999Z", "2015-01-01T01:00:00+01:00"]
)
def test_parse_envelope_accepts_received_at_when_it_is_on_the_edge_of_the_accepted_years(received_at: str) -> None:
    parsed, _ = parse_envelope(encoded(envelope(events=[event(received_at=received_at)])))

    assert parsed.events[0].received_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 2**63), ("seq", 2**64 + 1)],
)
def test_parse_envelope_raises_malformed_request_when_an_integer_overflows_bigint(field: str, value: int) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_envelope(encoded(envelope(events=[event(**{field: value})])))

    assert caught.value.fields["problems"] == [f"events.0.{field}: less_than_equal"]


def test_parse_envelope_accepts_seq_when_it_is_the_largest_bigint() -> None:
    parsed, _ = parse_envelope(encoded(envelope(events=[event(seq=2**63 - 1)])))

    assert parsed.events[0].seq == 2**63 - 1


@pytest.mark.parametrize("shard", [[2**63, 2**63 + 1], [0, 2**64]])
def test_parse_envelope_raises_malformed_request_when_a_shard_number_overflows_bigint(shard: list[int]) -> None:
    with pytest.raises(MalformedRequestError):
        parse_envelope(encoded(envelope(relay={"shard": shard})))
