"""adapters/gap_repair_store.py under moto: one record per gap, its checkpoints, a second delivery."""

from __future__ import annotations

from typing import Any

from guildlog.adapters.gap_repair_store import DynamoRepairRecords
from guildlog.services import keys
from guildlog.services.gap_repair import GapJob

JOB = GapJob(
    gap_event_id="relay:gap-3-s-42",
    shard=(3, 4),
    since="2026-11-20T12:00:00.000Z",
    until="2026-11-20T12:05:00.000Z",
    reason="session_expired",
)


def record(aws: dict[str, Any]) -> dict[str, Any]:
    key = {"PK": {"S": keys.relay_pk(3)}, "SK": {"S": keys.repair_sk(JOB.since, JOB.gap_event_id)}}
    return aws["dynamodb"].get_item(TableName=aws["table"], Key=key)["Item"]


def test_repair_records_keep_the_first_opening_and_its_checkpoints_when_a_job_is_delivered_again(
    aws: dict[str, Any],
) -> None:
    records = DynamoRepairRecords(aws["table"], aws["dynamodb"], clock=lambda: 1_800_000_000)
    assert records.open(JOB, "2026-11-20T12:06:00.000Z") == "open"
    records.checkpoints(JOB).set("900000000000000011", "900000000000000123", False)

    state = records.open(JOB, "2026-11-20T12:07:00.000Z")

    assert state == "open" and record(aws)["opened_at"] == {"S": "2026-11-20T12:06:00.000Z"}
    assert records.checkpoints(JOB).get("900000000000000011") == ("900000000000000123", False)


def test_repair_records_answer_the_final_state_when_a_finished_job_is_opened_again(aws: dict[str, Any]) -> None:
    records = DynamoRepairRecords(aws["table"], aws["dynamodb"])
    records.open(JOB, "2026-11-20T12:06:00.000Z")
    records.close(JOB, {"state": "repaired", "recovered": 6, "recovered_by_guild": {"81384788765712384": 6}})

    assert records.open(JOB, "2026-11-20T12:08:00.000Z") == "repaired"
    assert record(aws)["recovered"] == {"N": "6"} and record(aws)["expires_at"]["N"].isdigit()
