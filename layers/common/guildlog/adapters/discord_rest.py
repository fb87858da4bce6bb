"""Discord's REST API over the standard library: the one client for every call guildlog makes to Discord.

Command registration, interaction follow-ups, log posts (bot messages and channel webhooks) and
invite look-ups all go through `DiscordRest`, so one place keeps Discord's rate limits:

- per-route buckets, learnt from the `X-RateLimit-*` headers of every answer: a bucket with no
  request left waits for its reset before the next request instead of earning a 429;
- a 429 is waited out for its `retry_after`, and its `X-RateLimit-Scope` decides what waits: the
  whole client (`global`), or the route's bucket (`user`, `shared`);
- the global limit (50 requests a second per bot; interaction webhooks are exempt);
- the invalid-request limit (10,000 answers 401, 403 or a non-shared 429 in 10 minutes bans the
  bot's IP for an hour): the client counts its own and refuses to send past a ceiling set well
  below it, since other containers spend the same allowance.

The base URL is configuration (`GUILDLOG_DISCORD_API_BASE`, `--api-base`), so the tests and the
local stack talk to a fake Discord. The bot token comes from a callable (Secrets Manager in AWS,
`DISCORD_TOKEN` or a file for the CLI), is fetched only when a request needs it, and is never part
of a log line or an error: errors carry the method, a path with any webhook token replaced by
`***`, the status and Discord's error code. Webhook calls (`/webhooks/{id}/{token}…`) are
authorised by the token in the path and send no bot token at all.

A 5xx or a network error is retried with capped, jittered backoff; a 403 or a 404 is raised at once
as `DiscordTargetGoneError` (the caller stops using that channel or webhook). Every request has a
deadline.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from guildlog import __version__
from guildlog.errors import DiscordApiError, DiscordTargetGoneError

DEFAULT_API_BASE = "https://discord.com/api/v10"
# Discord asks bots to say who they are: "DiscordBot ($url, $versionNumber)".
USER_AGENT = f"DiscordBot (guildlog, {__version__})"
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[0-9]+/)[^/?]+")
_RETRYABLE = {500, 502, 503, 504}
# Discord: 50 requests per second per bot token, across all routes but interaction webhooks.
GLOBAL_LIMIT_PER_SECOND = 50
# Discord bans an IP for an hour after 10,000 invalid requests (401, 403, 429 but `shared`) in 10 minutes.
INVALID_WINDOW_S = 600.0
INVALID_LIMIT = 10_000
# Every container of every function counts alone: stop at a fraction so together they stay under it.
DEFAULT_INVALID_CEILING = 1_000
# A reset further away than this is not waited for inside one request: the caller hears of it.
MAX_WAIT_S = 60.0
# Route segments that are "major parameters": their value is part of the bucket, not a wildcard.
_MAJOR = ("channels", "guilds", "webhooks")
_SNOWFLAKE_SEGMENT = re.compile(r"^\d{15,21}$")
_INTERACTION_WEBHOOK = re.compile(r"^/webhooks/\d+/[^/]+(/messages/@original)?$")


def redact(path: str) -> str:
    """The path with a webhook (or interaction) token replaced, fit for logs and errors."""
    return _WEBHOOK_TOKEN.sub(r"\1***", path)


def route_key(method: str, path: str) -> tuple[str, str]:
    """(route, major parameter) of a request: ids other than the major parameter are wildcards.

    Discord's buckets are per route and per major parameter (channel, guild, webhook id and token),
    so two channels never share a message bucket while two messages of one channel do.
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    shaped: list[str] = []
    major = ""
    for n, part in enumerate(parts):
        previous = parts[n - 1] if n else ""
        if previous in _MAJOR and not major:
            major = part if previous != "webhooks" else f"{part}/{parts[n + 1] if n + 1 < len(parts) else ''}"
            shaped.append("{" + previous + "}")
        elif n == 2 and parts[0] == "webhooks":
            shaped.append("{token}")
        elif _SNOWFLAKE_SEGMENT.match(part):
            shaped.append("{id}")
        else:
            shaped.append(part)
    return f"{method} /{'/'.join(shaped)}", major


