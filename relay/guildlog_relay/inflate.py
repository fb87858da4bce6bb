"""zlib-stream transport compression: one inflater per connection, messages end with Z_SYNC_FLUSH.

Discord compresses the whole connection as one zlib stream and flushes after each payload, so a
payload is complete only when the bytes received end with `00 00 ff ff`; a payload may arrive
split across several websocket messages. A fresh connection needs a fresh inflater.
"""

from __future__ import annotations

import zlib

from guildlog.errors import RelayError
from guildlog_relay.protocol import ZLIB_SUFFIX

# A payload inflated past this is refused: no real payload comes close (a guild of 250,000
# members with every member sent would), and memory must stay bounded whatever arrives.
MAX_INFLATED_BYTES = 512 * 1024 * 1024
# Compressed bytes buffered without a flush marker before the stream is declared broken.
MAX_PENDING_BYTES = 128 * 1024 * 1024


class InflateError(RelayError):
    """The stream cannot be decoded (corrupt, or a payload over the cap): reconnect and resume."""


class ZlibStream:
    """Feed websocket messages in; get complete payloads (bytes of JSON) out."""

    __slots__ = ("_inflater", "_pending", "_pending_size", "_tail")

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._tail = b""  # the last bytes buffered: the marker itself may be split across messages

    def feed(self, data: bytes) -> bytes | None:
        """The payload `data` completes, or None while it is still incomplete."""
        if self._pending:
            self._pending.append(data)
            self._pending_size += len(data)
            self._tail = (self._tail + data)[-len(ZLIB_SUFFIX) :]
            if self._tail != ZLIB_SUFFIX:
                if self._pending_size > MAX_PENDING_BYTES:
                    raise InflateError("a zlib-stream payload grew past the buffer cap without a flush marker")
                return None
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            self._tail = b""
        elif not data.endswith(ZLIB_SUFFIX):
            self._pending.append(data)
            self._pending_size = len(data)
            self._tail = data[-len(ZLIB_SUFFIX) :]
            return None
        try:
            out = self._inflater.decompress(data, MAX_INFLATED_BYTES)
        except zlib.error as exc:
            raise InflateError(f"corrupt zlib stream: {exc}") from None
        if self._inflater.unconsumed_tail:
            raise InflateError(f"a payload inflated past {MAX_INFLATED_BYTES} bytes")
        return out
