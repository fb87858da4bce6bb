"""`guildlog doctor` against the local stack's moto (a small stack made by CloudFormation: a queue with its
dead-letter queue, the outputs naming the local stack's endpoints, table and bucket; moto's
CloudFormation cannot create alarms, so the test makes one under the name CloudFormation would give
it) and a fake Discord; and `--local` against the running local stack itself.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.services import keys
from guildlog.services.commands.definitions import registration_payload
from guildlog_tools import discord_permissions as perms
from guildlog_tools.cli import main
from guildlog_tools.doctor.checks import relay_function_url
from guildlog_tools.doctor.target import Target
from guildlog_tools.fakes.discord_app import BOT_TOKEN, FakeDiscordApp

pytestmark = pytest.mark.integration

STACK = "guildlog-doctor"
ALARM = f"{STACK}-IngestErrors-1A2B3C4D5E6F"
GUILD = "1310000000000000500"
ROLE = "1310000000000000501"
TEMPLATE = {
    "Parameters": {name: {"Type": "String"} for name in ("Interactions", "Gateway", "Table", "Bucket", "Secret")}
    | {"BotTokenSecretArn": {"Type": "String"}},
    "Resources": {
        "WorkerDLQ": {"Type": "AWS::SQS::Queue"},
        "Jobs": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["WorkerDLQ", "Arn"]}, "maxReceiveCount": 3}
            },
        },
    },
    "Outputs": {
        "InteractionsUrl": {"Value": {"Ref": "Interactions"}},
        "GatewayEventsUrl": {"Value": {"Ref": "Gateway"}},
        "TableName": {"Value": {"Ref": "Table"}},
        "ArchiveBucketName": {"Value": {"Ref": "Bucket"}},
    },
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from guildlog_tools.local.stack import LocalStack

    with LocalStack(dev_file=tmp_path_factory.mktemp("doctor") / "dev.json") as stack, FakeDiscordApp() as discord:
        secret = stack.client("secretsmanager").create_secret(Name="doctor-token", SecretString=BOT_TOKEN)["ARN"]
        values = {
            "Interactions": stack.interactions_url,
            "Gateway": stack.gateway_events_url,
            "Table": stack.table,
            "Bucket": stack.bucket,
            "Secret": secret,
            "BotTokenSecretArn": secret,
        }
        cloudformation = stack.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        )
        stack.client("cloudwatch").put_metric_alarm(
            AlarmName=ALARM,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        yield {
            "stack": stack,
            "discord": discord,
            "queues": {
                r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in resources
                if r["ResourceType"] == "AWS::SQS::Queue"
            },
        }


@pytest.fixture
def healthy(world: dict[str, Any]) -> dict[str, Any]:
    """Everything as it should be: Discord set up, a fresh heartbeat, empty queues, the alarm OK."""
    discord: FakeDiscordApp = world["discord"]
    stack = world["stack"]
    discord.application["interactions_endpoint_url"] = stack.interactions_url
    discord.application["flags"] = perms.GATEWAY_GUILD_MEMBERS_LIMITED | perms.GATEWAY_MESSAGE_CONTENT_LIMITED
    discord.commands[None] = registration_payload()
    discord.add_guild(GUILD, bot_roles={ROLE: perms.REQUIRED | perms.MANAGE_GUILD})
    heartbeat(stack)
    for url in world["queues"].values():
        drain(stack.client("sqs"), url)
    stack.client("cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="test")
    return world


def drain(sqs: Any, url: str) -> None:
    """Delete what a test left (PurgeQueue may run once a minute only)."""
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def heartbeat(stack: Any, when: datetime | None = None) -> None:
    at = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    table = stack.client("dynamodb")
    table.put_item(
        TableName=stack.table, Item={"PK": {"S": keys.RELAY_INDEX_PK}, "SK": {"S": keys.relay_index_sk(at[:10], 0)}}
    )
    table.put_item(
        TableName=stack.table,
        Item={
            "PK": {"S": "RELAY#0"},
            "SK": {"S": f"C#{at}#test"},
            "occurred_at": {"S": at},
            "action": {"S": "heartbeat"},
        },
    )


def doctor(world: dict[str, Any], *extra: str) -> int:
    return main(["doctor", "--stack", STACK, "--region", "us-east-1", "--api-base", world["discord"].api_base, *extra])


def test_doctor_passes_every_check_when_the_stack_is_healthy(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)

    assert doctor(healthy) == 0

    out = capsys.readouterr().out
    assert "✗" not in out and " 0 failed" in out
    for name in ("interactions endpoint URL", "slash commands", "privileged intents", "dead-letter queue WorkerDLQ"):
        assert f"✓ {name}" in out


def test_doctor_fails_naming_the_queue_when_a_dead_letter_queue_holds_messages(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    healthy["stack"].client("sqs").send_message(QueueUrl=healthy["queues"]["WorkerDLQ"], MessageBody="{}")

    assert doctor(healthy) == 1

    assert "✗ dead-letter queue WorkerDLQ: 1 message(s) waiting" in capsys.readouterr().out


def test_doctor_fails_naming_the_alarm_when_it_is_in_alarm(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    healthy["stack"].client("cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="errors")

    assert doctor(healthy) == 1

    assert f"✗ alarm {ALARM}: errors" in capsys.readouterr().out


def test_doctor_fails_with_the_missing_permission_when_the_bot_cannot_read_the_audit_log(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    healthy["discord"].add_guild(GUILD, bot_roles={ROLE: perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY})

    assert doctor(healthy) == 1

    assert f"✗ server {GUILD}: the bot lacks View Audit Log" in capsys.readouterr().out


def test_doctor_fails_naming_the_intent_when_message_content_is_off(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    healthy["discord"].application["flags"] = perms.GATEWAY_GUILD_MEMBERS_LIMITED

    assert doctor(healthy) == 1

    assert "✗ privileged intents: off: Message Content Intent" in capsys.readouterr().out


def test_doctor_fails_when_the_relay_has_been_quiet(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = healthy["stack"]
    table = stack.client("dynamodb")
    for item in table.query(
        TableName=stack.table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "RELAY#0"}}
    )["Items"]:
        table.delete_item(TableName=stack.table, Key={"PK": item["PK"], "SK": item["SK"]})
    heartbeat(stack, datetime.now(UTC) - timedelta(minutes=30))

    assert doctor(healthy) == 1

    assert "✗ relay shard 0: last heard" in capsys.readouterr().out


def test_doctor_fails_when_the_application_points_elsewhere(
    healthy: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    healthy["discord"].application["interactions_endpoint_url"] = "https://example.invalid/interactions"

    assert doctor(healthy) == 1

    assert "✗ interactions endpoint URL" in capsys.readouterr().out


def test_doctor_local_passes_the_checks_that_apply_when_guildlog_dev_runs(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUILDLOG_DEV_FILE", str(world["stack"].dev_file))

    assert main(["doctor", "--local"]) == 0

    out = capsys.readouterr().out
    for name in ("stack outputs", "table and bucket", "interactions endpoint", "relay endpoint"):
        assert f"✓ {name}:" in out
    assert "PONG to a signed PING" in out


# --- the relay's function URL: read from Lambda, never posted to ------------------------------


@pytest.fixture
def ingest_function(world: dict[str, Any]) -> Iterator[str]:
    """A function in the local stack's moto with no URL yet; deleted after the test."""
    stack = world["stack"]
    name = f"{STACK}-IngestFunction-{uuid.uuid4().hex[:8]}"
    assume = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [assume]}
    role = stack.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    lambda_ = stack.client("lambda")
    lambda_.create_function(FunctionName=name, Runtime="python3.13", Role=role, Handler="app.lambda_handler",
                            Code={"ZipFile": code.getvalue()})  # fmt: skip
    yield name
    lambda_.delete_function(FunctionName=name)
    stack.client("iam").delete_role(RoleName=name)


