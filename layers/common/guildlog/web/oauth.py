"""Sign-in with Discord: OAuth2 authorization code with PKCE (S256) and `state`, scopes identify and guilds.

The REST calls go to the configured API base (`GUILDLOG_DISCORD_API_BASE`); the authorize page is
that base's origin + `/oauth2/authorize`, so a fake Discord (the local stack's, or any given by
`--discord-api-base`) serves the whole flow. Access tokens are used once, to read who signed in and
their guilds, and never stored: the session cookie keeps only ids and names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from guildlog.errors import SignInError

SCOPES = ("identify", "guilds")
# Discord's permission bits (a decimal string in /users/@me/guilds): who may read a guild's log.
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
_TIMEOUT_SECONDS = 8


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(api_base: str) -> str:
    """Discord's authorize page for an API base: `https://discord.com/api/v10` → `https://discord.com/oauth2/authorize`."""
    parts = urlsplit(api_base)
    return f"{parts.scheme}://{parts.netloc}/oauth2/authorize"


@dataclass(frozen=True)
class Member:
    """Who signed in, and the guilds they may read (id → name)."""

    user_id: str
    user_name: str
    guilds: dict[str, str]
    # The member's other guilds (id → name): a viewer role may still let them read one (web.roles).
    other_guilds: dict[str, str] = field(default_factory=dict)


def readable_guilds(guilds: Any) -> dict[str, str]:
    """The guilds of `/users/@me/guilds` whose log the member may read: owner, Administrator or Manage Server."""
    readable: dict[str, str] = {}
    if not isinstance(guilds, list):
        return readable
    for guild in guilds:
        if not isinstance(guild, dict) or not str(guild.get("id", "")).isdigit():
            continue
        try:
            bits = int(str(guild.get("permissions") or "0"))
        except ValueError:
            bits = 0
        if guild.get("owner") is True or bits & (ADMINISTRATOR | MANAGE_GUILD):
            readable[str(guild["id"])] = str(guild.get("name") or guild["id"])
    return readable


def other_guilds(guilds: Any, readable: dict[str, str]) -> dict[str, str]:
    """The guilds of `/users/@me/guilds` not in `readable`: where only a viewer role could let the member read."""
    if not isinstance(guilds, list):
        return {}
    return {
        str(g["id"]): str(g.get("name") or g["id"])
        for g in guilds
        if isinstance(g, dict) and str(g.get("id", "")).isdigit() and str(g["id"]) not in readable
    }


class DiscordOAuth:
    """The three calls of a sign-in, over urllib. `client_secret` is a callable: read on first use."""

    def __init__(self, api_base: str, client_id: str, client_secret: Any, *, configured: bool = True) -> None:
        self.api_base = api_base.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        # False when the stack was deployed without a client secret: the viewer then says so.
        self.configured = configured

    def __repr__(self) -> str:
        return f"DiscordOAuth({self.api_base!r}, {self.client_id!r})"

    def authorize_redirect(self, redirect_uri: str, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "scope": " ".join(SCOPES),
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "none",
        }
        return f"{authorize_url(self.api_base)}?{urlencode(query)}"

    def sign_in(self, code: str, verifier: str, redirect_uri: str) -> Member:
        """Exchange the code (with the PKCE verifier) and read the member and their guilds."""
        token = self._token(code, verifier, redirect_uri)
        user = self._get("/users/@me", token)
        guilds = self._get("/users/@me/guilds", token)
        if not isinstance(user, dict) or not str(user.get("id", "")).isdigit():
            raise SignInError("Discord did not say who signed in")
        name = str(user.get("global_name") or user.get("username") or user["id"])
        readable = readable_guilds(guilds)
        return Member(str(user["id"]), name, readable, other_guilds(guilds, readable))

    def _token(self, code: str, verifier: str, redirect_uri: str) -> str:
        form = urlencode(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        ).encode("ascii")
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret()}".encode()).decode("ascii")
        answer = self._call(
            "/oauth2/token",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise SignInError("Discord answered the code exchange without an access token")
        return token

    def _get(self, path: str, token: str) -> Any:
        return self._call(path, headers={"Authorization": f"Bearer {token}"})

    def _call(self, path: str, *, data: bytes | None = None, headers: dict[str, str]) -> Any:
        import urllib.error
        import urllib.request

        from guildlog.adapters.discord_rest import USER_AGENT

        request = urllib.request.Request(  # noqa: S310 - the base URL is configuration (https in AWS)
            self.api_base + path, data=data, headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as answer:  # noqa: S310
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise SignInError(f"Discord refused {path} ({exc.code})", status=exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
            raise SignInError(f"Discord could not be reached for {path}", error=type(exc).__name__) from None
