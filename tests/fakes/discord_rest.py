"""A fake Discord REST API on 127.0.0.1 for the tests: command registration and interaction webhooks.

It keeps what a bulk overwrite sent (per application, globally or per guild) and answers the way
Discord does — ids, `version`, `application_id` and the defaults Discord adds (`nsfw`,
`default_member_permissions: null`, null localizations), `required` left out when false. It checks
the bot token on application routes (401 otherwise) and, for webhooks, that the interaction token
is one the test opened (404 Unknown Webhook otherwise). Answers can be scripted per route:
a 429 with `retry_after`, a 5xx, anything; every request is recorded, without its token.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API = "/api/v10"
BOT_TOKEN = "test-bot-token"  # noqa: S105 - the fake's own, for the tests
_ids = itertools.count(1_400_000_000_000_000_000)


@dataclass(frozen=True)
class Scripted:
    """An answer served instead of the real one, once, to the next request matching `route`."""

    route: str  # a regex matched against "METHOD /path" (path without /api/v10)
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # without /api/v10; webhook tokens as they were sent
    authorized: bool  # carried the right bot token
    body: Any
    status: int


class FakeDiscordRest(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, bot_token: str = BOT_TOKEN, application_id: str = "1300000000000000001") -> None:
        self.bot_token = bot_token
        self.application_id = application_id
        self.commands: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self.originals: dict[str, dict[str, Any]] = {}  # interaction token → current @original
        self.open_tokens: set[str] = set()
        self.requests: list[Seen] = []
        self._script: list[Scripted] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def api_base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{API}"

    def script(self, *answers: Scripted) -> None:
        with self._lock:
            self._script.extend(answers)

    def open_interaction(self, token: str) -> None:
        """Accept webhook calls for this interaction token (Discord: the interaction was answered type 5)."""
        with self._lock:
            self.open_tokens.add(token)

    def wait_for(self, method: str, count: int = 1, timeout: float = 120.0) -> list[Seen]:
        """The recorded requests of `method` once there are `count` of them (or what there is at `timeout`)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._of(method)) >= count, timeout=timeout)
            return self._of(method)

    def _of(self, method: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method]

    def __enter__(self) -> FakeDiscordRest:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.server_close()

    # -- the API

    def answer(self, method: str, path: str, authorized: bool, body: Any) -> tuple[int, Any, dict[str, str]]:
        key = f"{method} {path}"
        with self._lock:
            for n, scripted in enumerate(self._script):
                if re.fullmatch(scripted.route, key):
                    del self._script[n]
                    return scripted.status, scripted.body, scripted.headers
        if method == "GET" and path == "/applications/@me":
            if not authorized:
                return _unauthorized()
            return 200, {"id": self.application_id, "name": "guildlog-test", "bot_public": False}, {}
        found = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if found:
            if not authorized:
                return _unauthorized()
            application, guild = found.groups()
            if application != self.application_id:
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
        found = re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path)
        if found:
            application, token = found.groups()
            if application != self.application_id or token not in self.open_tokens:
                return 404, {"message": "Unknown Webhook", "code": 10015}, {}
            if method == "PATCH":
                with self._lock:
                    self.originals[token] = body
                return 200, {"id": "1", "content": body.get("content", "")}, {}
            if method == "GET":
                return 200, self.originals.get(token, {}), {}
        return 404, {"message": "404: Not Found", "code": 0}, {}

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


def _stored_option(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in option.items() if not (k == "required" and v is False)}
    out.setdefault("name_localizations", None)
    if out.get("options"):
        out["options"] = [_stored_option(o) for o in out["options"]]
    return out


def _unauthorized() -> tuple[int, Any, dict[str, str]]:
    return 401, {"message": "401: Unauthorized", "code": 0}, {}


class _Handler(BaseHTTPRequestHandler):
    server: FakeDiscordRest
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_PATCH = do_POST = do_DELETE = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        path = path[len(API) :] if path.startswith(API) else path
        authorized = self.headers.get("authorization") == f"Bot {self.server.bot_token}"
        status, answer, headers = self.server.answer(self.command, path, authorized, body)
        with self.server._changed:
            self.server.requests.append(Seen(self.command, path, authorized, body, status))
            self.server._changed.notify_all()
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


@contextmanager
def fake_discord(**kwargs: Any) -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest(**kwargs) as server:
        yield server
