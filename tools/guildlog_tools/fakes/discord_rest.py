"""A fake Discord REST API on loopback: the local stack's Discord and the tests' — never used in AWS.

It serves what guildlog calls, the way Discord answers:

- command registration (`/applications/@me`, bulk overwrite and read of global or guild commands),
  with the defaults Discord adds to a stored command;
- interaction webhooks (`PATCH|GET /webhooks/{app}/{token}/messages/@original`, `POST` follow-ups);
- log posts: `POST /channels/{id}/messages` (with `nonce` + `enforce_nonce`: the same nonce in a
  channel returns the first message instead of a second one), `POST|GET /channels/{id}/webhooks`
  and `POST /webhooks/{id}/{token}` (a channel webhook created here);
- `GET /guilds/{id}/invites` (what `invites` holds for the guild);
- history, for backfill and gap repair (`history`, a `FakeHistory`): `GET /users/@me/guilds`,
  `GET /guilds/{id}/channels`, `GET /guilds/{id}/threads/active`, `GET /channels/{id}/threads/archived/
  public|private` (paged by `before`, with `has_more`) and `GET /channels/{id}/messages` (`after`,
  `before`, `limit` 1-100, newest first as Discord answers); `deny_read(channel)` answers 403 Missing
  Access (50001) there, `deny_private_threads(channel)` 403 for its private archived threads.
- Discord's CDN under `/cdn` (`cdn_base`): the files `add_file` put there (attachment copies), a 404
  for any other path; `script()` with a route like `GET /cdn/attachments/.*` makes it fail (404, 5xx).
- `GET /guilds/{id}/members/{user}` (what `set_member` arranged; 404 Unknown Member otherwise).
- avatars: `GET /avatars/{user}/{hash}.png` and `/embed/avatars/{n}.png` (a 1x1 PNG), as Discord's CDN.
- `POST /users/@me/channels` (a DM channel per recipient, `dm_channels`), where erasure receipts are sent.

Discord's limits are enforced: per-route buckets per major parameter (`limits`: route → requests
per window), the global limit per second, each answered with the `X-RateLimit-*` headers Discord
sends and a 429 (`retry_after`, `X-RateLimit-Scope`) when exceeded. Faults come on demand:
`script()` serves a given answer (429 route, global or shared; 403; 404; 5xx; a slow answer that
times the client out) to the next matching requests; `forbid(channel)` and `delete_channel(channel)`
make a channel answer 403 or 404 from then on. Every request is recorded (`requests`), without its
tokens, and every message posted is kept (`messages`, `wait_for_messages`, `wait_for_embeds`).

`bot_token=None` accepts any `Bot …` authorization (the local stack's token is a random dev value);
`strict_interactions=False` accepts any interaction token (the local stack does not know them).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TextIO

from guildlog.adapters.discord_rest import route_key
from guildlog_tools.fakes.discord_oauth import FakeDiscordOAuth
from guildlog_tools.local.loopback import LoopbackServer

API = "/api/v10"
CDN = "/cdn"
API_PREFIX = API
BOT_TOKEN = "test-bot-token"  # noqa: S105 - the fake's own, for the tests
GLOBAL_LIMIT = 50
# Route (as guildlog.adapters.discord_rest.route_key shapes it) → (requests, window seconds) per major parameter.
# Discord's own numbers are not published and change; these are the ones bots observe.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channels}/messages": (5, 5.0),
    "POST /webhooks/{webhooks}/{token}": (5, 2.0),
    "POST /channels/{channels}/webhooks": (5, 5.0),
}
DEFAULT_ROUTE_LIMIT = (50, 1.0)
_ids = itertools.count(1_400_000_000_000_000_000)
_NONCE_WINDOW_S = 300.0  # Discord checks a nonce's uniqueness over "the past few minutes"


@dataclass(frozen=True)
class Scripted:
    """An answer served instead of the real one to the next `times` requests matching `route`.

    `route` is a regex matched against "METHOD /path" (path without /api/v10, query dropped).
    `delay` seconds pass before the answer (longer than the client's timeout: a timeout).
    """

    route: str
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1


def rate_limited(route: str, scope: str = "user", retry_after: float = 0.05, times: int = 1) -> Scripted:
    """A 429 as Discord sends it for `scope` (user: the route's bucket; global; shared: the resource)."""
    headers = {"X-RateLimit-Scope": scope, "Retry-After": str(max(1, round(retry_after)))}
    if scope == "global":
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": scope == "global"}
    return Scripted(route, 429, body, headers, times=times)


@dataclass(frozen=True)
class Seen:
    """One request: method, path (without /api/v10; tokens as sent), bot-authorised, body, our status."""

    method: str
    path: str
    authorized: bool
    body: Any
    status: int
    query: str = ""


@dataclass(frozen=True)
class Edit:
    """One message written through an interaction webhook: the token's interaction, and the body."""

    application_id: str
    token: str
    method: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Posted:
    """One message that appeared in a channel: by the bot or through a webhook."""

    id: str
    channel_id: str
    via: str  # "bot" | "webhook"
    body: dict[str, Any]


class _Window:
    """A fixed window per (route, major): `limit` requests, then 429 until it resets."""

    def __init__(self, limit: int, window: float, now: float) -> None:
        self.limit, self.window = limit, window
        self.started, self.used = now, 0

    def take(self, now: float) -> tuple[bool, float]:
        if now - self.started >= self.window:
            self.started, self.used = now, 0
        reset_after = max(0.0, self.started + self.window - now)
        if self.used >= self.limit:
            return False, reset_after
        self.used += 1
        return True, reset_after


class FakeDiscordRest(LoopbackServer):
    """Use as a context manager (or `serve_in_thread()` / `stop()`); `api_base` for the client."""

    thread_name = "guildlog-fake-discord"
    allow_reuse_address = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str | None = BOT_TOKEN,
        application_id: str | None = "1300000000000000001",
        strict_interactions: bool = True,
        limits: Mapping[str, tuple[int, float]] | None = None,
        global_limit: int = GLOBAL_LIMIT,
        log_stream: TextIO | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.application_id = application_id
        self.strict_interactions = strict_interactions
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.global_limit = global_limit
        self.log_stream = log_stream
        self.commands: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self.originals: dict[str, dict[str, Any]] = {}  # interaction token → current @original
        self.open_tokens: set[str] = set()
        self.requests: list[Seen] = []
        self.edits: list[Edit] = []
        self.messages: list[Posted] = []
        self.webhooks: dict[str, dict[str, Any]] = {}  # webhook id → {id, token, channel_id, name}
        self.invites: dict[str, list[dict[str, Any]]] = {}  # guild id → its invites
        self.members: dict[tuple[str, str], dict[str, Any]] = {}  # (guild id, user id) → the member
        self.forbidden: set[str] = set()
        self.deleted: set[str] = set()
        self.history = FakeHistory()
        self.dm_channels: dict[str, str] = {}  # user id → their DM channel with the bot (erasure receipts)
        self._nonces: dict[tuple[str, str], tuple[float, Posted]] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global: deque[float] = deque()
        self._script: list[list[Any]] = []  # [Scripted, times left]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # The web viewer's sign-in (fakes/discord_oauth.py): /oauth2/authorize, /oauth2/token, /users/@me…
        self.oauth = FakeDiscordOAuth()
        # The CDN's files: path under cdn_base (e.g. /attachments/<channel>/<id>/cat.png) → (bytes, content type).
        self.files: dict[str, tuple[bytes, str]] = {}
        super().__init__((host, port), _Handler)

    @property
    def cdn_base(self) -> str:
        return f"{self.url}{CDN}"

    def add_file(self, path: str, body: bytes, content_type: str) -> str:
        """Serve `body` at `cdn_base + path`; the file's CDN URL."""
        with self._lock:
            self.files[path] = (body, content_type)
        return self.cdn_base + path

    def cdn(self, path: str) -> tuple[int, bytes, str]:
        """A CDN GET (path after /cdn): the file, a scripted failure, or 404. Recorded like API calls."""
        scripted = self._scripted(f"GET {CDN}{path}")
        if scripted is not None:
            status, data, kind = scripted.status, json.dumps(scripted.body).encode(), "application/json"
        else:
            with self._lock:
                found = self.files.get(path)
            status, data, kind = (200, *found) if found else (404, b"Not Found", "text/plain")
        with self._changed:
            self.requests.append(Seen("GET", f"{CDN}{path}", False, None, status))
            self._changed.notify_all()
        return status, data, kind

    @property
    def api_base(self) -> str:
        return f"{self.url}{API}"

    def __enter__(self) -> FakeDiscordRest:
        self.serve_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a test arranges

    def script(self, *answers: Scripted) -> None:
        with self._lock:
            self._script.extend([answer, answer.times] for answer in answers)

    def open_interaction(self, token: str) -> None:
        """Accept webhook calls for this interaction token (Discord: the interaction was answered type 5)."""
        with self._lock:
            self.open_tokens.add(token)

    def forbid(self, channel_id: str) -> None:
        """From now on the bot may not post in `channel_id` (403 Missing Permissions), nor its webhooks."""
        with self._lock:
            self.forbidden.add(channel_id)

    def delete_channel(self, channel_id: str) -> None:
        """From now on `channel_id` is gone (404 Unknown Channel), and so are its webhooks."""
        with self._lock:
            self.deleted.add(channel_id)

    def set_member(self, guild_id: str, user_id: str, roles: list[str]) -> None:
        """`GET /guilds/{guild_id}/members/{user_id}` answers this member with these roles from now on."""
        with self._lock:
            self.members[(guild_id, user_id)] = {"user": {"id": user_id}, "roles": list(roles), "nick": None}

    def remove_member(self, guild_id: str, user_id: str) -> None:
        """The member left: their look-up answers 404 Unknown Member from now on."""
        with self._lock:
            self.members.pop((guild_id, user_id), None)

    # -- what a test reads

    def wait_for(self, method: str, count: int = 1, timeout: float = 120.0) -> list[Seen]:
        """The recorded requests of `method` once there are `count` of them (or what there is at `timeout`)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._of(method)) >= count, timeout=timeout)
            return self._of(method)

    def wait_for_edits(self, count: int, timeout: float = 120.0) -> list[Edit]:
        """The interaction edits once there are at least `count` of them (or all there are after `timeout` s)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.edits) >= count, timeout=timeout)
            return list(self.edits)

    def wait_for_messages(self, count: int, timeout: float = 30.0) -> list[Posted]:
        """The channel messages once there are at least `count` of them (or all there are after `timeout` s)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def wait_for_embeds(self, count: int, timeout: float = 30.0) -> list[Posted]:
        """The channel messages once they carry at least `count` embeds in all, however they were
        grouped into messages (or all there are after `timeout` s)."""
        with self._changed:
            self._changed.wait_for(lambda: _embeds(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def statuses(self) -> list[int]:
        with self._lock:
            return [r.status for r in self.requests]

    def _of(self, method: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method]

    # -- the API

    def handle(
        self, method: str, path: str, authorization: str | None, body: Any, query: str = ""
    ) -> tuple[int, Any, dict[str, str]]:
        key = f"{method} {path}"
        authorized = self._authorized(authorization)
        scripted = self._scripted(key)
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            status, answer, headers = scripted.status, scripted.body, dict(scripted.headers)
        else:
            status, answer, headers = self._limited(method, path)
            if status == 0:
                read = self.history.answer(method, path, query, authorized)
                status, answer, extra = read if read is not None else self.answer(method, path, authorized, body)
                headers.update(extra)
        with self._changed:
            self.requests.append(Seen(method, path, authorized, body, status, query))
            self._changed.notify_all()
        return status, answer, headers

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bot "):
            return False
        return self.bot_token is None or authorization == f"Bot {self.bot_token}"

    def _scripted(self, key: str) -> Scripted | None:
        with self._lock:
            for entry in self._script:
                if re.fullmatch(entry[0].route, key):
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._script.remove(entry)
                    return entry[0]  # type: ignore[no-any-return]
        return None

    def _limited(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        """(0, None, headers) when the request may go on; a 429 when a bucket or the global limit is spent."""
        route, major = route_key(method, path)
        interaction = route.startswith(("PATCH /webhooks", "GET /webhooks")) or (
            route == "POST /webhooks/{webhooks}/{token}" and major.split("/", 1)[0] not in self.webhooks
        )
        now = time.monotonic()
        with self._lock:
            if not interaction:
                while self._global and self._global[0] <= now - 1.0:
                    self._global.popleft()
                if len(self._global) >= self.global_limit:
                    retry = self._global[0] + 1.0 - now
                    body = {"message": "You are being rate limited.", "retry_after": round(retry, 3), "global": True}
                    return 429, body, {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global",
                                       "Retry-After": str(max(1, round(retry)))}  # fmt: skip
                self._global.append(now)
            limit, window = self.limits.get(route, DEFAULT_ROUTE_LIMIT)
            bucket = self._windows.get((route, major))
            if bucket is None:
                bucket = self._windows[(route, major)] = _Window(limit, window, now)
            allowed, reset_after = bucket.take(now)
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Bucket": f"b{abs(hash(route)) % 10**8:08d}",
            }
            if allowed:
                return 0, None, headers
            headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(reset_after)))})
            body = {"message": "You are being rate limited.", "retry_after": round(reset_after, 3), "global": False}
            return 429, body, headers

    def answer(self, method: str, path: str, authorized: bool, body: Any) -> tuple[int, Any, dict[str, str]]:
        if method == "GET" and path == "/applications/@me":
            if not authorized:
                return _unauthorized()
            return 200, {"id": self.application_id or "0", "name": "guildlog-fake", "bot_public": False}, {}
        found = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if found:
            return self._commands(method, found.group(1), found.group(2), authorized, body)
        if method == "POST" and path == "/users/@me/channels":
            return self._open_dm(authorized, body)
        found = re.fullmatch(r"/channels/(\d+)/(messages|webhooks)", path)
        if found:
            return self._channel(method, found.group(1), found.group(2), authorized, body)
        found = re.fullmatch(r"/guilds/(\d+)/invites", path)
        if found and method == "GET":
            if not authorized:
                return _unauthorized()
            return 200, copy.deepcopy(self.invites.get(found.group(1), [])), {}
        found = re.fullmatch(r"/guilds/(\d+)/members/(\d+)", path)
        if found and method == "GET":
            if not authorized:
                return _unauthorized()
            member = self.members.get((found.group(1), found.group(2)))
            if member is None:
                return 404, {"message": "Unknown Member", "code": 10007}, {}
            return 200, copy.deepcopy(member), {}
        found = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(/messages/@original)?", path)
        if found:
            webhook_id, token, original = found.groups()
            if webhook_id in self.webhooks and not original:
                return self._execute(method, webhook_id, token, body)
            return self._interaction(method, webhook_id, token, bool(original), body)
        return 404, {"message": "404: Not Found", "code": 0}, {}

    def _commands(
        self, method: str, application: str, guild: str | None, authorized: bool, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not authorized:
            return _unauthorized()
        if self.application_id is not None and application != self.application_id:
            return 403, {"message": "Missing Access", "code": 50001}, {}
        if method == "GET":
            return 200, copy.deepcopy(self.commands.get((application, guild), [])), {}
        if method == "PUT":
            if not isinstance(body, list):
                return 400, {"message": "Invalid Form Body", "code": 50035}, {}
            stored = [self._stored(c, application, guild) for c in body]
            with self._lock:
                self.commands[(application, guild)] = stored
            return 200, copy.deepcopy(stored), {}
        return 405, {"message": "405: Method Not Allowed", "code": 0}, {}

    def _open_dm(self, authorized: bool, body: Any) -> tuple[int, Any, dict[str, str]]:
        """`POST /users/@me/channels`: the bot's DM channel with `recipient_id` (the same one every time)."""
        if not authorized:
            return _unauthorized()
        recipient = body.get("recipient_id") if isinstance(body, dict) else None
        if not isinstance(recipient, str) or not recipient.isdigit():
            return 400, {"message": "Invalid Form Body", "code": 50035}, {}
        with self._lock:
            channel = self.dm_channels.setdefault(recipient, str(next(_ids)))
        return 200, {"id": channel, "type": 1, "recipients": [{"id": recipient}]}, {}

    def _gone(self, channel_id: str) -> tuple[int, Any, dict[str, str]] | None:
        if channel_id in self.deleted:
            return 404, {"message": "Unknown Channel", "code": 10003}, {}
        if channel_id in self.forbidden:
            return 403, {"message": "Missing Permissions", "code": 50013}, {}
        return None

    def _channel(
        self, method: str, channel_id: str, what: str, authorized: bool, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not authorized:
            return _unauthorized()
        gone = self._gone(channel_id)
        if gone is not None:
            return gone
        if what == "webhooks":
            if method == "GET":
                return 200, [w for w in self.webhooks.values() if w["channel_id"] == channel_id], {}
            if method != "POST" or not isinstance(body, dict) or not isinstance(body.get("name"), str):
                return 400, {"message": "Invalid Form Body", "code": 50035}, {}
            webhook_id = str(next(_ids))
            hook = {"id": webhook_id, "type": 1, "token": f"whtoken-{webhook_id}", "channel_id": channel_id,
                    "name": body["name"]}  # fmt: skip
            with self._lock:
                self.webhooks[webhook_id] = hook
            return 200, dict(hook), {}
        if method != "POST":
            return 405, {"message": "405: Method Not Allowed", "code": 0}, {}
        problem = _message_problem(body)
        if problem:
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problem}, {}
        nonce = body.get("nonce")
        now = time.monotonic()
        with self._changed:
            if nonce is not None and body.get("enforce_nonce"):
                seen = self._nonces.get((channel_id, str(nonce)))
                if seen is not None and now - seen[0] < _NONCE_WINDOW_S:
                    return 200, _message_answer(seen[1]), {}
            posted = Posted(str(next(_ids)), channel_id, "bot", copy.deepcopy(body))
            if nonce is not None:
                self._nonces[(channel_id, str(nonce))] = (now, posted)
            self.messages.append(posted)
            self._changed.notify_all()
        self._log(posted)
        return 200, _message_answer(posted), {}

    def _execute(self, method: str, webhook_id: str, token: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        hook = self.webhooks[webhook_id]
        if token != hook["token"]:
            return 401, {"message": "Invalid Webhook Token", "code": 50027}, {}
        if hook["channel_id"] in self.deleted or hook["channel_id"] in self.forbidden:
            return 404, {"message": "Unknown Webhook", "code": 10015}, {}
        if method != "POST":
            return 405, {"message": "405: Method Not Allowed", "code": 0}, {}
        problem = _message_problem(body)
        if problem:
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problem}, {}
        posted = Posted(str(next(_ids)), hook["channel_id"], "webhook", copy.deepcopy(body))
        with self._changed:
            self.messages.append(posted)
            self._changed.notify_all()
        self._log(posted)
        return 200, _message_answer(posted), {}

    def _interaction(
        self, method: str, application: str, token: str, original: bool, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        known = self.application_id is None or application == self.application_id
        if not known or (self.strict_interactions and token not in self.open_tokens):
            return 404, {"message": "Unknown Webhook", "code": 10015}, {}
        if method == "GET" and original:
            found = self.originals.get(token)
            if found is None:
                return 404, {"message": "Unknown Message", "code": 10008}, {}
            return 200, found, {}
        if (method == "PATCH" and original) or (method == "POST" and not original):
            if not isinstance(body, dict):
                return 400, {"message": "Invalid Form Body", "code": 50035}, {}
            edit = Edit(application, token, method, body)
            with self._changed:
                self.edits.append(edit)
                if method == "PATCH":
                    self.originals[token] = body
                self._changed.notify_all()
            if self.log_stream is not None:
                first = str(body.get("content") or "").splitlines()[:1]
                what = "edited @original" if method == "PATCH" else "sent a follow-up"
                print(f"fake Discord: {what} of application {application}: {first[0] if first else ''}",
                      file=self.log_stream, flush=True)  # fmt: skip
            return 200, {"id": "1", "channel_id": "0", **body}, {}
        return 405, {"message": "405: Method Not Allowed", "code": 0}, {}

    def _log(self, posted: Posted) -> None:
        if self.log_stream is None:
            return
        embeds = posted.body.get("embeds") or []
        titles = ", ".join(str(e.get("title") or "") for e in embeds if isinstance(e, dict))
        print(f"fake Discord: {posted.via} post in channel {posted.channel_id}: {len(embeds)} embed(s) {titles}",
              file=self.log_stream, flush=True)  # fmt: skip

    def _stored(self, command: dict[str, Any], application: str, guild: str | None) -> dict[str, Any]:
        existing = {c["name"]: c for c in self.commands.get((application, guild), [])}
        previous = existing.get(command.get("name"))
        stored = {
            "id": previous["id"] if previous else str(next(_ids)),
            "application_id": application,
            "version": str(next(_ids)),
            "type": 1,
            "default_member_permissions": None,
            "nsfw": False,
            "name_localizations": None,
            "description_localizations": None,
            **copy.deepcopy(command),
        }
        if guild:
            stored["guild_id"] = guild
        stored["options"] = [_stored_option(o) for o in stored.get("options") or []]
        if not stored["options"]:
            del stored["options"]
        return stored


class FakeHistory:
    """What the bot can read of its guilds' past: channels, threads and their messages (thread-safe).

    `add_guild`, `add_channel` (a thread is a channel with a `parent_id`, type 11 public or 12 private)
    and `add_messages` arrange it; the answers page as Discord's do.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}  # channel or thread id → its object
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id → messages, by id ascending
        self.unreadable: set[str] = set()
        self.private_threads_denied: set[str] = set()

    def add_guild(self, guild_id: str, name: str = "fake guild") -> None:
        with self._lock:
            self.guilds[guild_id] = {"id": guild_id, "name": name, "permissions": "0"}

    def add_channel(
        self,
        guild_id: str,
        channel_id: str,
        *,
        type: int = 0,
        parent_id: str | None = None,
        archived: bool = False,
        archive_timestamp: str | None = None,
    ) -> None:
        """A channel (or, with `parent_id` and type 11 or 12, a thread) of `guild_id`."""
        channel: dict[str, Any] = {"id": channel_id, "guild_id": guild_id, "type": type, "name": f"c-{channel_id}"}
        if parent_id is not None:
            channel["parent_id"] = parent_id
            channel["thread_metadata"] = {"archived": archived, "archive_timestamp": archive_timestamp or ""}
        with self._lock:
            self.guilds.setdefault(guild_id, {"id": guild_id, "name": "fake guild", "permissions": "0"})
            self.channels[channel_id] = channel

    def add_messages(self, channel_id: str, messages: list[dict[str, Any]]) -> None:
        """Messages of `channel_id` (Discord's message objects; no `guild_id`, as REST sends them)."""
        with self._lock:
            held = self.messages.setdefault(channel_id, [])
            held.extend(copy.deepcopy(messages))
            held.sort(key=lambda m: int(m["id"]))
            if held and channel_id in self.channels:
                self.channels[channel_id]["last_message_id"] = held[-1]["id"]

    def deny_read(self, channel_id: str) -> None:
        """The bot may not read `channel_id` from now on (403 Missing Access, code 50001)."""
        with self._lock:
            self.unreadable.add(channel_id)

    def deny_private_threads(self, channel_id: str) -> None:
        """The bot lacks Manage Threads in `channel_id`: its private archived threads answer 403."""
        with self._lock:
            self.private_threads_denied.add(channel_id)

    def answer(self, method: str, path: str, query: str, authorized: bool) -> tuple[int, Any, dict[str, str]] | None:
        """The answer to a history read, or None for any other request."""
        if method != "GET":
            return None
        from urllib.parse import parse_qs

        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if path == "/users/@me/guilds":
            if not authorized:
                return _unauthorized()
            with self._lock:
                return 200, [dict(g) for g in self.guilds.values()], {}
        found = re.fullmatch(r"/guilds/(\d+)/(channels|threads/active)", path)
        if found:
            if not authorized:
                return _unauthorized()
            return self._listing(found.group(1), found.group(2) == "channels")
        found = re.fullmatch(r"/channels/(\d+)/(messages|threads/archived/public|threads/archived/private)", path)
        if not found or (found.group(2) == "messages" and found.group(1) not in self.channels):
            return None  # a channel this history does not hold: the log-post fake answers
        if not authorized:
            return _unauthorized()
        channel_id, what = found.groups()
        with self._lock:
            if channel_id not in self.channels:
                return 404, {"message": "Unknown Channel", "code": 10003}, {}
            if channel_id in self.unreadable:
                return 403, {"message": "Missing Access", "code": 50001}, {}
            if what == "messages":
                return self._page(channel_id, params)
            if what.endswith("private") and channel_id in self.private_threads_denied:
                return 403, {"message": "Missing Permissions", "code": 50013}, {}
            return self._archived(channel_id, what.endswith("private"), params)

    def _listing(self, guild_id: str, channels: bool) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if guild_id not in self.guilds:
                return 404, {"message": "Unknown Guild", "code": 10004}, {}
            mine = [c for c in self.channels.values() if c["guild_id"] == guild_id]
            if channels:
                return 200, [copy.deepcopy(c) for c in mine if c["type"] not in _THREAD_TYPES], {}
            active = [c for c in mine if c["type"] in _THREAD_TYPES and not c["thread_metadata"]["archived"]]
            return 200, {"threads": copy.deepcopy(active), "members": []}, {}

    def _page(self, channel_id: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            limit = int(params.get("limit", "50"))
            after = int(params["after"]) if "after" in params else None
            before = int(params["before"]) if "before" in params else None
        except ValueError:
            return 400, {"message": "Invalid Form Body", "code": 50035}, {}
        if not 1 <= limit <= 100:
            return 400, {"message": "Invalid Form Body", "code": 50035}, {}
        held = [m for m in self.messages.get(channel_id, []) if before is None or int(m["id"]) < before]
        chosen = [m for m in held if int(m["id"]) > after][:limit] if after is not None else held[-limit:]
        return 200, copy.deepcopy(chosen[::-1]), {}

    def _archived(self, channel_id: str, private: bool, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else 50
        before = params.get("before")
        kind = 12 if private else 11
        threads = [
            c
            for c in self.channels.values()
            if c.get("parent_id") == channel_id and c["type"] == kind and c["thread_metadata"]["archived"]
        ]
        threads.sort(key=lambda c: str(c["thread_metadata"]["archive_timestamp"]), reverse=True)
        if before:
            threads = [c for c in threads if str(c["thread_metadata"]["archive_timestamp"]) < before]
        return 200, {"threads": copy.deepcopy(threads[:limit]), "members": [], "has_more": len(threads) > limit}, {}


# Discord's thread channel types: announcement thread, public thread, private thread.
_THREAD_TYPES = (10, 11, 12)


# Discord's message limits: what a post may hold before Discord answers 400.
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_CONTENT = 2000


def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts toward an embed's 6,000: title, description, fields, footer, author."""
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def _message_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body is not an object"
    embeds = body.get("embeds") or []
    if len(str(body.get("content") or "")) > MAX_CONTENT:
        return "content is longer than 2000"
    if not isinstance(embeds, list) or len(embeds) > MAX_EMBEDS:
        return "more than 10 embeds"
    if sum(embed_length(e) for e in embeds if isinstance(e, dict)) > MAX_EMBED_TOTAL:
        return "embeds are longer than 6000 in total"
    if not body.get("content") and not embeds and not body.get("attachments"):
        return "empty message"
    return None


def _embeds(messages: list[Posted]) -> int:
    return sum(len(m.body.get("embeds") or []) for m in messages)


def _message_answer(posted: Posted) -> dict[str, Any]:
    return {"id": posted.id, "channel_id": posted.channel_id, **posted.body}


def _stored_option(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in option.items() if not (k == "required" and v is False)}
    out.setdefault("name_localizations", None)
    if out.get("options"):
        out["options"] = [_stored_option(o) for o in out["options"]]
    return out


def _unauthorized() -> tuple[int, Any, dict[str, str]]:
    return 401, {"message": "401: Unauthorized", "code": 0}, {}


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    """A multipart message as Discord reads it: `payload_json`, with each file's text under `files` by name."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    body: dict[str, Any] = {}
    files: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        elif isinstance(name, str) and name.startswith("files["):
            files[str(part.get_filename())] = data.decode("utf-8")
    if files:
        body["files"] = files
    return body


# Discord's CDN paths of avatars (the web viewer's pictures), answered with one 1x1 PNG.
AVATAR_PATH = re.compile(r"/(avatars/\d+/(a_)?[0-9a-f]{32}|embed/avatars/[0-5])\.png(\?size=\d+)?")
AVATAR_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class _Handler(BaseHTTPRequestHandler):
    server: FakeDiscordRest
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_PATCH = do_POST = do_DELETE = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self.command == "GET" and AVATAR_PATH.fullmatch(self.path):
            self._send_oauth(200, {"content-type": "image/png", "content-length": str(len(AVATAR_PNG))}, AVATAR_PNG)
            return
        # A bot's own calls (`GET /users/@me/guilds` as the bot) are the REST fake's; a person's are OAuth's.
        as_bot = (self.headers.get("authorization") or "").startswith("Bot ")
        oauth = None if as_bot else self.server.oauth.handle(self.command, self.path, self.headers, raw)
        if oauth is not None:
            self._send_oauth(*oauth)
            return
        kind = self.headers.get("content-type") or ""
        try:
            body = _multipart(raw, kind) if kind.startswith("multipart/form-data") else json.loads(raw) if raw else None
        except ValueError:
            body = None
        path, _, query = self.path.partition("?")
        if self.command == "GET" and path.startswith(CDN + "/"):
            self._send_file(*self.server.cdn(path[len(CDN) :]))
            return
        path = path[len(API) :] if path.startswith(API) else path
        authorization = self.headers.get("authorization")
        status, answer, headers = self.server.handle(self.command, path, authorization, body, query)
        data = json.dumps(answer).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out first (a scripted slow answer)

    def _send_file(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_oauth(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""
