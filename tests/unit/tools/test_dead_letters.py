"""guildlog_tools.dead_letters: reading Lambda's on-failure records and EventBridge's dead letters."""

from __future__ import annotations

import json
from typing import Any

from guildlog_tools.dead_letters import parse_message
from guildlog_tools.local.lambda_api import failure_record

JOB = {"v": 1, "interaction": {"id": "1", "token": "interaction-token"}}


def message(body: str, attributes: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"SentTimestamp": "1795176000000"},
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()},
    }


def test_parse_message_names_function_payload_and_error_when_lambda_exhausted_retries() -> None:
    record = failure_record("WorkerFunction", "req-1", JOB, 3, ValueError("bad job"))

    letter = parse_message("WorkerDeadLetterQueue", message(json.dumps(record)))

    assert letter.replayable
    assert letter.function == "arn:aws:lambda:us-east-1:123456789012:function:WorkerFunction"
    assert (letter.payload, letter.attempts, letter.error) == (JOB, 3, "ValueError: bad job")


def test_parse_message_reads_target_and_error_when_eventbridge_could_not_invoke() -> None:
    event = {"detail-type": "Scheduled Event", "time": "2026-11-20T01:30:00Z"}
    attributes = {
        "TARGET_ARN": "arn:aws:lambda:eu-west-1:123456789012:function:stack-CompactFunction-AbC",
        "ERROR_CODE": "ResourceNotFoundException",
        "ERROR_MESSAGE": "Function not found",
        "RETRY_ATTEMPTS": "2",
    }

    letter = parse_message("CompactDeadLetterQueue", message(json.dumps(event), attributes))

    assert letter.replayable and letter.payload == event
    assert letter.function == attributes["TARGET_ARN"]
    assert (letter.attempts, letter.error) == (3, "ResourceNotFoundException: Function not found")


def test_parse_message_keeps_the_message_unreplayable_when_the_body_is_not_json() -> None:
    letter = parse_message("WorkerDeadLetterQueue", message("not json"))

    assert not letter.replayable and letter.problem == "the body is not JSON"


def test_parse_message_refuses_to_replay_when_lambda_left_the_payload_out() -> None:
    record = failure_record("WorkerFunction", "req-1", JOB, 3, ValueError("x"))
    del record["requestPayload"]

    letter = parse_message("WorkerDeadLetterQueue", message(json.dumps(record)))

    assert not letter.replayable and "payload" in (letter.problem or "")


def test_dead_letter_summary_leaves_the_payload_out_when_listed() -> None:
    record = failure_record("WorkerFunction", "req-1", JOB, 3, ValueError("x"))

    summary = parse_message("WorkerDeadLetterQueue", message(json.dumps(record))).summary()

    assert "interaction-token" not in json.dumps(summary)
    assert summary["function"] == "WorkerFunction"
