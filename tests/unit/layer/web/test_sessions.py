"""guildlog.web.sessions: signed cookies that cannot be forged, altered, repurposed or kept past expiry."""

from __future__ import annotations

import pytest

from guildlog.errors import ConfigurationError
from guildlog.web.sessions import SESSION_SECONDS, CookieSigner, SignIn, cookie_header, new_session, read_cookie

KEY = b"k" * 32
NOW = 1_800_000_000


def signed_session(signer: CookieSigner) -> str:
    return signer.session_cookie(new_session("910000000000000101", "alice", {"910000000000000001": "Lantern"}, NOW))


def test_session_cookie_reads_back_when_signed_with_the_same_key() -> None:
    signer = CookieSigner(KEY)
    session = signer.read_session(signed_session(signer), NOW + 10)
    assert session is not None
    assert session.user_id == "910000000000000101"
    assert session.may_read("910000000000000001")
    assert not session.may_read("920000000000000001")


def test_session_cookie_is_refused_when_forged_with_another_key() -> None:
    forged = signed_session(CookieSigner(b"x" * 32))
    assert CookieSigner(KEY).read_session(forged, NOW + 10) is None


def test_session_cookie_is_refused_when_expired() -> None:
    signer = CookieSigner(KEY)
    assert signer.read_session(signed_session(signer), NOW + SESSION_SECONDS) is None


def test_session_cookie_is_refused_when_its_payload_is_tampered_with() -> None:
    signer = CookieSigner(KEY)
    payload, tag = signed_session(signer).split(".")
    other_payload = signer.sign(
        "session", {"u": "1", "n": "x", "g": [["920000000000000001", "B"]], "exp": NOW + 99, "sid": "s"}
    )
    assert signer.read_session(f"{other_payload.split('.')[0]}.{tag}", NOW) is None
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert signer.read_session(f"{flipped}.{tag}", NOW) is None


@pytest.mark.parametrize("value", ["", "no-dot", "a.b.c", "!!!.???", "x" * 5000])
def test_session_cookie_is_refused_when_malformed(value: str) -> None:
    assert CookieSigner(KEY).read_session(value, NOW) is None


def test_sign_in_cookie_is_refused_when_presented_as_a_session() -> None:
    signer = CookieSigner(KEY)
    sign_in = signer.sign_in_cookie(SignIn("state", "verifier", "/app", NOW + 60))
    assert signer.read_session(sign_in, NOW) is None
    assert signer.read_sign_in(sign_in, NOW) == SignIn("state", "verifier", "/app", NOW + 60)


def test_csrf_token_is_refused_when_it_belongs_to_another_session() -> None:
    signer = CookieSigner(KEY)
    mine = new_session("910000000000000101", "alice", {}, NOW)
    theirs = new_session("910000000000000101", "alice", {}, NOW)
    assert signer.check_csrf(mine, signer.csrf_token(mine))
    assert not signer.check_csrf(mine, signer.csrf_token(theirs))
    assert not signer.check_csrf(mine, None)


def test_cookie_signer_is_refused_when_the_key_is_short() -> None:
    with pytest.raises(ConfigurationError):
        CookieSigner(b"short")


def test_cookie_header_is_httponly_lax_and_secure_when_not_local() -> None:
    header = cookie_header("guildlog_session", "v", secure=True, max_age=60)
    assert {"HttpOnly", "SameSite=Lax", "Secure", "Path=/app", "Max-Age=60"} <= set(header.split("; "))
    assert "Secure" not in cookie_header("guildlog_session", "v", secure=False, max_age=60)


def test_read_cookie_finds_the_value_when_several_cookies_are_sent() -> None:
    assert read_cookie(["a=1", "guildlog_session=abc.def", "b=2"], "guildlog_session") == "abc.def"
    assert read_cookie(None, "guildlog_session") is None
