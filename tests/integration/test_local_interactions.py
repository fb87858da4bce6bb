"""Slash commands on the local stack: signed interactions over loopback, async invokes of WorkerFunction
run in-process by the local Lambda Invoke API, follow-ups on the local fake Discord."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from guildlog.adapters.signatures import Signer
from guildlog.services import keys
from guildlog.services.commands import protocol as p
from guildlog_tools.local.stack import LocalStack
from tests.fakes import interactions as fx

pytestmark = pytest.mark.integration

# An upper bound for the async invocations to finish on a busy machine; never reached when things work.
DRAIN_S = 120.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        yield running


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else {}, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def send(stack: LocalStack, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    assert stack.keys is not None
    payload["application_id"] = stack.keys.application_id
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", **Signer(stack.keys.discord_private_key).headers(body)}
    status, answer, received = post(stack.interactions_url, body, headers)
    assert received["content-type"] == "application/json"
    return status, answer


def test_local_stack_answers_ping_with_pong_when_discord_checks_the_endpoint(stack: LocalStack) -> None:
    assert send(stack, fx.ping()) == (200, {"type": p.PONG})


def test_local_stack_finishes_a_deferred_command_in_process_when_the_worker_is_invoked(stack: LocalStack) -> None:
    assert stack.discord is not None and stack.lambda_api is not None
    payload = fx.command("stats", options={"period": "30d"})
    before = len(stack.discord.edits)

    status, answer = send(stack, payload)
    edits = stack.discord.wait_for_edits(before + 1)

    assert (status, answer["type"]) == (200, p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE)
    [edit] = [e for e in edits if e.token == payload["token"]]
    assert edit.method == "PATCH" and "Activity · 30d" in edit.body["content"]
    assert stack.lambda_api.drain(DRAIN_S)
    assert all(run.ok for run in stack.lambda_api.runs)


def test_local_stack_logs_each_command_through_the_worker_when_answered(stack: LocalStack) -> None:
    assert stack.lambda_api is not None
    payload = fx.command("logs", "status")

    send(stack, payload)
    assert stack.lambda_api.drain(DRAIN_S)

    found = stack.client("dynamodb").query(
        TableName=stack.table,
        IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.category_index_pk(fx.GUILD, "command")}},
    )["Items"]
    assert f"interaction:{payload['id']}" in {item["event_id"]["S"] for item in found}


def test_local_stack_refuses_an_unsigned_interaction_when_posted(stack: LocalStack) -> None:
    status, answer, _ = post(stack.interactions_url, b'{"type": 1}', {"Content-Type": "application/json"})

    assert (status, answer) == (401, {"error": "invalid request signature"})


@pytest.mark.parametrize(("invocation_type", "status"), [("RequestResponse", 400), ("DryRun", 204), ("Event", 202)])
def test_local_lambda_api_serves_only_what_runs_in_process_when_invoked(
    stack: LocalStack, invocation_type: str, status: int
) -> None:
    assert stack.lambda_api is not None
    job = {"v": 1, "interaction": fx.command("logs", "status"), "received_at": "2026-11-20T00:00:00Z"}
    job["interaction"].pop("token")

    answer = post(
        f"{stack.lambda_api.url}/2015-03-31/functions/WorkerFunction/invocations",
        json.dumps(job).encode(),
        {"X-Amz-Invocation-Type": invocation_type},
    )

    assert answer[0] == status
    assert stack.lambda_api.drain(DRAIN_S)


def test_local_lambda_api_says_not_found_when_the_function_is_not_in_the_template(stack: LocalStack) -> None:
    assert stack.lambda_api is not None

    status, answer, headers = post(
        f"{stack.lambda_api.url}/2015-03-31/functions/Nope/invocations", b"{}", {"X-Amz-Invocation-Type": "Event"}
    )

    assert status == 404 and headers["x-amzn-errortype"] == "ResourceNotFoundException"


def test_local_stack_points_the_functions_at_loopback_when_they_would_call_discord_or_lambda(
    stack: LocalStack,
) -> None:
    for route in stack.routes:
        assert route.environment["GUILDLOG_DISCORD_API_BASE"].startswith("http://127.0.0.1:")
        assert route.environment["AWS_ENDPOINT_URL_LAMBDA"].startswith("http://127.0.0.1:")
    assert stack.bot_token_secret_arn.startswith("arn:aws:secretsmanager:")
    assert json.loads(Path(stack.dev_file).read_text())["interactions_url"] == stack.interactions_url
