"""`guildlog setup` against moto (the rehearsal's transformed template, created by CloudFormation) and a fake
Discord that checks the interactions endpoint with a signed PING, as Discord does on PATCH.

Moto cannot create the HTTP API, so its URL outputs stay `https://${HttpApi}.execute-api…` (the relay's
endpoint is IngestFunction's function URL, which the rehearsal creates); the fake
Discord resolves that prefix to a loopback stand-in (as DNS would), which runs the real interactions
handler with the public key CloudFormation gave the deployed InteractionsFunction.
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from guildlog.services.commands.definitions import registration_payload
from guildlog_tools import discord_permissions as perms
from guildlog_tools.cli import main
from guildlog_tools.fakes.discord_app import BOT_TOKEN, FakeDiscordApp
from guildlog_tools.local.loopback import LoopbackServer
from tests.integration import rehearsal

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")]

STACK = "guildlog-setup"
UNRESOLVED_API = "https://${HttpApi}.execute-api.us-east-1.amazonaws.com"


class DeployedInteractions(LoopbackServer):
    """POST /interactions answered by the interactions handler under the deployed function's public key."""

    thread_name = "guildlog-test-deployed-interactions"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Interactions)

    def public_key(self) -> str:
        import boto3

        resources = boto3.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        name = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "InteractionsFunction")
        config = boto3.client("lambda").get_function_configuration(FunctionName=name)
        return str(config["Environment"]["Variables"]["GUILDLOG_DISCORD_PUBLIC_KEY"])


class _Interactions(BaseHTTPRequestHandler):
    server: DeployedInteractions

    def do_POST(self) -> None:
        from guildlog.handlers.interactions import handle
        from guildlog_tools.local.apigw import environment

        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        event = {
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
        with environment({"GUILDLOG_DISCORD_PUBLIC_KEY": self.server.public_key()}):
            answer = handle(event)
        data = answer["body"].encode()
        self.send_response(answer["statusCode"])
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DISCORD_TOKEN": BOT_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("GUILDLOG_DISCORD_API_BASE", raising=False)
    with mock_aws(), FakeDiscordApp() as discord:
        template = tmp_path / "built.json"
        template.write_text(json.dumps(rehearsal.built_template(boto3.client("s3"))), encoding="utf-8")
        endpoint = DeployedInteractions()
        endpoint.serve_in_thread()
        discord.hosts[UNRESOLVED_API] = endpoint.url
        try:
            yield {"discord": discord, "template": template, "tmp": tmp_path}
        finally:
            endpoint.stop()


def setup(world: dict[str, Any], *extra: str) -> int:
    return main(
        [
            "setup",
            "--stack", STACK,
            "--region", "us-east-1",
            "--api-base", world["discord"].api_base,
            "--relay-key-file", str(world["tmp"] / "relay.key"),
            "--no-input",
            *(extra or ("--template", str(world["template"]))),
        ]
    )  # fmt: skip


def test_setup_sets_the_endpoint_url_when_the_stack_verifies_with_the_application_key(
    world: dict[str, Any],
) -> None:
    assert setup(world) == 0

    url = world["discord"].application["interactions_endpoint_url"]
    assert url == f"{UNRESOLVED_API}/interactions"
    assert [status for _, status, _ in world["discord"].endpoint_checks] == [200, 401]


def test_setup_registers_the_defined_commands_when_discord_has_none(world: dict[str, Any]) -> None:
    assert setup(world) == 0

    registered = world["discord"].commands[None]
    assert [c["name"] for c in registered] == [c["name"] for c in registration_payload()]


def test_setup_stores_the_token_in_a_secret_the_stack_is_given_when_run(world: dict[str, Any]) -> None:
    import boto3

    assert setup(world) == 0

    [stack] = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    arn = next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == "BotTokenSecretArn")
    assert boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"] == BOT_TOKEN


def test_setup_writes_a_private_relay_key_the_stack_trusts_when_none_exists(world: dict[str, Any]) -> None:
    import boto3

    from guildlog.adapters.signatures import Signer

    assert setup(world) == 0

    key_file = world["tmp"] / "relay.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    relay_key = next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == "RelayPublicKey")
    assert Signer(key_file.read_text()).public_key == relay_key


def test_setup_prints_the_invite_url_and_the_relay_command_when_done(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    assert setup(world) == 0

    out = capsys.readouterr().out
    assert f"permissions={perms.REQUIRED}" in out
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    function = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "IngestFunctionName")
    function_url = boto3.client("lambda").get_function_url_config(FunctionName=function)["FunctionUrl"]
    assert f"guildlog relay --endpoint {function_url.rstrip('/')}/gateway/events " in out
    assert BOT_TOKEN not in out


def test_setup_changes_nothing_when_run_again(world: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert setup(world) == 0
    before = len(world["discord"].requests)
    capsys.readouterr()

    assert setup(world) == 0

    again = world["discord"].requests[before:]
    assert [r.method for r in again if r.method != "GET"] == []
    out = capsys.readouterr().out
    assert "kept " in out and "unchanged" in out and "created" not in out


def test_setup_stops_with_the_fix_when_the_stack_has_another_public_key(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    from guildlog_tools.setup.deploy import deploy_template

    stale = {**rehearsal.parameters("ef" * 32), "DiscordApplicationId": world["discord"].application["id"]}
    deploy_template(STACK, world["template"].read_text(), stale, boto3.client("cloudformation"))

    assert setup(world, "--skip-deploy") == 1

    out = capsys.readouterr().out
    assert "✗ interactions endpoint: Discord refused" in out
    assert "this application's public key" in out and "already in place" in out
    assert world["discord"].application["interactions_endpoint_url"] is None


def test_setup_names_the_intents_to_enable_when_they_are_off(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    world["discord"].application["flags"] = perms.GATEWAY_GUILD_MEMBERS_LIMITED

    assert setup(world) == 0

    assert "! privileged intents: off: Message Content Intent" in capsys.readouterr().out


def test_setup_creates_nothing_when_discord_refuses_the_token(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")

    assert setup(world) == 1

    assert "✗ Discord application: Discord did not accept the bot token" in capsys.readouterr().out
    assert boto3.client("secretsmanager").list_secrets()["SecretList"] == []
    assert not (world["tmp"] / "relay.key").exists()


RELAY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/guildlog-relay:1"


def test_setup_has_the_stack_run_the_relay_with_its_key_in_a_secret_when_given_an_image(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    assert setup(world, "--template", str(world["template"]), "--relay-image", RELAY_IMAGE) == 0

    [stack] = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (given["RelayHosting"], given["RelayImageUri"]) == ("fargate", RELAY_IMAGE)
    key = boto3.client("secretsmanager").get_secret_value(SecretId=given["RelaySigningKeySecretArn"])["SecretString"]
    assert key == (world["tmp"] / "relay.key").read_text().strip()
    out = capsys.readouterr().out
    assert "the stack runs it on Fargate" in out and "guildlog relay --endpoint" not in out and key not in out
