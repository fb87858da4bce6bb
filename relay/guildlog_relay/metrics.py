"""What the live relay counts, and its exposition at `/metrics` through prometheus_client.

Each shard's gateway session keeps a `ShardStats` (plain counters, updated in the event loop);
the pipeline keeps its `RelayStats`. Nothing is computed until a scrape asks: `RelayCollector`
reads them, and prometheus_client writes the exposition format (text 0.0.4 or OpenMetrics).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from guildlog_relay.pipeline import RelayStats


@dataclass
class ShardStats:
    """Counters and gauges of one shard's gateway session."""

    events: Counter[str] = field(default_factory=Counter)  # dispatches received, by type
    frames_received: int = 0
    frames_sent: int = 0
    connects: int = 0
    connect_failures: int = 0
    identifies: int = 0
    resumes: int = 0  # RESUMED received
    reconnects: int = 0
    zombies: int = 0
    invalid_sessions: int = 0
    repeats_skipped: int = 0  # dispatches at or below the seq already held
    member_requests: int = 0  # Request Guild Members (op 8) sent
    disconnects: Counter[str] = field(default_factory=Counter)  # by close code ("none" without one)
    gaps: Counter[str] = field(default_factory=Counter)  # by reason
    heartbeat_latency_s: float | None = None
    connected: bool = False  # a session is established on an open connection
    seq: int = 0
    session_id: str | None = None


@dataclass
class ShardView:
    """What a scrape reads for one shard."""

    shard_id: int
    stats: ShardStats
    pipeline: RelayStats
    spool_batches: int
    queue_depth: int
    checkpoint_seq: int
    limiter_waits: int
    held_events: int = 0  # in the batch being filled: waiting for --flush-ms or --linger-ms


_METRICS: dict[str, tuple[str, str]] = {
    "guildlog_relay_up": ("gauge", "1 while the relay process runs"),
    "guildlog_relay_shard_connected": ("gauge", "1 when the shard has a session on an open connection"),
    "guildlog_relay_events_total": ("counter", "Dispatch events received from Discord, by type"),
    "guildlog_relay_frames_received_total": ("counter", "Gateway payloads received"),
    "guildlog_relay_frames_sent_total": ("counter", "Gateway payloads sent (heartbeats, identify, resume)"),
    "guildlog_relay_connects_total": ("counter", "Websocket connections opened"),
    "guildlog_relay_connect_failures_total": ("counter", "Websocket connections that could not be opened"),
    "guildlog_relay_identifies_total": ("counter", "IDENTIFY sent (new sessions)"),
    "guildlog_relay_resumes_total": ("counter", "Sessions resumed (RESUMED received)"),
    "guildlog_relay_zombies_total": ("counter", "Connections closed because a heartbeat was not acknowledged"),
    "guildlog_relay_invalid_sessions_total": ("counter", "INVALID_SESSION (op 9) received"),
    "guildlog_relay_disconnects_total": ("counter", "Connections ended, by close code"),
    "guildlog_relay_gaps_total": ("counter", "Gap records sent, by reason"),
    "guildlog_relay_repeats_skipped_total": ("counter", "Dispatches skipped because their seq was already held"),
    "guildlog_relay_heartbeat_latency_seconds": ("gauge", "Time from the last heartbeat to its ACK"),
    "guildlog_relay_seq": ("gauge", "Last sequence number received"),
    "guildlog_relay_checkpoint_seq": ("gauge", "Sequence number acknowledged by the webhook and checkpointed"),
    "guildlog_relay_queue_depth": ("gauge", "Events waiting between the gateway reader and the pipeline"),
    "guildlog_relay_held_events": ("gauge", "Events in the batch being filled, waiting for its flush or linger"),
    "guildlog_relay_spool_batches": ("gauge", "Batches on disk waiting for the webhook"),
    "guildlog_relay_batches_total": ("counter", "Batches sealed and spooled"),
    "guildlog_relay_batches_acknowledged_total": ("counter", "Batches the webhook acknowledged"),
    "guildlog_relay_batches_split_total": ("counter", "Batches split after a 413"),
    "guildlog_relay_batches_rejected_total": ("counter", "Batches moved to rejected/"),
    "guildlog_relay_post_retries_total": ("counter", "Webhook POSTs retried"),
    "guildlog_relay_events_accepted_total": ("counter", "Events the webhook accepted as new"),
    "guildlog_relay_events_duplicate_total": ("counter", "Events the webhook already had"),
    "guildlog_relay_events_quarantined_total": ("counter", "Events the webhook quarantined"),
    "guildlog_relay_send_limiter_waits_total": ("counter", "Frames that waited for the send limiter"),
    "guildlog_relay_member_requests_total": ("counter", "Request Guild Members (op 8) sent for guilds listed in part"),
}
# Every metric is labelled by shard, except these.
_LABELS: dict[str, tuple[str, ...]] = {
    "guildlog_relay_up": (),
    "guildlog_relay_events_total": ("shard", "type"),
    "guildlog_relay_disconnects_total": ("shard", "code"),
    "guildlog_relay_gaps_total": ("shard", "reason"),
}


