"""guildlog.adapters.signatures: the Ed25519 wrapper shared by both webhooks."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from nacl.signing import SigningKey

from guildlog.adapters.signatures import (
    MAX_CLOCK_SKEW_SECONDS,
    Signer,
    generate_keypair,
    raw_body,
    verify_request,
)
from guildlog.errors import SignatureError

NOW = 1_700_000_000
BODY = b'{"v":1,"batch_id":"b-1","events":[]}'
SEED = "11" * 32
SIGNER = Signer(SEED)
OTHER_SIGNER = Signer("22" * 32)

Request = tuple[bytes, dict[str, str] | None, str]


def signed(body: bytes = BODY, timestamp: int = NOW, signer: Signer = SIGNER) -> Request:
    return body, signer.headers(body, timestamp=timestamp), SIGNER.public_key


def without(name: str) -> Request:
    body, headers, key = signed()
    assert headers is not None
    return body, {k: v for k, v in headers.items() if k != name}, key


def with_header(name: str, value: str) -> Request:
    body, headers, key = signed()
    return body, {**(headers or {}), name: value}, key


def with_key(key: str) -> Request:
    body, headers, _ = signed()
    return body, headers, key


def flip_one_byte() -> Request:
    body, headers, key = signed()
    return body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:], headers, key


def signed_at_text(timestamp: str) -> Request:
    """A request signed correctly over `timestamp` exactly as written, whatever it is."""
    signature = SigningKey(bytes.fromhex(SEED)).sign(timestamp.encode() + BODY).signature.hex()
    return BODY, {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}, SIGNER.public_key


def signature() -> str:
    _, headers, _ = signed()
    assert headers is not None
    return headers["X-Signature-Ed25519"]


BAD_REQUESTS = [
    pytest.param(lambda: without("X-Signature-Ed25519"), id="missing-signature-header"),
    pytest.param(lambda: without("X-Signature-Timestamp"), id="missing-timestamp-header"),
    pytest.param(lambda: (BODY, None, SIGNER.public_key), id="no-headers-at-all"),
    pytest.param(lambda: (BODY, {}, SIGNER.public_key), id="empty-header-mapping"),
    pytest.param(lambda: with_header("X-Signature-Ed25519", ""), id="empty-signature"),
    pytest.param(lambda: with_header("X-Signature-Timestamp", ""), id="empty-timestamp"),
    pytest.param(lambda: with_header("X-Signature-Ed25519", "zz" * 64), id="non-hex-signature"),
    pytest.param(lambda: with_header("X-Signature-Ed25519", signature()[:-2]), id="signature-one-byte-short"),
    pytest.param(lambda: with_header("X-Signature-Ed25519", signature() + "00"), id="signature-one-byte-long"),
    pytest.param(lambda: signed(signer=OTHER_SIGNER), id="signed-by-another-key"),
    pytest.param(flip_one_byte, id="body-changed-by-one-byte"),
    pytest.param(lambda: signed(timestamp=NOW - MAX_CLOCK_SKEW_SECONDS - 1), id="timestamp-301s-old"),
    pytest.param(lambda: signed(timestamp=NOW + MAX_CLOCK_SKEW_SECONDS + 1), id="timestamp-301s-ahead"),
    # Signed over the odd timestamp itself, so only the timestamp check stands in the way.
    pytest.param(lambda: signed_at_text("soon"), id="timestamp-not-a-number"),
    pytest.param(lambda: signed_at_text(f"{NOW}.5"), id="timestamp-fractional"),
    pytest.param(lambda: signed_at_text(f"{NOW:e}"), id="timestamp-exponent"),
    pytest.param(lambda: signed_at_text(f"-{NOW}"), id="timestamp-negative"),
    pytest.param(lambda: signed_at_text("9" * 40), id="timestamp-absurdly-long"),
    pytest.param(lambda: with_key(""), id="public-key-unconfigured"),
    pytest.param(lambda: with_key("zz" * 32), id="public-key-not-hex"),
    pytest.param(lambda: with_key(SIGNER.public_key[:-2]), id="public-key-too-short"),
    pytest.param(lambda: with_key(OTHER_SIGNER.public_key), id="public-key-of-another-pair"),
]


@pytest.mark.parametrize("make_request", BAD_REQUESTS)
def test_verify_request_raises_signature_error_when_request_is_bad(make_request: Callable[[], Request]) -> None:
    body, headers, key = make_request()

    with pytest.raises(SignatureError):
        verify_request(body, headers, key, now=NOW)


def test_verify_request_raises_signature_error_when_public_key_is_none() -> None:
    body, headers, _ = signed()

    with pytest.raises(SignatureError):
        verify_request(body, headers, None, now=NOW)  # type: ignore[arg-type]  # an unset setting


@pytest.mark.parametrize("offset", [-MAX_CLOCK_SKEW_SECONDS, 0, MAX_CLOCK_SKEW_SECONDS])
def test_verify_request_accepts_when_timestamp_is_within_the_window(offset: int) -> None:
    body, headers, key = signed(timestamp=NOW + offset)

    verify_request(body, headers, key, now=NOW)


@pytest.mark.parametrize("case", [str.lower, str.upper, lambda name: name])
def test_verify_request_accepts_when_header_names_differ_in_case(case: Callable[[str], str]) -> None:
    body, headers, key = signed()
    assert headers is not None

    verify_request(body, {case(k): v for k, v in headers.items()}, key, now=NOW)


def test_verify_request_accepts_when_body_arrives_base64_encoded() -> None:
    body, headers, key = signed(body=bytes(range(256)))  # binary, as a gzip body would be
    encoded = base64.b64encode(body).decode("ascii")

    verify_request(raw_body(encoded, True), headers, key, now=NOW)


def test_raw_body_raises_signature_error_when_base64_is_invalid() -> None:
    with pytest.raises(SignatureError):
        raw_body("not base64!", True)


def test_raw_body_returns_utf8_bytes_when_body_is_plain_text() -> None:
    assert raw_body('{"é":1}', False) == '{"é":1}'.encode()


def test_raw_body_returns_empty_bytes_when_body_is_absent() -> None:
    assert raw_body(None, True) == b""


def test_signer_headers_verify_when_signed_and_checked_with_the_same_pair() -> None:
    pair = generate_keypair()
    signer = Signer(pair.private_key)
    headers = signer.headers(BODY, timestamp=NOW)

    verify_request(BODY, headers, pair.public_key, now=NOW)
    assert signer.public_key == pair.public_key
    assert headers["X-Signature-Timestamp"] == str(NOW)


@pytest.mark.parametrize("private_key", ["", "zz" * 32, "11" * 31, "11" * 33])
def test_signer_raises_signature_error_when_private_key_is_not_32_hex_bytes(private_key: str) -> None:
    with pytest.raises(SignatureError):
        Signer(private_key)


def test_generate_keypair_returns_32_byte_hex_keys_when_called() -> None:
    pair = generate_keypair()

    assert len(bytes.fromhex(pair.private_key)) == 32
    assert len(bytes.fromhex(pair.public_key)) == 32
    assert pair.private_key != pair.public_key


def test_generate_keypair_returns_a_new_pair_when_called_twice() -> None:
    assert generate_keypair().private_key != generate_keypair().private_key
