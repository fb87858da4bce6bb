"""A stand-in for Discord's REST API on loopback — local stack only, never used in AWS.

The local stack's functions get its URL as their Discord API base, so a deferred answer's edit of
`@original` (WorkerFunction) lands here instead of on discord.com, and `guildlog dev` / `guildlog
demo` can show it. It serves only the interaction webhook routes:

    PATCH|GET /api/v10/webhooks/{application_id}/{token}/messages/@original
    POST      /api/v10/webhooks/{application_id}/{token}

It also makes the local stack's bot token secret: a random dev value in moto's Secrets Manager (the
search cursors' key is derived from it), never a real token.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, TextIO

from guildlog_tools.local.loopback import LoopbackServer

API_PREFIX = "/api/v10"
_WEBHOOK = re.compile(r"^/api/v10/webhooks/(\d+)/([^/]+)(/messages/@original)?$")
DEV_BOT_TOKEN_SECRET_NAME = "guildlog-local-bot-token"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class Edit:
    """One message written through an interaction webhook: the token's interaction, and the body."""

    application_id: str
    token: str
    method: str
    body: dict[str, Any]


class FakeDiscordServer(LoopbackServer):
    """`serve_in_thread()`, `api_base`, `edits`, `wait_for_edits(n)`, `stop()`."""

    thread_name = "guildlog-fake-discord"
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_stream: TextIO | None = None) -> None:
        """`log_stream`: one line per message written (`guildlog dev` shows them), or nothing."""
        self.log_stream = log_stream
        self.edits: list[Edit] = []
        self.originals: dict[tuple[str, str], dict[str, Any]] = {}
        self._changed = threading.Condition()
        super().__init__((host, port), _Handler)

    @property
    def api_base(self) -> str:
        return f"{self.url}{API_PREFIX}"

    def record(self, edit: Edit) -> None:
        if self.log_stream is not None:
            first = str(edit.body.get("content") or "").splitlines()[:1]
            what = "edited @original" if edit.method == "PATCH" else "sent a follow-up"
            print(f"fake Discord: {what} of application {edit.application_id}: {first[0] if first else ''}",
                  file=self.log_stream, flush=True)  # fmt: skip
        with self._changed:
            self.edits.append(edit)
            if edit.method == "PATCH":
                self.originals[(edit.application_id, edit.token)] = edit.body
            self._changed.notify_all()

    def wait_for_edits(self, count: int, timeout: float = 30.0) -> list[Edit]:
        """The edits once there are at least `count` of them (or all there are after `timeout` s)."""
        ends = time.monotonic() + timeout
        with self._changed:
            while len(self.edits) < count:
                left = ends - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self.edits)


class _Handler(BaseHTTPRequestHandler):
    server: FakeDiscordServer
    protocol_version = "HTTP/1.1"

    def do_PATCH(self) -> None:
        self._handle()

    do_GET = do_POST = do_PATCH

    def _handle(self) -> None:
        found = _WEBHOOK.match(self.path.split("?", 1)[0])
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if found is None:
            self._json(404, {"message": "404: Not Found", "code": 0})
            return
        application_id, token, original = found.groups()
        key = (application_id, token)
        if self.command == "GET" and original:
            body = self.server.originals.get(key)
            self._json(200 if body is not None else 404, body or {"message": "Unknown Message", "code": 10008})
            return
        if (self.command == "PATCH" and original) or (self.command == "POST" and not original):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._json(400, {"message": "400: Bad Request", "code": 50109})
                return
            if not isinstance(body, dict):
                self._json(400, {"message": "Invalid Form Body", "code": 50035})
                return
            self.server.record(Edit(application_id, token, self.command, body))
            self._json(200, {"id": "0", "channel_id": "0", **body})
            return
        self._json(405, {"message": "405: Method Not Allowed", "code": 0})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


def create_dev_bot_token(secretsmanager: Any) -> str:
    """A random dev bot token in the local Secrets Manager; returns the secret's ARN."""
    value = "guildlog-dev-" + secrets.token_urlsafe(32)
    answer = secretsmanager.create_secret(Name=DEV_BOT_TOKEN_SECRET_NAME, SecretString=value)
    return str(answer["ARN"])
