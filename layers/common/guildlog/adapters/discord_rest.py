"""Discord's REST API over the standard library: command registration and interaction follow-ups.

The base URL is configuration (`GUILDLOG_DISCORD_API_BASE`, `--api-base`), so the tests and the
local stack talk to a fake Discord. The bot token comes from a callable (Secrets Manager in AWS,
`DISCORD_TOKEN` or a file for the CLI), is fetched only when a request needs it, and is never part
of a log line or an error: errors carry the method, a path with any interaction token replaced by
`***`, the status and Discord's error code. Webhook edits (`/webhooks/{app}/{token}/…`) are
authorised by the interaction token in the path and send no bot token at all.

Rate limits: a 429 is waited out for its `retry_after` (when that ends before the deadline); a 5xx
or a network error is retried with capped, jittered backoff. Every request has a deadline.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from guildlog import __version__
from guildlog.errors import DiscordApiError

DEFAULT_API_BASE = "https://discord.com/api/v10"
# Discord asks bots to say who they are: "DiscordBot ($url, $versionNumber)".
USER_AGENT = f"DiscordBot (guildlog, {__version__})"
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[0-9]+/)[^/?]+")
_RETRYABLE = {500, 502, 503, 504}


def redact(path: str) -> str:
    """The path with an interaction (webhook) token replaced, fit for logs and errors."""
    return _WEBHOOK_TOKEN.sub(r"\1***", path)


class DiscordRest:
    """A small Discord REST client. `token` returns the bot token (None: no bot-authorised calls)."""

    def __init__(
        self,
        api_base: str = DEFAULT_API_BASE,
        token: Callable[[], str] | None = None,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api_base = api_base.rstrip("/")
        # What deadlines are measured against: the wall clock, or the local stack's pinned one.
        self.clock = clock
        self._token = token
        self.timeout = timeout
        self.attempts = attempts
        self.sleep = sleep
        self.monotonic = monotonic

    def __repr__(self) -> str:
        return f"DiscordRest({self.api_base!r})"

    # -- application commands (bot token)

    def get_application(self) -> dict[str, Any]:
        found: dict[str, Any] = self._request("GET", "/applications/@me")
        return found

    def get_commands(self, application_id: str, guild_id: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._request("GET", _commands_path(application_id, guild_id))
        return found

    def put_commands(
        self, application_id: str, commands: list[dict[str, Any]], guild_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Bulk overwrite: Discord then has exactly `commands` (others are deleted)."""
        found: list[dict[str, Any]] = self._request("PUT", _commands_path(application_id, guild_id), commands)
        return found

    # -- the application's settings and where the bot is (bot token; `guildlog setup` and `guildlog doctor`)

    def patch_application(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Edit the bot's application (e.g. `interactions_endpoint_url`, which Discord verifies with a
        signed PING before it answers); returns the application as Discord now has it."""
        found: dict[str, Any] = self._request("PATCH", "/applications/@me", changes)
        return found

    def get_current_user_guilds(self) -> list[dict[str, Any]]:
        """The servers the bot is in (the first 200: Discord's page; a logger is rarely in more)."""
        found: list[dict[str, Any]] = self._request("GET", "/users/@me/guilds?limit=200")
        return found

    def get_guild_member(self, guild_id: str, user_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._request("GET", f"/guilds/{guild_id}/members/{user_id}")
        return found

    def get_guild_roles(self, guild_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._request("GET", f"/guilds/{guild_id}/roles")
        return found

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._request("GET", f"/channels/{channel_id}")
        return found

    # -- interaction follow-ups (the interaction token, no bot token)

    def edit_original(
        self, application_id: str, token: str, body: dict[str, Any], *, deadline: datetime | None = None
    ) -> None:
        """Edit the interaction's original answer (the deferred "thinking…" message, or a button's message)."""
        seconds = None if deadline is None else (deadline - self.clock()).total_seconds()
        path = f"/webhooks/{application_id}/{token}/messages/@original"
        self._request("PATCH", path, body, bot=False, budget=seconds)

    # -- the one request loop

    def _request(
        self, method: str, path: str, body: Any = None, *, bot: bool = True, budget: float | None = None
    ) -> Any:
        import urllib.error
        import urllib.request

        shown = f"{method} {redact(path)}"
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if bot:
            if self._token is None:
                raise DiscordApiError(f"{shown} needs the bot token, and none is configured")
            headers["Authorization"] = f"Bot {self._token()}"
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        ends = None if budget is None else self.monotonic() + budget
        last: str = "no attempt"
        for attempt in range(self.attempts):
            left = None if ends is None else ends - self.monotonic()
            if left is not None and left <= 0:
                raise DiscordApiError(f"{shown}: out of time ({last})", attempts=attempt)
            # The base URL is configuration (https in AWS, a loopback fake in tests).
            request = urllib.request.Request(self.api_base + path, data=data, headers=headers, method=method)  # noqa: S310
            wait: float | None
            try:
                with urllib.request.urlopen(request, timeout=min(self.timeout, left or self.timeout)) as answer:  # noqa: S310
                    raw = answer.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                status = exc.code
                payload = _json(exc.read())
                if status == 429:
                    wait = _retry_after(payload, exc.headers)
                    last = "rate limited"
                elif status in _RETRYABLE:
                    wait = _backoff(attempt)
                    last = f"status {status}"
                else:
                    raise DiscordApiError(
                        f"{shown} was refused: {status} {_message(payload)}",
                        status=status,
                        code=payload.get("code") if isinstance(payload, dict) else None,
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                wait = _backoff(attempt)
                last = f"unreachable ({type(getattr(exc, 'reason', exc)).__name__})"
            if attempt + 1 >= self.attempts:
                break
            if ends is not None and self.monotonic() + wait >= ends:
                raise DiscordApiError(f"{shown}: would retry after the deadline ({last})", attempts=attempt + 1)
            self.sleep(wait)
        raise DiscordApiError(f"{shown} failed after {self.attempts} attempts ({last})", attempts=self.attempts)


def _commands_path(application_id: str, guild_id: str | None) -> str:
    if guild_id:
        return f"/applications/{application_id}/guilds/{guild_id}/commands"
    return f"/applications/{application_id}/commands"


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def _message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        text = payload["message"][:200]
        errors = payload.get("errors")
        return f"{text} {json.dumps(errors)[:300]}" if errors else text
    return ""


def _retry_after(payload: Any, headers: Any) -> float:
    """Seconds to wait on a 429: the body's `retry_after`, else the headers', else one second."""
    for value in (
        payload.get("retry_after") if isinstance(payload, dict) else None,
        headers.get("Retry-After") if headers is not None else None,
        headers.get("X-RateLimit-Reset-After") if headers is not None else None,
    ):
        try:
            if value is not None:
                return max(0.0, min(float(value), 60.0))
        except (TypeError, ValueError):
            continue
    return 1.0


def _backoff(attempt: int) -> float:
    return random.random() * min(4.0, 0.25 * (2**attempt))
