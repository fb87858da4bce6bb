"""template.yaml's archive batching: ArchiveQueue, its dead-letter queue, ArchiveFunction, least privilege, alarms."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog_tools.local.template import function_properties, load_template, resources_of_type
from tests.unit.test_template import TEMPLATE_PATH, as_list, policy_statements

DATASET_OBJECTS = {f"${{ArchiveBucket.Arn}}/{d}/*" for d in ("raw", "events", "events_csv", "quarantine")}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def statements_of(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    return [statement for owner, statement in policy_statements(template) if owner == function_id]


def plain(value: Any) -> Any:
    """`!Sub text` as its text, `!GetAtt X.Arn` (either spelling) as "X.Arn", `!Ref X` as "X"."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        attribute = value["Fn::GetAtt"]
        return attribute if isinstance(attribute, str) else ".".join(attribute)
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return value


def resources(statement: dict[str, Any]) -> list[Any]:
    return [plain(r) for r in as_list(statement["Resource"])]


def granted(template: dict[str, Any], function_id: str, action: str) -> list[Any]:
    return [
        resource
        for statement in statements_of(template, function_id)
        if action in as_list(statement["Action"])
        for resource in resources(statement)
    ]


def archive_event(template: dict[str, Any]) -> dict[str, Any]:
    events = function_properties(template, "ArchiveFunction")["Events"]
    [event] = [e for e in events.values() if e["Type"] == "SQS"]
    return event["Properties"]


def test_template_lets_ingest_send_only_to_its_four_hand_over_queues_when_it_hands_over() -> None:
    template = load_template(TEMPLATE_PATH)

    sent_to = granted(template, "IngestFunction", "sqs:SendMessage")

    # The archive lines, the moderation log, relay gaps to repair, attachment files to copy.
    assert sorted(sent_to) == ["ArchiveQueue.Arn", "AttachmentCopyQueue.Arn", "GapRepairQueue.Arn", "NotifyQueue.Arn"]
    variables = function_properties(template, "IngestFunction")["Environment"]["Variables"]
    assert variables["GUILDLOG_ARCHIVE_QUEUE_URL"] == {"Ref": "ArchiveQueue"}


def test_template_lets_archive_function_put_objects_only_under_the_dataset_prefixes(template: dict[str, Any]) -> None:
    statements = statements_of(template, "ArchiveFunction")
    s3_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")}

    assert s3_actions == {"s3:PutObject"}
    assert set(granted(template, "ArchiveFunction", "s3:PutObject")) == DATASET_OBJECTS
    assert all(s["Effect"] == "Allow" and "*" not in as_list(s["Action"]) for s in statements)


def test_template_lets_archive_function_use_only_its_own_queue(template: dict[str, Any]) -> None:
    sqs = [
        s for s in statements_of(template, "ArchiveFunction") if any(a.startswith("sqs:") for a in as_list(s["Action"]))
    ]

    # Receive from it, and send to it only: a quiet window's lines go back as one held message.
    assert [resources(s) for s in sqs] == [["ArchiveQueue.Arn"], ["ArchiveQueue.Arn"]]
    assert set(granted(template, "ArchiveFunction", "sqs:SendMessage")) == {"ArchiveQueue.Arn"}


def test_template_lets_archive_function_read_only_tombstones_and_write_only_day_counters(
    template: dict[str, Any],
) -> None:
    statements = statements_of(template, "ArchiveFunction")
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]

    [reads, writes] = dynamodb
    assert as_list(reads["Action"]) == ["dynamodb:Query"]
    assert reads["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["G#*#ERASE"]}}
    # The counter windows of small batches (services/counter_windows.py), and nothing else of the table.
    assert as_list(writes["Action"]) == ["dynamodb:BatchWriteItem"]
    assert writes["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["G#*#D#*"]}}


def test_template_holds_a_quiet_stacks_archive_lines_an_hour_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ArchiveHoldMinutes"]
    variables = function_properties(template, "ArchiveFunction")["Environment"]["Variables"]

    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (60, 0, 60)
    assert variables["GUILDLOG_ARCHIVE_HOLD_MINUTES"] == {"Ref": "ArchiveHoldMinutes"}
    assert variables["GUILDLOG_ARCHIVE_QUEUE_URL"] == {"Ref": "ArchiveQueue"}


def test_template_parks_archive_lines_in_a_dead_letter_queue_when_archive_function_keeps_failing(
    template: dict[str, Any],
) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    properties = queues["ArchiveQueue"]["Properties"]
    redrive = properties["RedrivePolicy"]

    assert plain(redrive["deadLetterTargetArn"]) == "ArchiveDeadLetterQueue.Arn"
    assert 1 < redrive["maxReceiveCount"] <= 10
    # Lambda asks for six times the timeout; the batching window comes on top.
    timeout = function_properties(template, "ArchiveFunction")["Timeout"]
    assert properties["VisibilityTimeout"] >= 6 * timeout + archive_event(template)["MaximumBatchingWindowInSeconds"]
    dead = queues["ArchiveDeadLetterQueue"]["Properties"]
    assert (
        dead["MessageRetentionPeriod"] >= 14 * 86400
        and properties["MessageRetentionPeriod"] < dead["MessageRetentionPeriod"]
    )
    assert properties["SqsManagedSseEnabled"] and dead["SqsManagedSseEnabled"]


def test_template_batches_archive_messages_for_minutes_and_reports_partial_failures(template: dict[str, Any]) -> None:
    event = archive_event(template)

    assert event["BatchSize"] >= 1000
    assert 60 <= event["MaximumBatchingWindowInSeconds"] <= 300
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_template_alarms_on_archive_function_errors_throttles_and_its_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")

    def watched(alarm: dict[str, Any]) -> tuple[str, Any]:
        properties = alarm["Properties"]
        return properties["MetricName"], plain(properties["Dimensions"][0]["Value"])

    found = {watched(alarm) for alarm in alarms.values() if "MetricName" in alarm["Properties"]}
    assert ("Errors", "ArchiveFunction") in found
    assert ("Throttles", "ArchiveFunction") in found
    assert ("ApproximateNumberOfMessagesVisible", "ArchiveDeadLetterQueue.QueueName") in found


def test_template_gives_archive_function_a_log_group_with_retention(template: dict[str, Any]) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")

    [group] = [g for g in groups.values() if "${ArchiveFunction}" in str(g["Properties"]["LogGroupName"])]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_erasure_jobs_wait_out_archive_function_when_queued_by_interactions(template: dict[str, Any]) -> None:
    from guildlog.adapters.erasure_requests import MAX_DELAY_SECONDS, STACK_ARCHIVE_SETTLE_SECONDS, job_delay

    archive = function_properties(template, "ArchiveFunction")
    [source] = [e["Properties"] for e in archive["Events"].values() if e["Type"] == "SQS"]
    settle = int(
        function_properties(template, "InteractionsFunction")["Environment"]["Variables"][
            "GUILDLOG_ARCHIVE_SETTLE_SECONDS"
        ]
    )

    # An erasure job's rewrite must come after every archive line queued before its tombstone is written.
    assert settle >= source["MaximumBatchingWindowInSeconds"] + archive["Timeout"]
    assert settle == STACK_ARCHIVE_SETTLE_SECONDS  # what `guildlog forget --stack` waits
    assert job_delay(settle) == job_delay(0) + settle <= MAX_DELAY_SECONDS
