"""The ingest path under moto: a stored GUILDLOG_HEARTBEAT becomes a RelayHeartbeats data point on stdout."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from guildlog.errors import GuildlogError
from guildlog.handlers import ingest as ingest_handler
from tests.integration.conftest import function_url_event, gzip_json
from tests.integration.test_ingest_handler import at, envelope, ingest  # noqa: F401 - `ingest` is a fixture

pytestmark = pytest.mark.integration


def heartbeat_batch(shard: int) -> dict[str, Any]:
    event = {"t": "GUILDLOG_HEARTBEAT", "source": "relay", "id": f"heartbeat-{shard}-1", "d": {"shard": [shard, 1]}}
    body = envelope([event])
    body["events"][0].pop("seq")
    return body


def run(post: Any, body: dict[str, Any], signed: bool = True) -> None:
    """One request through the handler path IngestFunction runs (verify, parse, store, metric)."""
    raw = gzip_json(body)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    headers.update(post.signer.headers(raw) if signed else {"X-Signature-Ed25519": "00" * 64})
    if not signed:
        headers["X-Signature-Timestamp"] = post.signer.headers(raw)["X-Signature-Timestamp"]
    settings, ingestor = ingest_handler.default_ingestor()
    ingest_handler.handle_gateway_events(function_url_event(raw, headers), settings, ingestor)


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
