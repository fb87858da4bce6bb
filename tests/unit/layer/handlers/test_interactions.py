"""guildlog.handlers.interactions: the bad-input table of the interactions webhook, and the PING path's imports.

Every row gets the stated answer, never a 5xx and never a traceback in the body.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from typing import Any

import pytest

from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.handlers.interactions import handle
from guildlog.services import keys
from guildlog.services.commands import protocol as p
from guildlog.services.commands.app import InteractionApp
from guildlog.services.commands.context import Ports
from guildlog.services.commands.cursor import HmacCursorCodec
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.paths import REPO

DISCORD = generate_keypair()
SIGNER = Signer(DISCORD.private_key)
OTHER_SIGNER = Signer(generate_keypair().private_key)


class NoInvoker:
    def __init__(self) -> None:
        self.jobs: list[Any] = []

    def invoke(self, job: Any) -> None:
        self.jobs.append(job)


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def app(table: MemoryTable, monkeypatch: pytest.MonkeyPatch) -> InteractionApp:
    monkeypatch.setenv("GUILDLOG_DISCORD_PUBLIC_KEY", DISCORD.public_key)
    ports = Ports(reader=table, config=table, cursors=HmacCursorCodec(b"k" * 32))
    return InteractionApp(ports, table, NoInvoker())


def send(app: InteractionApp, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = handle(event, lambda: app)
    assert answer["headers"]["content-type"] == "application/json"
    body = json.loads(answer["body"])
    assert "Traceback" not in answer["body"]
    return answer["statusCode"], body


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode("utf-8")


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def _signed(payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return fx.signed_event(payload, SIGNER, **kwargs)


def _changed_byte(payload: dict[str, Any]) -> dict[str, Any]:
    event = _signed(payload)
    event["body"] = event["body"].replace('"type": 2', '"type": 3', 1)
    return event


def _headers(payload: dict[str, Any], change: dict[str, str] | None = None, drop: str | None = None) -> dict[str, Any]:
    event = _signed(payload)
    headers = dict(event["headers"])
    if drop:
        headers = without(headers, drop)
    headers.update(change or {})
    event["headers"] = headers
    return event


COMMAND = fx.command("logs", "status")

UNAUTHORIZED = [
    pytest.param(lambda: _headers(COMMAND, drop="x-signature-ed25519"), id="missing-signature-header"),
    pytest.param(lambda: _headers(COMMAND, drop="x-signature-timestamp"), id="missing-timestamp-header"),
    pytest.param(lambda: _headers(COMMAND, {"x-signature-ed25519": "zz" * 64}), id="non-hex-signature"),
    pytest.param(lambda: _headers(COMMAND, {"x-signature-ed25519": "ab" * 63}), id="short-signature"),
    pytest.param(lambda: _headers(COMMAND, {"x-signature-ed25519": "ab" * 65}), id="long-signature"),
    pytest.param(lambda: fx.signed_event(COMMAND, OTHER_SIGNER), id="signed-by-another-key"),
    pytest.param(lambda: _changed_byte(COMMAND), id="body-changed-by-one-byte"),
    pytest.param(lambda: _signed(COMMAND, timestamp=int(time.time()) - 301), id="timestamp-301s-old"),
    pytest.param(lambda: _signed(COMMAND, timestamp=int(time.time()) + 301), id="timestamp-301s-ahead"),
    pytest.param(lambda: _headers(COMMAND, {"x-signature-timestamp": "yesterday"}), id="timestamp-not-a-number"),
    pytest.param(lambda: {**_signed(COMMAND), "isBase64Encoded": True, "body": "%%%"}, id="bad-base64"),
]


@pytest.mark.parametrize("make_event", UNAUTHORIZED)
def test_handler_answers_401_when_the_signature_does_not_verify(app: InteractionApp, make_event: Any) -> None:
    status, body = send(app, make_event())

    assert (status, body) == (401, {"error": "invalid request signature"})


def test_handler_verifies_after_decoding_when_api_gateway_sends_the_body_base64(app: InteractionApp) -> None:
    status, body = send(app, fx.signed_event(fx.ping(), SIGNER, base64_body=True))

    assert (status, body) == (200, {"type": p.PONG})


BAD_REQUESTS = [
    pytest.param(b"not json", "body is not JSON", id="signed-but-not-json"),
    pytest.param(b"\xff\xfe", "body is not JSON", id="signed-but-not-utf8"),
    pytest.param(b"[1, 2]", "body is not an interaction", id="signed-json-array"),
    pytest.param(b'{"type": 99}', "unknown interaction type", id="unknown-interaction-type"),
    pytest.param(b'{"type": "2"}', "unknown interaction type", id="type-as-text"),
    pytest.param(b'{"type": true}', "unknown interaction type", id="type-as-boolean"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, None, id="nested-too-deep"),
    pytest.param(body_of({"type": 2, "id": "x"}), "not a valid interaction", id="command-missing-fields"),
]


@pytest.mark.parametrize(("body", "error"), BAD_REQUESTS)
def test_handler_answers_400_when_a_signed_body_is_not_an_interaction(
    app: InteractionApp, body: bytes, error: str | None
) -> None:
    status, answer = send(app, fx.signed_event(body, SIGNER, base64_body=True))

    assert status == 400
    if error:
        assert answer["error"] == error


EPHEMERAL_ERRORS = [
    pytest.param(
        fx.command("cardsearch", options={"cardname": "x"}), "does not know this command", id="unknown-command"
    ),
    pytest.param(fx.command("logs", "message"), "`message` is required", id="missing-required-option"),
    pytest.param(fx.command("logs", "config", "retention"), "`days` is required", id="missing-days"),
    pytest.param(
        fx.command(
            "logs", "search", options={"channel": fx.OTHER_CHANNEL}, channel_guilds={fx.OTHER_CHANNEL: fx.OTHER_GUILD}
        ),
        "not in this server",
        id="channel-from-another-guild",
    ),
    pytest.param(
        fx.command("logs", "search", options={"user": fx.STRANGER}, not_members=[fx.STRANGER]),
        "not a member of this server",
        id="user-from-another-guild",
    ),
    pytest.param(
        fx.command("stats", options={"user": fx.STRANGER}, not_members=[fx.STRANGER]),
        "not a member of this server",
        id="stats-user-from-another-guild",
    ),
    pytest.param(
        fx.command(
            "logs", "message", options={"message": f"https://discord.com/channels/{fx.OTHER_GUILD}/1/{'1' * 18}"}
        ),
        "message id or a message link",
        id="malformed-link",
    ),
    pytest.param(
        fx.command(
            "logs",
            "message",
            options={"message": f"https://discord.com/channels/{fx.OTHER_GUILD}/{fx.CHANNEL}/{'1' * 18}"},
        ),
        "another server",
        id="message-link-to-another-guild",
    ),
    pytest.param(fx.click("s1.forged" + "A" * 40), "no longer works", id="forged-cursor"),
]


@pytest.mark.parametrize(("payload", "message"), EPHEMERAL_ERRORS)
def test_handler_answers_an_ephemeral_message_when_the_command_cannot_be_answered_as_asked(
    app: InteractionApp, payload: dict[str, Any], message: str
) -> None:
    status, answer = send(app, fx.signed_event(payload, SIGNER))

    assert status == 200
    assert answer["type"] in (p.CHANNEL_MESSAGE_WITH_SOURCE, p.UPDATE_MESSAGE)
    assert message in answer["data"]["content"]
    if answer["type"] == p.CHANNEL_MESSAGE_WITH_SOURCE:
        assert answer["data"]["flags"] == p.EPHEMERAL


def test_handler_writes_once_when_the_same_interaction_id_is_delivered_twice(
    app: InteractionApp, table: MemoryTable
) -> None:
    payload = fx.command("logs", "config", "ignore", options={"channel": fx.CHANNEL})
    event = fx.signed_event(payload, SIGNER)

    first, second = send(app, event), send(app, event)

    assert "archived only" in first[1]["data"]["content"]
    assert "already answered" in second[1]["data"]["content"]
    assert len(app.invoker.jobs) == 1  # type: ignore[attr-defined]
    assert table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]["ignored_channels"] == {fx.CHANNEL}


def test_handler_answers_pong_with_json_when_discord_pings(app: InteractionApp) -> None:
    answer = handle(fx.signed_event(fx.ping(), SIGNER), lambda: app)

    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"type": 1})
    assert answer["headers"]["content-type"] == "application/json"


def test_handler_refuses_everything_when_no_public_key_is_configured(
    app: InteractionApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GUILDLOG_DISCORD_PUBLIC_KEY")

    assert send(app, fx.signed_event(fx.ping(), SIGNER))[0] == 401


def test_ping_path_imports_neither_boto3_nor_pydantic_when_answering() -> None:
    code = f"""
import importlib.util, json, os, sys
os.environ["GUILDLOG_DISCORD_PUBLIC_KEY"] = {DISCORD.public_key!r}
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
spec = importlib.util.spec_from_file_location("app", "functions/interactions/app.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
event = json.loads(sys.stdin.read())
class Context:
    function_name = "f"; memory_limit_in_mb = 128; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
answer = module.lambda_handler(event, Context())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "pydantic", "pydantic_core")
               or m.startswith(("botocore.client", "guildlog.models", "aws_xray_sdk")))
print(json.dumps({{"answer": json.loads(answer["body"]), "heavy": heavy}}))
"""
    event = fx.signed_event(fx.ping(), SIGNER)
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(event), cwd=REPO, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {"answer": {"type": p.PONG}, "heavy": []}


def test_signed_event_fixture_carries_the_body_base64_when_asked() -> None:
    event = fx.signed_event(b"abc", SIGNER, base64_body=True)
    assert base64.b64decode(event["body"]) == b"abc"