def _samples(view: ShardView) -> Iterable[tuple[str, dict[str, str], float]]:
    shard = {"shard": str(view.shard_id)}
    s, p = view.stats, view.pipeline
    yield "guildlog_relay_shard_connected", shard, int(s.connected)
    for event_type, n in sorted(s.events.items()):
        yield "guildlog_relay_events_total", {**shard, "type": event_type}, n
    yield "guildlog_relay_frames_received_total", shard, s.frames_received
    yield "guildlog_relay_frames_sent_total", shard, s.frames_sent
    yield "guildlog_relay_connects_total", shard, s.connects
    yield "guildlog_relay_connect_failures_total", shard, s.connect_failures
    yield "guildlog_relay_identifies_total", shard, s.identifies
    yield "guildlog_relay_resumes_total", shard, s.resumes
    yield "guildlog_relay_zombies_total", shard, s.zombies
    yield "guildlog_relay_invalid_sessions_total", shard, s.invalid_sessions
    for code, n in sorted(s.disconnects.items()):
        yield "guildlog_relay_disconnects_total", {**shard, "code": code}, n
    for reason, n in sorted(s.gaps.items()):
        yield "guildlog_relay_gaps_total", {**shard, "reason": reason}, n
    yield "guildlog_relay_repeats_skipped_total", shard, s.repeats_skipped
    if s.heartbeat_latency_s is not None:
        yield "guildlog_relay_heartbeat_latency_seconds", shard, round(s.heartbeat_latency_s, 6)
    yield "guildlog_relay_seq", shard, s.seq
    yield "guildlog_relay_checkpoint_seq", shard, view.checkpoint_seq
    yield "guildlog_relay_queue_depth", shard, view.queue_depth
    yield "guildlog_relay_held_events", shard, view.held_events
    yield "guildlog_relay_spool_batches", shard, view.spool_batches
    yield "guildlog_relay_batches_total", shard, p.batches
    yield "guildlog_relay_batches_acknowledged_total", shard, p.acknowledged
    yield "guildlog_relay_batches_split_total", shard, p.splits
    yield "guildlog_relay_batches_rejected_total", shard, p.rejected_batches
    yield "guildlog_relay_post_retries_total", shard, p.retries
    yield "guildlog_relay_events_accepted_total", shard, p.accepted
    yield "guildlog_relay_events_duplicate_total", shard, p.duplicates
    yield "guildlog_relay_events_quarantined_total", shard, p.quarantined
    yield "guildlog_relay_send_limiter_waits_total", shard, view.limiter_waits
    yield "guildlog_relay_member_requests_total", shard, s.member_requests


class RelayCollector:
    """A prometheus_client collector over the shards' stats: the relay's counters stay plain fields
    updated in the event loop (the gateway session and the pipeline own them), and a scrape reads
    them, so prometheus_client only names, types and writes them."""

    def __init__(self, views: Callable[[], Iterable[ShardView]]) -> None:
        self.views = views

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        for name, (kind, text) in _METRICS.items():
            labels = _LABELS.get(name, ("shard",))
            if kind == "counter":
                families[name] = CounterMetricFamily(name, text, labels=labels)
            else:
                families[name] = GaugeMetricFamily(name, text, labels=labels)
        families["guildlog_relay_up"].add_metric([], 1)
        for view in self.views():
            for name, sample_labels, value in _samples(view):
                families[name].add_metric(list(sample_labels.values()), value)
        yield from (f for f in families.values() if f.samples)


def registry(views: Callable[[], Iterable[ShardView]]) -> CollectorRegistry:
    """A registry of its own holding the relay's metrics (not the process-wide default one, so two
    relays in one process, as in the tests, never share or collide)."""
    relay = CollectorRegistry(auto_describe=False)
    relay.register(RelayCollector(views))
    return relay


def exposition(registry: CollectorRegistry, accept: str | None = None) -> tuple[bytes, str]:
    """(body, content type) of a scrape: Prometheus text 0.0.4, or OpenMetrics when `accept` asks for it."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
