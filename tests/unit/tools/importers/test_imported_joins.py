"""Imported joins are history: ingest never asks Discord which of today's invites they used."""

from __future__ import annotations

from datetime import UTC, datetime

from guildlog.services.directory import Directory
from guildlog.services.ingest import Ingestor
from guildlog_tools.importers import source_for
from guildlog_tools.importers.runner import run_import
from guildlog_tools.importers.sink import IngestorSink, batch_id, envelope_body
from tests.fakes.archive_stores import MemoryArchive
from tests.fakes.memory_directory import MemoryDirectoryStore, ScriptedInvites
from tests.unit.tools.importers.conftest import NOW, MemoryHotStore, own

GUILD = "800000000000000001"
INVITE = {"code": "live1", "uses": 1, "inviter": {"id": "800000000000000300"}}


def sink_with_invites(invites: ScriptedInvites) -> IngestorSink:
    directory = Directory(MemoryDirectoryStore(), invites=invites)
    return IngestorSink(Ingestor(MemoryArchive(), MemoryHotStore(), clock=lambda: NOW, directory=directory))


def test_imported_join_is_not_attributed_to_a_current_invite_when_the_stack_lists_invites() -> None:
    invites = ScriptedInvites([[INVITE]] * 5)
    run_import(source_for("daf"), own("daf/History/2024/02/03"), sink_with_invites(invites))
    assert invites.calls == 0


def test_live_join_is_still_attributed_when_the_same_sink_gets_a_gateway_join() -> None:
    invites = ScriptedInvites([[INVITE]])
    sink = sink_with_invites(invites)
    at = datetime(2024, 2, 5, 12, tzinfo=UTC).isoformat()
    event = {
        "t": "GUILD_MEMBER_ADD",
        "seq": 1,
        "session_id": "s1",
        "received_at": at,
        "source": "gateway",
        "d": {"guild_id": GUILD, "user": {"id": "800000000000000105", "username": "eve"}, "joined_at": at},
    }
    sink.send(batch_id([{"id": "gw"}]), envelope_body(batch_id([{"id": "gw"}]), [event]))
    assert invites.calls == 1
