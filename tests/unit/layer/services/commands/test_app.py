"""guildlog.services.commands.app: claims, routing, deferral and hand-over to the worker."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from guildlog.errors import MalformedRequestError, StorageError
from guildlog.models.worker_job import WorkerJob
from guildlog.services import keys
from guildlog.services.commands import protocol as p
from guildlog.services.commands.app import ALREADY_ANSWERED, NO_WORKER, UNKNOWN_COMMAND, InteractionApp
from guildlog.services.commands.context import Ports
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import row


class RecordingInvoker:
    def __init__(self, fail: bool = False) -> None:
        self.jobs: list[WorkerJob] = []
        self.fail = fail

    def invoke(self, job: WorkerJob) -> None:
        if self.fail:
            raise StorageError("scripted invoke failure")
        self.jobs.append(job)


class SlowReader:
    """Wraps the table: every Query waits until the test releases it."""

    def __init__(self, table: MemoryTable) -> None:
        self.table = table
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.release.wait(timeout=120)
        return self.table.query(*args, **kwargs)


def make(table: MemoryTable, ports: Ports, **kwargs: Any) -> tuple[InteractionApp, RecordingInvoker]:
    invoker = kwargs.pop("invoker", RecordingInvoker())
    return InteractionApp(ports, table, invoker, **kwargs), invoker


def content(answer: dict[str, Any]) -> str:
    return str(answer["data"]["content"])


def test_app_answers_a_command_and_hands_it_over_for_logging_when_it_is_quick(table: MemoryTable, ports: Ports) -> None:
    app, invoker = make(table, ports)
    payload = fx.command("logs", "status")

    answer = app.handle(payload)

    assert answer["type"] == p.CHANNEL_MESSAGE_WITH_SOURCE
    assert answer["data"]["flags"] == p.EPHEMERAL
    [job] = invoker.jobs
    assert (job.followup, job.token) == (False, None)
    assert job.interaction["id"] == payload["id"]
    assert "token" not in job.interaction


def test_app_changes_nothing_twice_when_the_same_interaction_arrives_again(table: MemoryTable, ports: Ports) -> None:
    app, invoker = make(table, ports)
    payload = fx.command("logs", "config", "retention", options={"days": 7})

    first = app.handle(payload)
    table.update_config(fx.GUILD, actor_id="x", at="t", set_fields={"retention_days": 30})
    again = app.handle(payload)

    assert "7 days" in content(first)
    assert content(again) == ALREADY_ANSWERED
    assert table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]["retention_days"] == 30  # not written again
    assert len(invoker.jobs) == 1


def test_app_defers_and_hands_the_answer_to_the_worker_when_the_command_is_slow_by_nature(
    table: MemoryTable, ports: Ports
) -> None:
    app, invoker = make(table, ports)
    payload = fx.command("stats", options={"period": "30d"})

    answer = app.handle(payload)

    assert answer == {"type": p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": p.EPHEMERAL}}
    [job] = invoker.jobs
    assert (job.followup, job.token) == (True, payload["token"])
    assert table.gets == 0  # nothing was read: the worker does it


def test_app_defers_and_hands_the_answer_to_the_worker_when_the_service_asks_for_the_archive(
    table: MemoryTable, ports: Ports
) -> None:
    # A generous deadline: the deferral must come from the service's hand-over, not from slowness.
    app, invoker = make(table, ports, defer_after=120)
    payload = fx.command("logs", "message", options={"message": "1180000000000000000"})

    answer = app.handle(payload)

    assert answer == {"type": p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": p.EPHEMERAL}}
    [job] = invoker.jobs
    assert (job.followup, job.token) == (True, payload["token"])


def test_app_defers_within_its_deadline_when_the_downstream_is_slow(table: MemoryTable, ports: Ports) -> None:
    slow = SlowReader(table)
    ports.reader = slow
    app, invoker = make(table, ports, defer_after=0.05)
    try:
        answer = app.handle(fx.command("logs", "search"))
    finally:
        slow.release.set()

    assert answer["type"] == p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    [job] = invoker.jobs
    assert job.followup is True


def test_app_defers_a_button_as_an_update_when_the_downstream_is_slow(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id=f"gw:s:{n}", occurred_at=f"2026-11-20T09:{n:02d}:00.000Z") for n in range(15)])
    app, _ = make(table, ports)
    older = app.handle(fx.command("logs", "search"))["data"]["components"][0]["components"][1]["custom_id"]
    slow = SlowReader(table)
    ports.reader = slow
    app, invoker = make(table, ports, defer_after=0.05)
    try:
        answer = app.handle(fx.click(older))
    finally:
        slow.release.set()

    assert answer == {"type": p.DEFERRED_UPDATE_MESSAGE}
    assert invoker.jobs[0].followup is True


def test_app_answers_a_button_by_updating_its_message_when_clicked(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id=f"gw:s:{n}", occurred_at=f"2026-11-20T09:{n:02d}:00.000Z") for n in range(15)])
    app, _ = make(table, ports)
    older = app.handle(fx.command("logs", "search"))["data"]["components"][0]["components"][1]["custom_id"]

    answer = app.handle(fx.click(older))

    assert answer["type"] == p.UPDATE_MESSAGE
    assert "page 2" in content(answer)
    assert "flags" not in answer["data"]


def test_app_says_so_when_it_cannot_start_the_worker_for_a_deferred_command(table: MemoryTable, ports: Ports) -> None:
    app, _ = make(table, ports, invoker=RecordingInvoker(fail=True))

    answer = app.handle(fx.command("stats", options={"period": "30d"}))

    assert answer["type"] == p.CHANNEL_MESSAGE_WITH_SOURCE
    assert content(answer) == NO_WORKER


def test_app_still_answers_when_handing_over_for_logging_fails(table: MemoryTable, ports: Ports) -> None:
    app, _ = make(table, ports, invoker=RecordingInvoker(fail=True))

    answer = app.handle(fx.command("logs", "status"))

    assert "**Relay**" in content(answer)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(fx.command("logs", "nothing"), id="unknown-subcommand"),
        pytest.param(fx.command("cardsearch", options={"cardname": "x"}), id="unknown-command"),
    ],
)
def test_app_answers_an_ephemeral_note_when_the_command_is_unknown(
    table: MemoryTable, ports: Ports, payload: dict[str, Any]
) -> None:
    app, invoker = make(table, ports)

    answer = app.handle(payload)

    assert content(answer) == UNKNOWN_COMMAND
    assert answer["data"]["flags"] == p.EPHEMERAL
    assert len(invoker.jobs) == 1  # still logged


def test_app_answers_the_members_mistake_when_an_option_is_bad(table: MemoryTable, ports: Ports) -> None:
    app, _ = make(table, ports)

    answer = app.handle(fx.command("logs", "search", options={"since": "last tuesday"}))

    assert "`since` takes" in content(answer)


def test_app_says_storage_is_down_when_reads_fail(table: MemoryTable, ports: Ports) -> None:
    app, _ = make(table, ports)
    table.fail_reads = True

    assert "not answering" in content(app.handle(fx.command("logs", "status")))


def test_app_refuses_commands_outside_servers_when_sent_from_a_dm(table: MemoryTable, ports: Ports) -> None:
    app, invoker = make(table, ports)

    assert "servers only" in content(app.handle(fx.command("logs", "status", guild_id=None)))
    assert invoker.jobs == []


def test_app_answers_no_choices_when_discord_asks_for_autocomplete(table: MemoryTable, ports: Ports) -> None:
    app, _ = make(table, ports)

    answer = app.handle({"type": p.APPLICATION_COMMAND_AUTOCOMPLETE, "data": {"name": "logs"}})

    assert answer == {"type": p.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"type": 9}, id="unknown-type"),
        pytest.param({"type": p.APPLICATION_COMMAND}, id="no-id"),
        pytest.param({**fx.command("logs", "status"), "id": "not-a-snowflake"}, id="bad-id"),
        pytest.param({**fx.command("logs", "status"), "data": {"options": []}}, id="no-name"),
    ],
)
def test_app_refuses_as_malformed_when_the_interaction_cannot_be_read(
    table: MemoryTable, ports: Ports, payload: dict[str, Any]
) -> None:
    app, _ = make(table, ports)

    with pytest.raises(MalformedRequestError):
        app.handle(payload)
