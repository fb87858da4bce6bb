"""guildlog.services.commands.worker: the follow-up (never after the token's life) and the command's log entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.errors import DiscordApiError, StorageError
from guildlog.models.envelope import Envelope
from guildlog.models.worker_job import WorkerJob
from guildlog.services.commands.app import STORAGE_DOWN
from guildlog.services.commands.context import Ports
from guildlog.services.commands.worker import command_envelope, run_job, token_deadline
from guildlog.services.event_ids import event_id
from guildlog.services.timefmt import snowflake_time
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable

CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Sender:
    def __init__(self, fail: bool = False) -> None:
        self.edits: list[tuple[str, str, dict[str, Any], datetime]] = []
        self.fail = fail

    def edit_original(self, application_id: str, token: str, body: dict[str, Any], *, deadline: datetime) -> None:
        if self.fail:
            raise DiscordApiError("PATCH /webhooks/1/***/messages/@original was refused: 404", status=404)
        self.edits.append((application_id, token, body, deadline))


class Log:
    def __init__(self, fail: bool = False) -> None:
        self.envelopes: list[Envelope] = []
        self.fail = fail

    def ingest(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> None:
        if self.fail:
            raise StorageError("scripted")
        self.envelopes.append(envelope)


def job(payload: dict[str, Any], followup: bool = True) -> WorkerJob:
    logged = {k: v for k, v in payload.items() if k != "token"}
    return WorkerJob(
        interaction=logged, token=payload["token"] if followup else None, followup=followup, received_at=CREATED
    )


def run(ports: Ports, the_job: WorkerJob, sender: Sender, log: Log, at: datetime) -> Any:
    return run_job(the_job, ports=ports, discord=sender, command_log=log, clock=lambda: at)


def test_worker_edits_the_original_answer_then_logs_when_the_job_is_a_followup(ports: Ports) -> None:
    payload = fx.command("stats", options={"period": "30d"}, at=CREATED)
    sender, log = Sender(), Log()

    outcome = run(ports, job(payload), sender, log, CREATED + timedelta(seconds=2))

    assert (outcome.followup, outcome.logged) == ("sent", True)
    [(application, token, body, deadline)] = sender.edits
    assert (application, token) == (fx.APPLICATION, payload["token"])
    assert "Activity · 30d" in body["content"] and "flags" not in body
    assert deadline == snowflake_time(payload["id"]) + timedelta(minutes=14, seconds=30)
    assert len(log.envelopes) == 1


def test_worker_sends_nothing_when_the_interaction_token_has_expired(ports: Ports) -> None:
    payload = fx.command("stats", options={"period": "30d"}, at=CREATED)
    sender, log = Sender(), Log()

    outcome = run(ports, job(payload), sender, log, token_deadline(payload["id"]))

    assert outcome.followup == "expired"
    assert sender.edits == []
    assert len(log.envelopes) == 1  # the use is still logged


def test_worker_answers_with_a_clear_message_when_the_command_fails(table: MemoryTable, ports: Ports) -> None:
    payload = fx.command("stats", options={"period": "30d"}, at=CREATED)
    table.fail_reads = True
    sender = Sender()

    run(ports, job(payload), sender, Log(), CREATED)

    assert sender.edits[0][2]["content"] == STORAGE_DOWN


def test_worker_still_logs_when_discord_refuses_the_followup(ports: Ports) -> None:
    payload = fx.command("stats", options={"period": "30d"}, at=CREATED)
    log = Log()

    outcome = run(ports, job(payload), Sender(fail=True), log, CREATED)

    assert (outcome.followup, outcome.logged) == ("failed", True)
    assert len(log.envelopes) == 1


def test_worker_raises_for_a_retry_when_the_log_write_fails(ports: Ports) -> None:
    with pytest.raises(StorageError):
        run(ports, job(fx.command("logs", "status"), followup=False), Sender(), Log(fail=True), CREATED)


def test_worker_only_logs_when_the_job_is_not_a_followup(ports: Ports) -> None:
    sender, log = Sender(), Log()

    outcome = run(ports, job(fx.command("logs", "status"), followup=False), sender, log, CREATED)

    assert outcome.followup == "none"
    assert sender.edits == [] and len(log.envelopes) == 1


def test_command_envelope_identifies_the_interaction_by_its_id_when_logged() -> None:
    payload = fx.command("logs", "search", options={"contains": "x"}, at=CREATED)

    envelope, raw = command_envelope(payload, CREATED)

    [event] = envelope.events
    assert (event.t, event.source, event.id) == ("INTERACTION_CREATE", "interaction", payload["id"])
    assert event_id(event, envelope) == f"interaction:{payload['id']}"
    assert envelope.batch_id == f"interaction-{payload['id']}"
    assert "token" not in raw[0]["d"] and "token" not in event.d
    assert command_envelope(payload, CREATED + timedelta(hours=1))[0].batch_id == envelope.batch_id


def test_worker_job_never_shows_its_token_when_printed() -> None:
    the_job = job(fx.command("logs", "status"))

    assert the_job.token is not None
    assert the_job.token not in repr(the_job) and the_job.token not in str(the_job)


def test_worker_reports_a_failed_followup_when_the_interaction_names_no_application(ports: Ports) -> None:
    payload = fx.command("stats", options={"period": "30d"}, at=CREATED)
    del payload["application_id"]
    sender, log = Sender(), Log()

    outcome = run(ports, job(payload), sender, log, CREATED)

    assert (outcome.followup, outcome.logged) == ("failed", True)
    assert sender.edits == []
