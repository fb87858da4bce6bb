"""zlib-stream decoding: payloads complete only at the flush marker, wherever the messages split."""

from __future__ import annotations

import zlib

import pytest

from guildlog_relay import inflate
from guildlog_relay.inflate import InflateError, ZlibStream


def stream(*payloads: bytes) -> list[bytes]:
    compressor = zlib.compressobj()
    return [compressor.compress(p) + compressor.flush(zlib.Z_SYNC_FLUSH) for p in payloads]


def test_zlib_stream_returns_each_payload_when_messages_arrive_whole() -> None:
    decoder = ZlibStream()

    assert [decoder.feed(m) for m in stream(b'{"op":10}', b'{"op":11}')] == [b'{"op":10}', b'{"op":11}']


@pytest.mark.parametrize("cut", [1, 2, 3, 5])
def test_zlib_stream_waits_for_the_marker_when_a_payload_is_split_even_inside_the_marker(cut: int) -> None:
    first, second = stream(b'{"op":0,"d":"' + b"x" * 5000 + b'"}', b'{"op":11}')
    decoder = ZlibStream()

    assert decoder.feed(first[:-cut]) is None
    assert decoder.feed(first[-cut:]).startswith(b'{"op":0')  # type: ignore[union-attr]
    assert decoder.feed(second) == b'{"op":11}'


def test_zlib_stream_raises_inflate_error_when_the_stream_is_corrupt() -> None:
    [message] = stream(b'{"op":10}')

    with pytest.raises(InflateError):
        ZlibStream().feed(b"\x00" + message)


def test_zlib_stream_raises_inflate_error_when_a_payload_inflates_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inflate, "MAX_INFLATED_BYTES", 1000)
    [message] = stream(b"a" * 5000)

    with pytest.raises(InflateError, match="inflated past"):
        ZlibStream().feed(message)


def test_zlib_stream_raises_inflate_error_when_no_marker_comes_before_the_buffer_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inflate, "MAX_PENDING_BYTES", 100)
    decoder = ZlibStream()
    decoder.feed(b"x" * 60)

    with pytest.raises(InflateError, match="flush marker"):
        decoder.feed(b"y" * 60)