def url_target(world: dict[str, Any], function: str, gateway_events_url: str, kind: str = "stack") -> Target:
    outputs = {"IngestFunctionName": function, "GatewayEventsUrl": gateway_events_url}
    return Target(kind, STACK, "us-east-1", "UPDATE_COMPLETE", outputs, {}, [], world["stack"].client)


def test_doctor_accepts_the_relay_endpoint_when_it_is_the_public_function_url(
    world: dict[str, Any], ingest_function: str
) -> None:
    lambda_ = world["stack"].client("lambda")
    url = lambda_.create_function_url_config(FunctionName=ingest_function, AuthType="NONE")["FunctionUrl"]

    [result] = relay_function_url(url_target(world, ingest_function, url.rstrip("/") + "/gateway/events"))

    assert (result.status, result.detail) == (
        "ok",
        f"{ingest_function}, AuthType NONE, {url.rstrip('/')}/gateway/events",
    )


def test_doctor_fails_naming_the_fix_when_the_function_has_no_url(world: dict[str, Any], ingest_function: str) -> None:
    [result] = relay_function_url(url_target(world, ingest_function, "https://x.execute-api.example/gateway/events"))

    assert (result.status, result.detail) == ("fail", f"{ingest_function} has no function URL")
    assert "redeploy" in result.fix


def test_doctor_fails_when_the_function_url_wants_aws_signatures(world: dict[str, Any], ingest_function: str) -> None:
    lambda_ = world["stack"].client("lambda")
    url = lambda_.create_function_url_config(FunctionName=ingest_function, AuthType="AWS_IAM")["FunctionUrl"]

    [result] = relay_function_url(url_target(world, ingest_function, url.rstrip("/") + "/gateway/events"))

    assert result.status == "fail" and "AuthType AWS_IAM" in result.detail


def test_doctor_fails_when_gateway_events_url_is_not_the_function_url(
    world: dict[str, Any], ingest_function: str
) -> None:
    world["stack"].client("lambda").create_function_url_config(FunctionName=ingest_function, AuthType="NONE")
    old_route = "https://abc123.execute-api.us-east-1.amazonaws.com/gateway/events"

    [result] = relay_function_url(url_target(world, ingest_function, old_route))

    assert result.status == "fail" and result.detail.startswith(f"GatewayEventsUrl is {old_route}, not ")


def test_doctor_skips_the_function_url_when_the_target_is_the_local_stack(world: dict[str, Any]) -> None:
    [result] = relay_function_url(url_target(world, "IngestFunction", world["stack"].gateway_events_url, "local"))

    assert result.status == "skip"