@dataclass
class _Bucket:
    remaining: int | None = None
    resets_at: float = 0.0


@dataclass
class RateLimitStats:
    """What the client met: requests sent, 429s by scope, waits done before sending."""

    requests: int = 0
    rate_limited: int = 0
    rate_limited_global: int = 0
    rate_limited_shared: int = 0
    invalid: int = 0
    waits: int = 0


class RateLimiter:
    """Buckets, the global window and the invalid-request count of one client (thread-safe)."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        global_per_second: int = GLOBAL_LIMIT_PER_SECOND,
        invalid_ceiling: int = DEFAULT_INVALID_CEILING,
    ) -> None:
        self.monotonic = monotonic
        self.global_per_second = global_per_second
        self.invalid_ceiling = invalid_ceiling
        self._lock = threading.Lock()
        self._route_bucket: dict[str, str] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global_until = 0.0
        self._sent: deque[float] = deque()
        self._invalid: deque[float] = deque()
        self.stats = RateLimitStats()

    def _bucket(self, route: str, major: str) -> _Bucket:
        key = (self._route_bucket.get(route, route), major)
        return self._buckets.setdefault(key, _Bucket())

    def wait_before(self, route: str, major: str, *, counts_globally: bool, waited: bool = False) -> float:
        """Seconds to wait before sending on (route, major); reserves the request when it is 0.

        `waited`: the caller has just slept the wait this returned, so the request is reserved now
        (a second look could ask for another wait when the clock is a test's).
        """
        now = self.monotonic()
        with self._lock:
            self._forget(now)
            if len(self._invalid) >= self.invalid_ceiling:
                raise DiscordApiError(
                    "too many invalid requests lately: not sending, to keep the bot's IP from being banned",
                    invalid=len(self._invalid),
                )
            wait = max(0.0, self._global_until - now)
            bucket = self._bucket(route, major)
            if bucket.remaining is not None and bucket.remaining <= 0 and bucket.resets_at > now:
                wait = max(wait, bucket.resets_at - now)
            if counts_globally and len(self._sent) >= self.global_per_second:
                wait = max(wait, self._sent[0] + 1.0 - now)
            if wait > 0 and not waited:
                self.stats.waits += 1
                return wait
            if waited:
                self._global_until = min(self._global_until, now)
                if bucket.resets_at > now and (bucket.remaining or 0) <= 0:
                    bucket.remaining, bucket.resets_at = None, now
            if bucket.remaining is not None and bucket.resets_at > now:
                bucket.remaining -= 1
            if counts_globally:
                self._sent.append(now)
            self.stats.requests += 1
            return 0.0

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        while self._invalid and self._invalid[0] <= now - INVALID_WINDOW_S:
            self._invalid.popleft()

    def learn(self, route: str, major: str, status: int, headers: Any, payload: Any) -> float | None:
        """Take in an answer's headers; for a 429, the seconds to wait (and what waits is set here)."""
        now = self.monotonic()
        with self._lock:
            name = _header(headers, "X-RateLimit-Bucket")
            if name:
                self._route_bucket[route] = name
            bucket = self._bucket(route, major)
            remaining = _number(_header(headers, "X-RateLimit-Remaining"))
            reset_after = _number(_header(headers, "X-RateLimit-Reset-After"))
            if remaining is not None:
                bucket.remaining = int(remaining)
            if reset_after is not None:
                bucket.resets_at = now + reset_after
            if status in (401, 403):
                self._invalid.append(now)
                self.stats.invalid += 1
            if status != 429:
                return None
            wait = _retry_after(payload, headers)
            scope = (_header(headers, "X-RateLimit-Scope") or "").lower()
            is_global = scope == "global" or (_header(headers, "X-RateLimit-Global") or "").lower() == "true"
            if isinstance(payload, dict) and payload.get("global") is True:
                is_global = True
            self.stats.rate_limited += 1
            if scope == "shared":
                # A shared resource (a busy channel) is limited for everyone: Discord does not count it as invalid.
                self.stats.rate_limited_shared += 1
            else:
                self._invalid.append(now)
                self.stats.invalid += 1
            if is_global:
                self.stats.rate_limited_global += 1
                self._global_until = max(self._global_until, now + wait)
            else:
                bucket.remaining = 0
                bucket.resets_at = max(bucket.resets_at, now + wait)
            return wait


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
        limiter: RateLimiter | None = None,
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
        self.limiter = limiter or RateLimiter(monotonic)

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

    # -- log posts

    def create_message(
        self, channel_id: str, body: dict[str, Any], *, files: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        """Post `body` (and text `files`, by name) in a channel as the bot.

        Raises DiscordTargetGoneError on 403/404 (no access, no channel).
        """
        found: dict[str, Any] = self._request("POST", f"/channels/{channel_id}/messages", body, files=files)
        return found

    def create_dm(self, user_id: str) -> dict[str, Any]:
        """The bot's direct-message channel with a user (an erasure's receipt goes there)."""
        found: dict[str, Any] = self._request("POST", "/users/@me/channels", {"recipient_id": user_id})
        return found

    def create_webhook(self, channel_id: str, name: str) -> dict[str, Any]:
        """A new channel webhook (needs Manage Webhooks); the answer holds its `id` and `token`."""
        found: dict[str, Any] = self._request("POST", f"/channels/{channel_id}/webhooks", {"name": name})
        return found

    def execute_webhook(
        self, webhook_id: str, webhook_token: str, body: dict[str, Any], *, files: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        """Post `body` (and text `files`) through a channel webhook; the message (`?wait=true`). No bot token."""
        path = f"/webhooks/{webhook_id}/{webhook_token}?wait=true"
        found: dict[str, Any] = self._request("POST", path, body, bot=False, files=files)
        return found

    def get_guild_invites(self, guild_id: str, budget: float | None = None) -> list[dict[str, Any]]:
        """The guild's invites with their use counts (needs Manage Guild); within `budget` seconds
        in all, rate-limit waits included, when given."""
        found: list[dict[str, Any]] = self._request("GET", f"/guilds/{guild_id}/invites", budget=budget)
        return found

    # -- history (bot token; `guildlog backfill` and gap repair, services/backfill.py)

    def get_guild_channels(self, guild_id: str) -> list[dict[str, Any]]:
        """The guild's channels (not its threads), as the bot may see them."""
        found: list[dict[str, Any]] = self._request("GET", f"/guilds/{guild_id}/channels")
        return found

    def get_active_threads(self, guild_id: str) -> dict[str, Any]:
        """`{"threads": [...], "members": [...]}`: the guild's active threads, public and private."""
        found: dict[str, Any] = self._request("GET", f"/guilds/{guild_id}/threads/active")
        return found

    def get_archived_threads(
        self, channel_id: str, *, private: bool = False, before: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """One page of a channel's archived threads, newest archived first: `threads`, `has_more`.

        `before` is an ISO time (an `archive_timestamp`); private ones need Manage Threads (else 403).
        """
        params = {"limit": str(limit), **({"before": before} if before else {})}
        kind = "private" if private else "public"
        found: dict[str, Any] = self._request("GET", f"/channels/{channel_id}/threads/archived/{kind}?{_query(params)}")
        return found

    def get_channel_messages(
        self, channel_id: str, *, after: str | None = None, before: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Up to `limit` (1-100) messages of a channel after or before a message id (Discord: newest first)."""
        params = {"limit": str(limit), **({"after": after} if after else {}), **({"before": before} if before else {})}
        found: list[dict[str, Any]] = self._request("GET", f"/channels/{channel_id}/messages?{_query(params)}")
        return found

    # -- the one request loop

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        bot: bool = True,
        budget: float | None = None,
        files: list[tuple[str, str]] | None = None,
    ) -> Any:
        import urllib.error
        import urllib.request

        shown = f"{method} {redact(path)}"
        route, major = route_key(method, path)
        # Interaction webhooks are not bound by the global limit (Discord's rate-limit docs).
        counts_globally = not (method != "POST" and _INTERACTION_WEBHOOK.match(path.split("?", 1)[0]))
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if bot:
            if self._token is None:
                raise DiscordApiError(f"{shown} needs the bot token, and none is configured")
            headers["Authorization"] = f"Bot {self._token()}"
        data = None
        if files:
            data, headers["Content-Type"] = multipart(body or {}, files)
        elif body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        ends = None if budget is None else self.monotonic() + budget
        last: str = "no attempt"
        attempt = 0
        while attempt < self.attempts:
            left = None if ends is None else ends - self.monotonic()
            if left is not None and left <= 0:
                raise DiscordApiError(f"{shown}: out of time ({last})", attempts=attempt)
            wait = self.limiter.wait_before(route, major, counts_globally=counts_globally)
            if wait > 0:
                if wait > MAX_WAIT_S or (ends is not None and self.monotonic() + wait >= ends):
                    raise DiscordApiError(f"{shown}: would retry after the deadline ({last})", attempts=attempt)
                self.sleep(wait)
                self.limiter.wait_before(route, major, counts_globally=counts_globally, waited=True)
            attempt += 1
            # The base URL is configuration (https in AWS, a loopback fake in tests).
            request = urllib.request.Request(self.api_base + path, data=data, headers=headers, method=method)  # noqa: S310
            backoff: float | None = None
            try:
                with urllib.request.urlopen(request, timeout=min(self.timeout, left or self.timeout)) as answer:  # noqa: S310
                    raw = answer.read()
                    self.limiter.learn(route, major, answer.status, answer.headers, None)
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                status = exc.code
                payload = _json(exc.read())
                self.limiter.learn(route, major, status, exc.headers, payload)
                if status == 429:
                    last = "rate limited"
                elif status in _RETRYABLE:
                    backoff = _backoff(attempt - 1)
                    last = f"status {status}"
                else:
                    error = DiscordTargetGoneError if status in (403, 404) else DiscordApiError
                    raise error(
                        f"{shown} was refused: {status} {_message(payload)}",
                        status=status,
                        code=payload.get("code") if isinstance(payload, dict) else None,
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                backoff = _backoff(attempt - 1)
                last = f"unreachable ({type(getattr(exc, 'reason', exc)).__name__})"
            if attempt >= self.attempts:
                break
            if backoff is not None:
                if ends is not None and self.monotonic() + backoff >= ends:
                    raise DiscordApiError(f"{shown}: would retry after the deadline ({last})", attempts=attempt)
                self.sleep(backoff)
        raise DiscordApiError(f"{shown} failed after {self.attempts} attempts ({last})", attempts=self.attempts)


def multipart(body: dict[str, Any], files: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A message with files as Discord takes it: `payload_json` plus `files[n]` parts (multipart/form-data)."""
    import secrets

    boundary = "guildlog-" + secrets.token_hex(12)
    payload = {**body, "attachments": [{"id": n, "filename": name} for n, (name, _) in enumerate(files)]}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\n'
        f"Content-Type: application/json\r\n\r\n{json.dumps(payload, separators=(',', ':'))}\r\n".encode()
    ]
    for n, (name, text) in enumerate(files):
        safe = name.replace('"', "")
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files[{n}]"; filename="{safe}"\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        parts.append(head.encode() + text.encode("utf-8") + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _commands_path(application_id: str, guild_id: str | None) -> str:
    if guild_id:
        return f"/applications/{application_id}/guilds/{guild_id}/commands"
    return f"/applications/{application_id}/commands"


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    return value if isinstance(value, str) else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


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
        _header(headers, "Retry-After"),
        _header(headers, "X-RateLimit-Reset-After"),
    ):
        try:
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return 1.0


def _backoff(attempt: int) -> float:
    return random.random() * min(4.0, 0.25 * (2**attempt))
