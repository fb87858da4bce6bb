"""handlers/gap_repair.py: an SQS batch of gap jobs → repairs, and the records Lambda should deliver again."""

from __future__ import annotations

import json
from typing import Any

from guildlog.errors import DiscordApiError, GuildlogError
from guildlog.handlers.gap_repair import handle_batch
from guildlog.services.gap_repair import GapJob, RepairResult

JOB = GapJob(
    gap_event_id="relay:gap-0-s0-42", shard=(0, 1), since="2026-11-20T12:00:00.000Z", until="2026-11-20T12:05:00.000Z"
)


class Repair:
    """Stands in for GapRepair: fails the jobs named in `failing`."""

    def __init__(self, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.failing = failing
        self.ran: list[str] = []

    def run(self, job: GapJob) -> RepairResult:
        self.ran.append(job.gap_event_id)
        if job.gap_event_id in self.failing:
            raise DiscordApiError("Discord is down")
        return RepairResult(job, "repaired")


def sqs(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{n}", "body": b, "eventSource": "aws:sqs"} for n, b in enumerate(bodies)]}


def test_handle_batch_reports_only_the_failed_job_when_one_repair_fails() -> None:
    other = JOB.model_copy(update={"gap_event_id": "relay:gap-0-s0-99"})
    failures: list[tuple[str, GuildlogError]] = []

    answer, report = handle_batch(
        sqs(JOB.model_dump_json(), other.model_dump_json()),
        Repair({"relay:gap-0-s0-99"}),
        on_failure=lambda r, e: failures.append((r, e)),
    )

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [r.job.gap_event_id for r in report.repaired] == ["relay:gap-0-s0-42"] and failures[0][0] == "m1"


def test_handle_batch_drops_a_record_when_it_is_not_a_gap_job() -> None:
    bad: list[str] = []
    repair = Repair()

    answer, report = handle_batch(
        sqs("not json", json.dumps({"v": 1, "extra": True})), repair, on_bad=lambda r, why: bad.append(r)
    )

    assert answer == {"batchItemFailures": []} and report.bad == 2 and bad == ["m0", "m1"] and repair.ran == []
