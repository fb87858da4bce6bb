"""RelayHeartbeats: a CloudWatch metric of the GUILDLOG_HEARTBEAT events that reach ingest.

The relay sends one heartbeat per shard every `--status-interval` (60 s by default). Ingest turns
them into data points of `RelayHeartbeats` in the Embedded Metric Format: a JSON line on stdout
that Lambda's log pipeline makes into metrics, with no client and no API call on the request path.
Each point goes under two dimension sets: `{service}`, the sum over every shard, which the
template's "no relay heartbeat" alarm watches, and `{service, shard}`, one line per shard on the
dashboard.

A point is stamped with the minute the relay sent the heartbeat (its `received_at`), so heartbeats
delivered late from the relay's spool fill in the minutes they describe; CloudWatch refuses points
more than two weeks old or two hours ahead, and those are left out. A retried batch counts its
heartbeats again: the alarm asks only whether any arrived.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.models.envelope import Envelope

HEARTBEAT_TYPE = "GUILDLOG_HEARTBEAT"
METRIC_NAME = "RelayHeartbeats"
# The template's defaults (Globals: POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME).
DEFAULT_NAMESPACE = "guildlog"
DEFAULT_SERVICE = "guildlog"
# CloudWatch's window for EMF timestamps.
MAX_AGE = timedelta(days=14)
MAX_AHEAD = timedelta(hours=2)


def heartbeat_counts(envelope: Envelope, now: datetime) -> dict[tuple[str, datetime], int]:
    """(shard, minute) → heartbeats in the batch, for heartbeats inside CloudWatch's time window."""
    counts: Counter[tuple[str, datetime]] = Counter()
    for event in envelope.events:
        if event.t != HEARTBEAT_TYPE:
            continue
        shard = event.shard or envelope.relay.shard
        at = event.received_at.astimezone(UTC)
        if not now - MAX_AGE <= at <= now + MAX_AHEAD:
            continue
        minute = at.replace(second=0, microsecond=0)
        counts[(str(shard[0]) if shard else "unknown", minute)] += 1
    return dict(counts)


def emf_documents(
    counts: Mapping[tuple[str, datetime], int], namespace: str = DEFAULT_NAMESPACE, service: str = DEFAULT_SERVICE
) -> list[dict[str, Any]]:
    """One EMF document per (shard, minute), in shard then time order."""
    documents = []
    for (shard, minute), count in sorted(counts.items()):
        documents.append(
            {
                "_aws": {
                    "Timestamp": int(minute.timestamp() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [["service"], ["service", "shard"]],
                            "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}],
                        }
                    ],
                },
                "service": service,
                "shard": shard,
                METRIC_NAME: count,
            }
        )
    return documents


def record_heartbeats(
    envelope: Envelope,
    *,
    write: Callable[[str], Any] | None = None,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Write the batch's heartbeat data points (EMF lines) to `write` (default: stdout); how many heartbeats.

    Honours Powertools' settings, read when called: POWERTOOLS_METRICS_DISABLED (the local stack
    sets it) writes nothing, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME name the metric.
    """
    env = os.environ if environ is None else environ
    if env.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() in ("1", "true", "yes", "on"):
        return 0
    counts = heartbeat_counts(envelope, now or datetime.now(UTC))
    documents = emf_documents(
        counts,
        namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
        service=env.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE,
    )
    sink = write or _stdout
    for document in documents:
        sink(json.dumps(document, separators=(",", ":")))
    return sum(counts.values())


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
