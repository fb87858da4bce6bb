"""Ed25519 request signatures, the way Discord signs interactions; one wrapper serves both webhooks.

Verification goes through `discord_interactions.verify_key`, wrapped so that bad input of any
shape (missing or non-hex headers, wrong lengths, stale timestamps) is a SignatureError with a
reason, never another exception: the callers turn it into 401.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from guildlog.errors import SignatureError

SIGNATURE_HEADER = "x-signature-ed25519"
TIMESTAMP_HEADER = "x-signature-timestamp"
# Discord's own window for interactions; a replayed request older than this is refused.
MAX_CLOCK_SKEW_SECONDS = 300
_HEX_SIGNATURE = re.compile(r"^[0-9a-fA-F]{128}$")
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value, whatever its case (API Gateway v2 lower-cases; other callers may not)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def raw_body(body: str | bytes | None, is_base64_encoded: bool) -> bytes:
    """The bytes as sent: API Gateway hands binary bodies (gzip) over base64-encoded."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("body is not valid base64") from None
    return body.encode("utf-8")


def verify_request(
    body: bytes,
    headers: Mapping[str, str] | None,
    public_key_hex: str,
    *,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless `body` carries a fresh, valid signature by `public_key_hex`."""
    from discord_interactions import verify_key  # imported here: only the verifying path needs PyNaCl

    signature = header(headers, SIGNATURE_HEADER)
    timestamp = header(headers, TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise SignatureError("missing signature headers")
    if not _HEX_SIGNATURE.match(signature):
        raise SignatureError("signature is not 64 hex-encoded bytes")
    if not _TIMESTAMP.match(timestamp):
        raise SignatureError("timestamp is not unix seconds")
    if not _HEX_KEY.match(public_key_hex or ""):
        raise SignatureError("server public key is not configured")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError("timestamp outside the allowed window")
    # verify_key prints the failure reason to stdout; Lambda would log it for every bad request.
    with contextlib.redirect_stdout(io.StringIO()):
        valid = verify_key(body, signature, timestamp, public_key_hex)
    if not valid:
        raise SignatureError("signature does not verify")


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair as hex: the private seed (32 bytes) and the public key (32 bytes)."""

    private_key: str
    public_key: str


def generate_keypair() -> KeyPair:
    """A new random key pair (`guildlog keygen`)."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    return KeyPair(private_key=key.encode().hex(), public_key=key.verify_key.encode().hex())


class Signer:
    """Signs request bodies with a private Ed25519 seed: the relay's side of verify_request."""

    def __init__(self, private_key_hex: str) -> None:
        from nacl.signing import SigningKey

        seed = private_key_hex.strip()
        if not _HEX_KEY.match(seed):
            raise SignatureError("private key must be 32 hex-encoded bytes")
        self._key = SigningKey(bytes.fromhex(seed))
        self.public_key = self._key.verify_key.encode().hex()

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The two signature headers for `body`, signed now (or at `timestamp`)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._key.sign(ts.encode() + body).signature.hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": ts}
