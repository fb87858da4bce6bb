"""Discord's OAuth2 endpoints, faked for the local stack's fake Discord: the web viewer's whole sign-in runs locally.

    GET  /oauth2/authorize          approves at once as the configured member, redirects with code and state
    POST /api/v10/oauth2/token      code + PKCE verifier + client credentials (HTTP Basic) → a bearer token
    GET  /api/v10/users/@me         the member
    GET  /api/v10/users/@me/guilds  their guilds, with `owner` and `permissions` as Discord sends them

It checks what Discord checks: the client id and secret, the redirect URI the code was issued for,
the S256 challenge against the verifier, and that a code is used once. `sign_in_as(user)` picks who
the next authorize approves as; without one it is the dev moderator of the demo guild.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

API_PREFIX = "/api/v10"
MANAGE_GUILD = 1 << 5
# The guild of events/gateway/demo-session.jsonl, so `guildlog demo` then `guildlog dev` have a guild to read.
DEMO_GUILD = ("1213547418747011073", "Guildlog Demo")

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class FakeGuild:
    id: str
    name: str
    permissions: int = MANAGE_GUILD
    owner: bool = False

    def as_partial(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "owner": self.owner,
            "permissions": str(self.permissions),
        }


@dataclass(frozen=True)
class FakeUser:
    id: str
    username: str
    guilds: tuple[FakeGuild, ...] = ()
    global_name: str | None = None


DEV_MODERATOR = FakeUser("100000000000000001", "dev-moderator", (FakeGuild(*DEMO_GUILD),), "Dev Moderator")


@dataclass
class _Grant:
    user: FakeUser
    redirect_uri: str
    challenge: str
    used: bool = False


@dataclass
class FakeDiscordOAuth:
    """The OAuth part of the fake Discord; `client_id` and `client_secret` must match the stack's."""

    client_id: str = ""
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user: FakeUser = DEV_MODERATOR
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, FakeUser] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sign_in_as(self, user: FakeUser) -> None:
        """Who the next authorize approves as."""
        self.user = user

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Answer | None:
        """The answer to an OAuth request, or None when the request is not one (the caller answers it)."""
        parts = urlsplit(target)
        path = parts.path
        if path == "/oauth2/authorize" and method == "GET":
            return self._authorize(dict(parse_qsl(parts.query)))
        if path == f"{API_PREFIX}/oauth2/token" and method == "POST":
            return self._token(dict(parse_qsl(body.decode("utf-8", "replace"))), headers.get("authorization") or "")
        if path in (f"{API_PREFIX}/users/@me", f"{API_PREFIX}/users/@me/guilds") and method == "GET":
            user = self._tokens.get(_bearer(headers.get("authorization") or ""))
            if user is None:
                return _json(401, {"message": "401: Unauthorized", "code": 0})
            if path.endswith("/guilds"):
                return _json(200, [g.as_partial() for g in user.guilds])
            return _json(
                200, {"id": user.id, "username": user.username, "global_name": user.global_name, "avatar": None}
            )
        return None

    def _authorize(self, query: dict[str, str]) -> Answer:
        redirect_uri = query.get("redirect_uri", "")
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("redirect_uri", redirect_uri.startswith(("http://", "https://"))),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("scope", {"identify", "guilds"} <= set(query.get("scope", "").split())),
            )
            if not ok
        ]
        if problems:
            return _json(400, {"error": "invalid_request", "error_description": f"bad {', '.join(problems)}"})
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._grants[code] = _Grant(self.user, redirect_uri, query["code_challenge"])
        answer = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(answer)}"
        return 302, {"location": location, "content-length": "0"}, b""

    def _token(self, form: dict[str, str], authorization: str) -> Answer:
        if not self._client_ok(authorization):
            return _json(401, {"error": "invalid_client"})
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return _json(400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'})
            grant.used = True  # a code is good once, even when the rest of the request is wrong
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant", "error_description": 'Invalid "redirect_uri" in request.'})
        if not hmac.compare_digest(challenge, grant.challenge):
            return _json(400, {"error": "invalid_grant", "error_description": 'Invalid "code_verifier".'})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = grant.user
        return _json(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": 604800, "scope": "identify guilds"}
        )

    def _client_ok(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return client_id == self.client_id and hmac.compare_digest(secret, self.client_secret)


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token if scheme.lower() == "bearer" else ""


def _json(status: int, body: Any) -> Answer:
    data = json.dumps(body).encode("utf-8")
    return status, {"content-type": "application/json", "content-length": str(len(data))}, data
