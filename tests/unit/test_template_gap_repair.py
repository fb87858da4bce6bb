"""template.yaml's gap repair block: GapRepairFunction, its queue and dead-letter queue, ingest's hand-over."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog_tools.local.template import function_properties, load_template
from tests.unit.test_template import TEMPLATE_PATH, as_list, policy_statements

FUNCTION = "GapRepairFunction"
QUEUE = "GapRepairQueue"
DLQ = "GapRepairDeadLetterQueue"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def allowed(template: dict[str, Any], owner: str) -> list[tuple[str, Any]]:
    """(action, resource) pairs an owner's policies allow."""
    return [
        (action, resource)
        for who, statement in policy_statements(template)
        if who == owner and statement.get("Effect") == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_gap_repair_function_reads_only_its_queue_when_polling(template: dict[str, Any]) -> None:
    sqs = {(a, str(r)) for a, r in allowed(template, FUNCTION) if a.startswith("sqs:")}
    assert {r for _, r in sqs} == {str({"Fn::GetAtt": [QUEUE, "Arn"]})}
    assert {a for a, _ in sqs} == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    }


def test_gap_repair_function_writes_only_the_archive_prefixes_and_the_table_when_repairing(
    template: dict[str, Any],
) -> None:
    granted = allowed(template, FUNCTION)
    s3 = sorted(str(r) for a, r in granted if a.startswith("s3:"))
    dynamodb = {str(r) for a, r in granted if a.startswith("dynamodb:")}
    assert {a for a, _ in granted if a.startswith("s3:")} == {"s3:PutObject"}
    assert s3 == sorted(
        str({"Fn::Sub": "${ArchiveBucket.Arn}/" + prefix + "/*"})
        for prefix in ("raw", "events", "events_csv", "quarantine")
    )
    channel_index = {"Fn::Sub": "${Table.Arn}/index/GSI2"}
    assert dynamodb == {str({"Fn::GetAtt": ["Table", "Arn"]}), str(channel_index)}
    # The channel's index is only read: the creates the relay logged before a create's id was its message id.
    assert [a for a, r in granted if r == channel_index] == ["dynamodb:Query"]
    assert not any(a.startswith("dynamodb:") and a in ("dynamodb:DeleteItem", "dynamodb:Scan") for a, _ in granted)


def test_gap_repair_function_reads_the_bot_token_secret_only_when_calling_discord(template: dict[str, Any]) -> None:
    secrets = [(a, r) for a, r in allowed(template, FUNCTION) if a.startswith("secretsmanager:")]
    assert secrets == [("secretsmanager:GetSecretValue", {"Ref": "BotTokenSecretArn"})]


def test_gap_repair_queue_dead_letters_after_retries_when_a_repair_keeps_failing(template: dict[str, Any]) -> None:
    queue = template["Resources"][QUEUE]["Properties"]
    timeout = function_properties(template, FUNCTION)["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [DLQ, "Arn"]}
    assert 2 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["SqsManagedSseEnabled"] is True


def test_gap_repair_function_reports_partial_batches_when_run_by_its_queue(template: dict[str, Any]) -> None:
    [event] = function_properties(template, FUNCTION)["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_ingest_may_only_send_to_the_gap_queue_when_handing_over_a_gap(template: dict[str, Any]) -> None:
    sends = {str(r) for a, r in allowed(template, "IngestFunction") if a == "sqs:SendMessage"}
    environment = function_properties(template, "IngestFunction")["Environment"]["Variables"]
    assert str({"Fn::GetAtt": [QUEUE, "Arn"]}) in sends
    assert environment["GUILDLOG_GAP_REPAIR_QUEUE_URL"] == {"Ref": QUEUE}
    senders = {
        who
        for who, s in policy_statements(template)
        if str([QUEUE, "Arn"]) in str(s.get("Resource")) and "sqs:SendMessage" in as_list(s["Action"])
    }
    assert senders == {"IngestFunction"}


def test_gap_repair_dead_letter_queue_alarms_when_a_repair_is_parked(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["GapRepairDeadLetterQueueDepthAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [DLQ, "QueueName"]}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
