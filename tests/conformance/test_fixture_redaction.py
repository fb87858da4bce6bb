"""Secrets out of the raw archive, on payloads nobody on this project wrote (../shared/fixtures):
the interaction and voice tokens are replaced and named, every other byte of the line is as received."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guildlog.models.config import GuildConfig
from guildlog.models.envelope import Envelope, RawArchiveLine
from guildlog.services.event_ids import event_id
from guildlog.services.ingest import Ingestor
from guildlog.services.redaction import REDACTED
from tests.conformance.conftest import load_json, skip_module_without_fixtures
from tests.fakes.archive_stores import MemoryArchive

skip_module_without_fixtures()

pytestmark = pytest.mark.conformance

ACCORD_INTERACTIONS = Path("accord-jl/test/integration/fixtures/gateway_interaction_create.json")
KORD_INTERACTIONS = Path("kord/common/src/commonTest/resources/json/interaction")
VOICE_SERVER = Path(
    "discord-api-docs/developers/events/gateway-events.mdx.examples/15-example-voice-server-update-payload.json"
)
RECEIVED = "2026-02-27T21:09:30.000Z"


class NoHotStore:
    """Ingest's hot port with nothing stored: these tests read the raw archive only."""

    def put_items(self, items: list[dict[str, Any]]) -> int:
        return 1

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, GuildConfig]:
        return {}


def payloads() -> list[tuple[str, str, dict[str, Any]]]:
    found = [(f"accord[{i}]", f["t"], f["d"]) for i, f in enumerate(load_json(ACCORD_INTERACTIONS))]
    found += [
        (f"kord/{name}", "INTERACTION_CREATE", load_json(KORD_INTERACTIONS / name))
        for name in ("rootcommand.json", "groupsubcommand.json")
    ]
    found.append(("docs/voice-server-update", "VOICE_SERVER_UPDATE", load_json(VOICE_SERVER)))
    return found


def archived(t: str, d: dict[str, Any]) -> tuple[str, str]:
    """(the raw line ingest wrote, the line it would have written with nothing redacted)."""
    body = {
        "v": 1,
        "batch_id": "conformance",
        "relay": {"session_id": "s"},
        "events": [{"t": t, "seq": 1, "received_at": RECEIVED, "session_id": "s", "d": d}],
    }
    envelope = Envelope.model_validate(body)
    archive = MemoryArchive()
    Ingestor(archive, NoHotStore()).ingest(envelope, body["events"])
    [text] = [v for k, v in archive.objects.items() if k.startswith("raw/")]
    eid = event_id(envelope.events[0], envelope)
    unredacted = RawArchiveLine(event_id=eid, batch_id="conformance", relay=envelope.relay, event=body["events"][0])
    return text.rstrip("\n"), unredacted.line()


@pytest.mark.parametrize(("name", "t", "d"), payloads(), ids=[p[0] for p in payloads()])
def test_raw_line_names_and_replaces_the_token_when_a_dispatch_carries_one(
    name: str, t: str, d: dict[str, Any]
) -> None:
    line, _ = archived(t, d)
    stored = json.loads(line)
    assert stored["event"]["d"]["token"] == REDACTED
    assert stored["redacted"] == ["d.token"]
    assert d["token"] not in line


@pytest.mark.parametrize(("name", "t", "d"), payloads(), ids=[p[0] for p in payloads()])
def test_raw_line_keeps_every_other_byte_when_a_token_is_redacted(name: str, t: str, d: dict[str, Any]) -> None:
    line, unredacted = archived(t, d)
    token = '"token":' + json.dumps(d["token"], ensure_ascii=False)
    assert unredacted.count(token) == 1
    expected = unredacted.replace(token, '"token":"' + REDACTED + '"')[:-1] + ',"redacted":["d.token"]}'
    assert line == expected
