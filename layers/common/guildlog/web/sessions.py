"""Signed cookies: the session (who signed in, which guilds they may read) and the sign-in's own state.

A cookie value is `base64url(zlib(json)) "." base64url(HMAC-SHA256(key, purpose "." payload))`. The
purpose is part of what is signed, so a sign-in cookie can never pass as a session. Every payload
carries its expiry (`exp`, unix seconds) and is refused after it. Nothing in a cookie is secret
(the member's id, the guild ids); what matters is that only the stack can write one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

SESSION_COOKIE = "guildlog_session"
SIGN_IN_COOKIE = "guildlog_sign_in"
COOKIE_PATH = "/app"
# Short-lived on purpose: signing in again re-reads the member's guilds and permissions from Discord.
SESSION_SECONDS = 3600
SIGN_IN_SECONDS = 600
# A cookie is at most 4,096 bytes in every browser; a member of more guilds than this sees the first ones.
MAX_GUILDS = 50
MAX_GUILD_NAME = 40
MAX_COOKIE_CHARS = 4000
_MIN_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """A signed-in member: who, until when, which guilds (id → name), and the session's own id."""

    user_id: str
    user_name: str
    guilds: dict[str, str]
    expires_at: int
    session_id: str
    # Guilds read through a viewer role rather than Manage Server: re-checked with Discord (web.roles).
    role_guilds: frozenset[str] = frozenset()

    def may_read(self, guild_id: str) -> bool:
        return guild_id in self.guilds


@dataclass(frozen=True)
class SignIn:
    """A sign-in in flight: the `state` sent to Discord, the PKCE verifier, and where to go afterwards."""

    state: str
    verifier: str
    next_path: str
    expires_at: int


class CookieSigner:
    """Signs and verifies the viewer's cookies with one key (from Secrets Manager, at least 32 bytes)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < _MIN_KEY_BYTES:
            from guildlog.errors import ConfigurationError

            raise ConfigurationError("the web session key is shorter than 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "CookieSigner(***)"

    # -- the two cookies

    def session_cookie(self, session: Session) -> str:
        return self.sign(
            "session",
            {
                "u": session.user_id,
                "n": session.user_name,
                "g": [[gid, name] for gid, name in session.guilds.items()],
                "exp": session.expires_at,
                "sid": session.session_id,
                "r": sorted(session.role_guilds),
            },
        )

    def read_session(self, value: str | None, now: int) -> Session | None:
        """The session in a cookie value, or None when it is absent, forged, tampered with or expired."""
        data = self.verify("session", value, now)
        if data is None:
            return None
        try:
            guilds = {str(gid): str(name) for gid, name in data["g"]}
            by_role = frozenset(str(gid) for gid in data.get("r") or ()) & guilds.keys()
            return Session(str(data["u"]), str(data["n"]), guilds, int(data["exp"]), str(data["sid"]), by_role)
        except (KeyError, TypeError, ValueError):
            return None

    def sign_in_cookie(self, sign_in: SignIn) -> str:
        return self.sign(
            "sign-in", {"s": sign_in.state, "v": sign_in.verifier, "n": sign_in.next_path, "exp": sign_in.expires_at}
        )

    def read_sign_in(self, value: str | None, now: int) -> SignIn | None:
        data = self.verify("sign-in", value, now)
        if data is None:
            return None
        try:
            return SignIn(str(data["s"]), str(data["v"]), str(data["n"]), int(data["exp"]))
        except (KeyError, TypeError, ValueError):
            return None

    def csrf_token(self, session: Session) -> str:
        """The token every POST form of this session carries: bound to the session, useless without it."""
        return _b64(hmac.new(self._key, f"csrf.{session.session_id}".encode(), hashlib.sha256).digest()[:24])

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))

    # -- the format

    def sign(self, purpose: str, data: dict[str, Any]) -> str:
        payload = _b64(zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8")))
        return f"{payload}.{self._tag(purpose, payload)}"

    def verify(self, purpose: str, value: str | None, now: int) -> dict[str, Any] | None:
        """The signed data, or None: a missing, malformed, unsigned, re-signed or expired value."""
        if not value or len(value) > MAX_COOKIE_CHARS or value.count(".") != 1:
            return None
        payload, tag = value.split(".")
        if not hmac.compare_digest(self._tag(purpose, payload), tag):
            return None
        try:
            data = json.loads(zlib.decompress(_unb64(payload), bufsize=MAX_COOKIE_CHARS))
        except (ValueError, zlib.error):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] <= now:
            return None
        return data

    def _tag(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}.{payload}".encode("ascii"), hashlib.sha256).digest())


def new_session(
    user_id: str,
    user_name: str,
    guilds: dict[str, str],
    now: int,
    *,
    by_role: dict[str, str] | None = None,
    session_id: str | None = None,
) -> Session:
    """A session for `guilds` (managed) and `by_role` (readable through a viewer role), at most MAX_GUILDS in all."""
    merged = {**(by_role or {}), **guilds}
    kept = {gid: name[:MAX_GUILD_NAME] for gid, name in list(merged.items())[:MAX_GUILDS]}
    role_guilds = frozenset(g for g in (by_role or {}) if g in kept and g not in guilds)
    sid = session_id or secrets.token_urlsafe(12)
    return Session(user_id, user_name[:64], kept, now + SESSION_SECONDS, sid, role_guilds)


def cookie_header(name: str, value: str, *, secure: bool, max_age: int) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax (the sign-in comes back from Discord by a top-level GET)."""
    attributes = [f"{name}={value}", f"Path={COOKIE_PATH}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def clear_cookie_header(name: str, *, secure: bool) -> str:
    return cookie_header(name, "", secure=secure, max_age=0)


def read_cookie(cookies: list[str] | None, name: str) -> str | None:
    """A cookie's value from API Gateway's `cookies` list (`name=value` strings); the last one wins."""
    found = None
    for cookie in cookies or []:
        key, _, value = cookie.partition("=")
        if key.strip() == name:
            found = value.strip()
    return found
