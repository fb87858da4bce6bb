"""`/logs export` through the command router: answered type 5 at once, then WorkerFunction's job
builds the file from the archive and edits the answer with its link."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from guildlog.models.worker_job import WorkerJob
from guildlog.services.commands import protocol as p
from guildlog.services.commands.app import InteractionApp
from guildlog.services.commands.context import Ports
from guildlog.services.commands.definitions import EXPORT_FORMATS, find_leaf
from guildlog.services.commands.export import parse_days
from guildlog.services.commands.worker import run_job
from guildlog.services.exports import FORMATS, Exporter
from tests.fakes import archive_data as data
from tests.fakes.archive_stores import MemoryArchive, MemoryExports

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
APPLICATION = "700000000000000888"
MODERATOR = {"id": data.MOD, "username": "mod", "global_name": "Mod"}


class Claims:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def claim(self, interaction_id: str, expires_at: int) -> bool:
        first = interaction_id not in self.seen
        self.seen.add(interaction_id)
        return first


class Invoker:
    def __init__(self) -> None:
        self.jobs: list[WorkerJob] = []

    def invoke(self, job: WorkerJob) -> None:
        self.jobs.append(job)


class Followups:
    def __init__(self) -> None:
        self.edits: list[tuple[str, str, dict[str, Any]]] = []

    def edit_original(self, application_id: str, token: str, body: dict[str, Any], *, deadline: datetime) -> None:
        self.edits.append((application_id, token, body))


class CommandLog:
    def __init__(self) -> None:
        self.logged: list[Any] = []

    def ingest(self, envelope: Any, raw_events: list[dict[str, Any]]) -> None:
        self.logged.append(envelope)


@pytest.fixture
def setup() -> tuple[InteractionApp, Ports, Invoker, MemoryExports]:
    archive = MemoryArchive()
    data.ingest(archive, data.export_envelopes())
    exports = MemoryExports()
    ports = Ports(
        reader=None,  # type: ignore[arg-type] - /logs export reads the archive, not the hot table
        config=None,  # type: ignore[arg-type]
        cursors=None,  # type: ignore[arg-type]
        now=lambda: NOW,
        exporter=Exporter(archive, exports, clock=lambda: NOW),
    )
    invoker = Invoker()
    return InteractionApp(ports, Claims(), invoker, clock=lambda: NOW), ports, invoker, exports


def export_interaction(*options: dict[str, Any], permissions: int = p.MANAGE_GUILD) -> dict[str, Any]:
    return {
        "id": data.snowflake("2026-11-22T09:00:00.000Z", 5),
        "application_id": APPLICATION,
        "type": p.APPLICATION_COMMAND,
        "token": "interaction-token",
        "guild_id": data.GUILD,
        "channel_id": data.GENERAL,
        "member": {"user": MODERATOR, "permissions": str(permissions)},
        "data": {
            "id": "700000000000000999",
            "name": "logs",
            "type": p.CHAT_INPUT,
            "options": [{"name": "export", "type": p.SUB_COMMAND, "options": list(options)}],
        },
    }


def option(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "type": p.STRING, "value": value}


def finish(job: WorkerJob, ports: Ports) -> tuple[Followups, dict[str, Any]]:
    followups = Followups()
    outcome = run_job(job, ports=ports, discord=followups, command_log=CommandLog(), clock=lambda: NOW)
    assert outcome.followup == "sent"
    [(application_id, token, body)] = followups.edits
    assert (application_id, token) == (APPLICATION, "interaction-token")
    return followups, body


def test_logs_export_answers_type_5_then_links_the_file_when_the_worker_finishes(
    setup: tuple[InteractionApp, Ports, Invoker, MemoryExports],
) -> None:
    app, ports, invoker, exports = setup
    payload = export_interaction(option("date", "2026-11-19..2026-11-20"), option("format", "dce"))

    answer = app.handle(payload)

    assert answer == {"type": p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": p.EPHEMERAL}}
    [job] = invoker.jobs
    assert job.followup and exports.files == {}  # nothing is built before the worker runs

    _, body = finish(job, ports)

    [(key, file)] = exports.files.items()
    assert key == f"exports/{data.GUILD}/{payload['id']}/{file.name}"
    assert f"(https://signed.example/{key}?expires=3600)" in body["content"]
    assert "2026-11-19 to 2026-11-20" in body["content"] and "5 messages" in body["content"]
    assert json.loads(file.body)["channel"]["id"] == data.GENERAL


def test_logs_export_exports_the_channel_it_was_run_in_when_none_is_given(
    setup: tuple[InteractionApp, Ports, Invoker, MemoryExports],
) -> None:
    app, ports, invoker, exports = setup

    app.handle(export_interaction(option("date", "2026-11-20")))
    finish(invoker.jobs[0], ports)

    [file] = exports.files.values()
    document = json.loads(file.body)
    assert (document["channel_id"], document["from"], document["to"]) == (data.GENERAL, "2026-11-20", "2026-11-20")


def test_logs_export_refuses_the_export_when_the_member_cannot_manage_the_server(
    setup: tuple[InteractionApp, Ports, Invoker, MemoryExports],
) -> None:
    app, ports, invoker, exports = setup

    app.handle(export_interaction(option("date", "2026-11-20"), permissions=0))
    _, body = finish(invoker.jobs[0], ports)

    assert "needs the Manage Server permission" in body["content"]
    assert exports.files == {}


def test_logs_export_explains_the_date_when_it_cannot_be_read(
    setup: tuple[InteractionApp, Ports, Invoker, MemoryExports],
) -> None:
    app, ports, invoker, exports = setup

    app.handle(export_interaction(option("date", "last week")))
    _, body = finish(invoker.jobs[0], ports)

    assert "`date` takes a day like 2026-11-20" in body["content"]
    assert exports.files == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (date(2026, 11, 22), date(2026, 11, 22))),
        ("2026-11-20", (date(2026, 11, 20), date(2026, 11, 20))),
        ("2026-11-01..2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
    ],
)
def test_parse_days_reads_a_day_or_a_range_when_given_one(text: str | None, expected: tuple[date, date]) -> None:
    assert parse_days(text, date(2026, 11, 22)) == expected


def test_logs_export_is_always_deferred_with_the_export_formats_when_registered() -> None:
    leaf = find_leaf(("logs", "export"))

    assert leaf is not None and leaf.defer({}) and not leaf.mutates
    assert EXPORT_FORMATS == FORMATS
