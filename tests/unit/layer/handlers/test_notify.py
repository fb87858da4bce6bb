"""guildlog.handlers.notify: an SQS event → jobs; the partial-batch answer Lambda expects."""

from __future__ import annotations

import json
from typing import Any

from guildlog.handlers.notify import handle_batch, jobs_from_event
from guildlog.services.modlog.delivery import DeliveryReport, Job


class RecordingDeliverer:
    def __init__(self, failed: list[str], waiting: list[str] | None = None) -> None:
        self.jobs: list[Job] = []
        self.failed = failed
        self.waiting = waiting or []

    def deliver(self, jobs: list[Job]) -> DeliveryReport:
        self.jobs = jobs
        return DeliveryReport(failed=self.failed, waiting=self.waiting)


def record(message_id: str, body: Any) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


GOOD = {"v": 1, "guild_id": "1300000000000000100", "row": {"event_id": "gw:s:1"}}


def test_jobs_from_event_sets_aside_a_record_that_is_not_a_log_message_when_one_is_malformed() -> None:
    reasons: list[str] = []

    jobs, bad = jobs_from_event(
        {"Records": [record("a", GOOD), record("b", "not json"), record("c", {"v": 2})]},
        lambda rid, why: reasons.append(rid),
    )

    assert [j.record_id for j in jobs] == ["a"] and bad == ["b", "c"] and reasons == ["b", "c"]


def test_handle_batch_reports_only_the_failed_records_when_delivery_fails_some() -> None:
    deliverer = RecordingDeliverer(failed=["b"])

    answer, _ = handle_batch({"Records": [record("a", GOOD), record("b", GOOD)]}, deliverer)  # type: ignore[arg-type]

    assert answer == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert [j.record_id for j in deliverer.jobs] == ["a", "b"]


def test_jobs_from_event_reads_which_delivery_a_record_is_when_sqs_counts_receives() -> None:
    second = {**record("a", GOOD), "attributes": {"ApproximateReceiveCount": "2"}}

    jobs, _ = jobs_from_event({"Records": [second, record("b", GOOD)]})

    assert [j.receive_count for j in jobs] == [2, 1]


def test_handle_batch_brings_back_only_the_waiting_records_soon_when_a_post_waits_for_its_audit_entry() -> None:
    requeued: list[tuple[list[str], int]] = []
    deliverer = RecordingDeliverer(failed=["b", "c"], waiting=["b"])

    answer, _ = handle_batch(
        {"Records": [record("a", GOOD), record("b", GOOD), record("c", GOOD)]},
        deliverer,  # type: ignore[arg-type]
        requeue=lambda records, seconds: requeued.append(([r["messageId"] for r in records], seconds)),
    )

    assert requeued == [(["b"], 5)]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}
