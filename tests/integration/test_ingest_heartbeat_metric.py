"""The ingest path under moto: a stored GUILDLOG_HEARTBEAT becomes a RelayHeartbeats data point on stdout."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.hot_reader import HotReader
from guildlog.errors import GuildlogError
from guildlog.handlers import ingest as ingest_handler
from guildlog.services import keys
from guildlog.services.commands.message import message_history
from guildlog_relay.batcher import DEFAULT_LINGER_MS, Batcher, batch_id_prefix
from guildlog_relay.events import RelayEvent
from guildlog_relay.status import StatusEvents
from tests.integration.conftest import function_url_event, gzip_json
from tests.integration.test_ingest_handler import (  # noqa: F401 - `ingest` is a fixture
    BASE,
    GUILD,
    MESSAGE_ID,
    at,
    envelope,
    ingest,
    message_create,
    table_dump,
)

pytestmark = pytest.mark.integration


def heartbeat_batch(shard: int) -> dict[str, Any]:
    event = {"t": "GUILDLOG_HEARTBEAT", "source": "relay", "id": f"heartbeat-{shard}-1", "d": {"shard": [shard, 1]}}
    body = envelope([event])
    body["events"][0].pop("seq")
    return body


def run(post: Any, body: dict[str, Any] | bytes, signed: bool = True) -> ingest_handler.IngestResult:
    """One request through the handler path IngestFunction runs (verify, parse, store, metric)."""
    raw = gzip.compress(body) if isinstance(body, bytes) else gzip_json(body)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    headers.update(post.signer.headers(raw) if signed else {"X-Signature-Ed25519": "00" * 64})
    if not signed:
        headers["X-Signature-Timestamp"] = post.signer.headers(raw)["X-Signature-Timestamp"]
    settings, ingestor = ingest_handler.default_ingestor()
    return ingest_handler.handle_gateway_events(function_url_event(raw, headers), settings, ingestor)


def heartbeat_points(stdout: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [d for d in documents if "RelayHeartbeats" in d]


def test_ingest_writes_a_heartbeat_data_point_when_a_signed_batch_carries_one(ingest, capsys, monkeypatch):  # noqa: F811
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)

    run(ingest, heartbeat_batch(0))

    [point] = heartbeat_points(capsys.readouterr().out)
    assert (point["shard"], point["RelayHeartbeats"]) == ("0", 1)
    assert point["_aws"]["Timestamp"] == int(datetime.fromisoformat(at(30)).timestamp()) * 1000


def test_ingest_writes_no_heartbeat_data_point_when_the_batch_is_refused(ingest, capsys, monkeypatch):  # noqa: F811
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)

    with pytest.raises(GuildlogError):
        run(ingest, heartbeat_batch(0), signed=False)

    assert heartbeat_points(capsys.readouterr().out) == []


def test_ingest_stores_the_events_and_the_heartbeat_of_a_batch_the_lingering_relay_sealed_with_both(
    aws,
    ingest,  # noqa: F811
    capsys,
    monkeypatch,
):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    created = message_create()
    later = BASE + timedelta(minutes=30)
    typing = {"channel_id": created["d"]["channel_id"], "guild_id": GUILD, "user_id": "800000000000000100"}
    dispatches = [
        RelayEvent(t=created["t"], d=created["d"], received_at=later, seq=1, session_id="sess1"),
        RelayEvent(t="TYPING_START", d=typing, received_at=later, seq=2, session_id="sess1"),
    ]
    beats = StatusEvents((0, 1))
    batcher = Batcher(linger_ms=DEFAULT_LINGER_MS)
    for offset, dispatch in zip((0, 20), dispatches, strict=True):
        assert batcher.add(dispatch, now=offset) == []
        beat = beats.heartbeat(later + timedelta(seconds=offset + 10), {"connected": True})
        assert batcher.add(beat, now=offset + 10) == []
    batch = batcher.due(DEFAULT_LINGER_MS / 1000)
    assert batch is not None and batch.gateway and batch.batch_id.startswith(batch_id_prefix("sess1", (0, 1)))

    result = run(ingest, batch.body())

    assert (result.accepted, result.quarantined) == (4, 0)
    assert message_history(HotReader(aws["table"], aws["dynamodb"]), MESSAGE_ID, GUILD)
    contacts = [i for i in table_dump(aws) if i["PK"]["S"] == keys.relay_pk(0) and i["kind"]["S"] == "relay_contact"]
    assert sorted(i["occurred_at"]["S"] for i in contacts) == [
        (later + timedelta(seconds=s)).isoformat(timespec="milliseconds").replace("+00:00", "Z") for s in (10, 30)
    ]
    points = heartbeat_points(capsys.readouterr().out)
    assert sum(p["RelayHeartbeats"] for p in points) == 2 and {p["shard"] for p in points} == {"0"}


def test_ingest_keeps_a_heartbeat_as_its_relay_contact_alone_when_the_batch_is_sent_twice(aws, ingest):  # noqa: F811
    first = run(ingest, heartbeat_batch(0))
    again = run(ingest, heartbeat_batch(0))

    assert (first.accepted, again.accepted) == (1, 1)  # a contact is rewritten in place: no duplicate check
    items = table_dump(aws)
    contacts = [i for i in items if i["PK"]["S"] == keys.relay_pk(0) and i["kind"]["S"] == "relay_contact"]
    assert len(contacts) == 1 and contacts[0]["action"]["S"] == "heartbeat"
    # No feed item under `G#-` (no command or page reads it); the archive keeps the heartbeat's line.
    assert not [i for i in items if i["PK"]["S"].startswith(keys.guild_pk(None))]
