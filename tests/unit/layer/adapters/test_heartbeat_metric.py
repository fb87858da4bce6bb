"""guildlog.adapters.heartbeat_metric: GUILDLOG_HEARTBEAT events as RelayHeartbeats EMF data points."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.adapters.heartbeat_metric import METRIC_NAME, record_heartbeats
from guildlog.models.envelope import Envelope

NOW = datetime(2026, 11, 20, 12, 30, 45, tzinfo=UTC)
ENABLED: dict[str, str] = {}


def heartbeat(shard: int, at: datetime, n: int = 0) -> dict[str, Any]:
    return {
        "t": "GUILDLOG_HEARTBEAT",
        "source": "relay",
        "id": f"heartbeat-{shard}-{int(at.timestamp() * 1000)}-{n}",
        "received_at": at.isoformat(),
        "shard": [shard, 2],
        "d": {"shard": [shard, 2]},
    }


def envelope(*events: dict[str, Any]) -> Envelope:
    return Envelope.model_validate({"v": 1, "batch_id": "b-1", "relay": {"shard": [0, 2]}, "events": list(events)})


def emitted(batch: Envelope, environ: dict[str, str] | None = None, now: datetime = NOW) -> list[dict[str, Any]]:
    lines: list[str] = []
    record_heartbeats(batch, write=lines.append, now=now, environ=ENABLED if environ is None else environ)
    return [json.loads(line) for line in lines]


def test_record_heartbeats_writes_one_point_per_shard_and_minute_when_a_batch_holds_heartbeats() -> None:
    batch = envelope(
        heartbeat(0, NOW - timedelta(seconds=30)),
        heartbeat(0, NOW - timedelta(seconds=20), n=1),
        heartbeat(1, NOW - timedelta(seconds=30)),
    )

    points = {(d["shard"], d["_aws"]["Timestamp"]): d[METRIC_NAME] for d in emitted(batch)}

    minute = int(datetime(2026, 11, 20, 12, 30, tzinfo=UTC).timestamp() * 1000)
    assert points == {("0", minute): 2, ("1", minute): 1}


def test_record_heartbeats_publishes_the_sum_and_each_shard_when_writing_emf() -> None:
    [document] = emitted(envelope(heartbeat(1, NOW)))

    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "guildlog"
    assert directive["Dimensions"] == [["service"], ["service", "shard"]]
    assert directive["Metrics"] == [{"Name": "RelayHeartbeats", "Unit": "Count"}]
    assert (document["service"], document["shard"]) == ("guildlog", "1")


def test_record_heartbeats_ignores_other_events_when_a_batch_has_no_heartbeat() -> None:
    other = {"t": "MESSAGE_CREATE", "seq": 4, "received_at": NOW.isoformat(), "d": {"id": "1"}}

    assert emitted(envelope(other)) == []


def test_record_heartbeats_leaves_out_points_when_cloudwatch_would_refuse_their_time() -> None:
    batch = envelope(heartbeat(0, NOW - timedelta(days=15)), heartbeat(0, NOW + timedelta(hours=3)))

    assert emitted(batch) == []


def test_record_heartbeats_writes_nothing_when_powertools_metrics_are_disabled() -> None:
    batch = envelope(heartbeat(0, NOW))

    assert emitted(batch, environ={"POWERTOOLS_METRICS_DISABLED": "true"}) == []


def test_record_heartbeats_uses_the_configured_namespace_and_service_when_set() -> None:
    environ = {"POWERTOOLS_METRICS_NAMESPACE": "other", "POWERTOOLS_SERVICE_NAME": "logger"}

    [document] = emitted(envelope(heartbeat(0, NOW)), environ=environ)

    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "other"
    assert document["service"] == "logger"
