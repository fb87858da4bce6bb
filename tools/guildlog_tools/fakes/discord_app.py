"""A fake of Discord's application and server routes on loopback, for `guildlog setup` and `guildlog doctor`.

It holds one application (id, public key, flags, interactions endpoint URL) with its private key,
its commands, and servers with roles, channels and the bot's membership, and answers:

    GET|PATCH /applications/@me                    PATCH verifies a new interactions_endpoint_url
    GET|PUT   /applications/{id}[/guilds/{g}]/commands
    GET       /users/@me/guilds
    GET       /guilds/{g}/members/{user}, /guilds/{g}/roles
    GET       /channels/{c}

Like Discord, a PATCH that sets `interactions_endpoint_url` first sends that URL a PING signed with
the application's key, and a request with a bad signature; the URL is refused (400, the error
Discord gives) unless the first gets PONG and the second 401. `hosts` maps a URL prefix to the
loopback server that stands in for it (a deployed API's hostname does not resolve in a test).
Only the limited privileged-intent flags may be changed by PATCH, as on Discord. Every request is
recorded without its token; a bad bot token gets 401.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog_tools.local.loopback import LoopbackServer

API = "/api/v10"
BOT_TOKEN = "fake-app-bot-token"  # noqa: S105 - the fake's own
# The flags PATCH /applications/@me may change (Discord: only the limited intents).
_PATCHABLE_FLAGS = (1 << 13) | (1 << 15) | (1 << 19)
_ids = itertools.count(1_410_000_000_000_000_000)


@dataclass
class Guild:
    """A server: its roles (the @everyone role's id is the guild's), channels, and members by user id."""

    id: str
    name: str = "a server"
    roles: list[dict[str, Any]] = field(default_factory=list)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorized: bool
    body: Any
    status: int


class FakeDiscordApp(LoopbackServer):
    """`with FakeDiscordApp() as discord:` … `discord.api_base`, `discord.application`, `discord.add_guild(…)`."""

    thread_name = "guildlog-fake-discord-app"
    allow_reuse_address = True

    def __init__(self, *, bot_token: str = BOT_TOKEN, application_id: str = "1310000000000000001") -> None:
        keys = generate_keypair()
        self.bot_token = bot_token
        self.signer = Signer(keys.private_key)
        self.bot_user_id = str(next(_ids))
        self.application: dict[str, Any] = {
            "id": application_id,
            "name": "guildlog-fake",
            "verify_key": keys.public_key,
            "flags": 0,
            "interactions_endpoint_url": None,
            "bot": {"id": self.bot_user_id, "username": "guildlog", "bot": True},
        }
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.guilds: dict[str, Guild] = {}
        self.hosts: dict[str, str] = {}
        self.requests: list[Seen] = []
        self.endpoint_checks: list[tuple[str, int, Any]] = []  # (url, status, body) of each check sent
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def api_base(self) -> str:
        return f"{self.url}{API}"

    def __enter__(self) -> FakeDiscordApp:
        self.serve_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_guild(self, guild_id: str, *, everyone: int = 0, bot_roles: dict[str, int] | None = None) -> Guild:
        """A server with the bot in it: @everyone's permissions and the bot's roles (id → permissions)."""
        roles = [{"id": guild_id, "name": "@everyone", "permissions": str(everyone)}]
        roles += [
            {"id": rid, "name": f"role {rid}", "permissions": str(bits)} for rid, bits in (bot_roles or {}).items()
        ]
        guild = Guild(guild_id, roles=roles)
        guild.members[self.bot_user_id] = {"user": self.application["bot"], "roles": list(bot_roles or {})}
        self.guilds[guild_id] = guild
        return guild

    # -- the API

    def answer(self, method: str, path: str, authorized: bool, body: Any) -> tuple[int, Any]:
        if not authorized:
            return 401, {"message": "401: Unauthorized", "code": 0}
        app_id = self.application["id"]
        if path == "/applications/@me":
            if method == "GET":
                return 200, copy.deepcopy(self.application)
            if method == "PATCH":
                return self._patch_application(body)
        found = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if found:
            application, guild = found.groups()
            if application != app_id:
                return 403, {"message": "Missing Access", "code": 50001}
            if method == "GET":
                return 200, copy.deepcopy(self.commands.get(guild, []))
            if method == "PUT" and isinstance(body, list):
                stored = [{"id": str(next(_ids)), "application_id": app_id, "version": "1", **c} for c in body]
                with self._lock:
                    self.commands[guild] = stored
                return 200, copy.deepcopy(stored)
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if method == "GET" and path == "/users/@me/guilds":
            return 200, [{"id": g.id, "name": g.name} for g in self.guilds.values()]
        found = re.fullmatch(r"/guilds/(\d+)/(members/(\d+)|roles)", path)
        if method == "GET" and found:
            guild = self.guilds.get(found.group(1))
            if guild is None:
                return 404, {"message": "Unknown Guild", "code": 10004}
            if found.group(2) == "roles":
                return 200, copy.deepcopy(guild.roles)
            member = guild.members.get(found.group(3))
            if member is None:
                return 404, {"message": "Unknown Member", "code": 10007}
            return 200, copy.deepcopy(member)
        found = re.fullmatch(r"/channels/(\d+)", path)
        if method == "GET" and found:
            for guild in self.guilds.values():
                if found.group(1) in guild.channels:
                    return 200, {"id": found.group(1), "guild_id": guild.id, **guild.channels[found.group(1)]}
            return 404, {"message": "Unknown Channel", "code": 10003}
        return 404, {"message": "404: Not Found", "code": 0}

    def _patch_application(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if "flags" in body:
            flags = body["flags"]
            if not isinstance(flags, int) or (flags ^ self.application["flags"]) & ~_PATCHABLE_FLAGS:
                return 400, _form_error("flags", "INVALID_FLAGS", "Only limited intent flags can be changed.")
        url = body.get("interactions_endpoint_url")
        if url and not self.endpoint_answers_like_discord_wants(url):
            return 400, _form_error(
                "interactions_endpoint_url",
                "APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID",
                "The specified interactions endpoint url could not be verified.",
            )
        with self._lock:
            self.application.update({k: v for k, v in body.items() if k in ("interactions_endpoint_url", "flags")})
        return 200, copy.deepcopy(self.application)

    def endpoint_answers_like_discord_wants(self, url: str) -> bool:
        """A signed PING must get PONG, and a badly signed one 401."""
        ping = json.dumps({"type": 1, "id": str(next(_ids)), "application_id": self.application["id"]}).encode()
        good = self._post(url, ping, self.signer.headers(ping))
        bad_headers = self.signer.headers(ping)
        bad_headers["X-Signature-Ed25519"] = "00" * 64
        bad = self._post(url, ping, bad_headers)
        return good[0] == 200 and isinstance(good[1], dict) and good[1].get("type") == 1 and bad[0] == 401

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        target = url
        for prefix, replacement in self.hosts.items():
            if target.startswith(prefix):
                target = replacement + target[len(prefix) :]
        if not target.startswith("http://127.0.0.1"):
            result: tuple[int, Any] = (0, "unreachable")
        else:
            request = urllib.request.Request(  # noqa: S310 - loopback only, checked above
                target, data=body, headers={**headers, "Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    result = (answer.status, _json(answer.read()))
            except urllib.error.HTTPError as exc:
                result = (exc.code, _json(exc.read()))
            except (urllib.error.URLError, OSError):
                result = (0, "unreachable")
        self.endpoint_checks.append((url, *result))
        return result


def _form_error(field_name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {field_name: {"_errors": [{"code": code, "message": message}]}},
    }


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    server: FakeDiscordApp
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = _json(self.rfile.read(length)) if length > 0 else None
        path = self.path.split("?", 1)[0]
        path = path[len(API) :] if path.startswith(API) else path
        authorized = self.headers.get("authorization") == f"Bot {self.server.bot_token}"
        status, answer = self.server.answer(self.command, path, authorized, body)
        self.server.requests.append(Seen(self.command, path, authorized, body, status))
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_PUT = do_PATCH = do_POST = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""
