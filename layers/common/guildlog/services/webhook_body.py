"""Reading a webhook body: size caps (compressed and decompressed), gzip, JSON, the v1 envelope."""

from __future__ import annotations

import json
import zlib
from typing import Any

from pydantic import ValidationError

from guildlog.errors import MalformedRequestError, PayloadTooLargeError
from guildlog.models.envelope import Envelope

# A function URL, like any synchronous Lambda invoke, takes 6 MB of request; the relay flushes well below.
MAX_BODY_BYTES = 6 * 1024 * 1024
# A gzip bomb stops here instead of exhausting the function's memory.
MAX_DECOMPRESSED_BYTES = 48 * 1024 * 1024
_CHUNK = 1024 * 1024


def decompress(body: bytes, content_encoding: str | None, *, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The body as JSON bytes, inflating gzip incrementally and refusing to pass `max_bytes`."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise MalformedRequestError("unsupported Content-Encoding", encoding=encoding[:32])
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = body
    try:
        while pending:
            out += inflater.decompress(pending, _CHUNK)
            if len(out) > max_bytes:
                raise PayloadTooLargeError("decompressed body over the limit", limit=max_bytes)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        out += inflater.flush()
    except zlib.error:
        raise MalformedRequestError("body is not valid gzip") from None
    if not inflater.eof:
        raise MalformedRequestError("gzip body is truncated")
    if len(out) > max_bytes:
        raise PayloadTooLargeError("decompressed body over the limit", limit=max_bytes)
    return bytes(out)


def parse_envelope(body: bytes, content_encoding: str | None = None) -> tuple[Envelope, list[dict[str, Any]]]:
    """The validated envelope and its events exactly as received (what the raw archive keeps)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("body over the limit", limit=MAX_BODY_BYTES)
    text = decompress(body, content_encoding)
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedRequestError("body is not JSON") from None
    except RecursionError:
        # Nested deeper than the parser goes: a 400, not a 5xx the relay would retry forever.
        raise MalformedRequestError("body is nested too deeply") from None
    if not isinstance(data, dict):
        raise MalformedRequestError("body is not a JSON object")
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        # Locations and error types only: a message never echoes payload content.
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['type']}" for e in exc.errors()[:5]]
        raise MalformedRequestError("envelope does not validate", problems=problems) from None
    return envelope, data["events"]
