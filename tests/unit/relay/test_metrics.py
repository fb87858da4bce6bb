"""The Prometheus text the relay serves at /metrics."""

from __future__ import annotations

from guildlog_relay.metrics import ShardStats, ShardView, render
from guildlog_relay.pipeline import RelayStats


def test_render_writes_help_type_and_labelled_samples_once_per_metric_when_shards_report() -> None:
    stats = [ShardStats(), ShardStats()]
    stats[0].events.update({"MESSAGE_CREATE": 5, "READY": 1})
    stats[0].gaps["session_expired"] = 1
    stats[1].heartbeat_latency_s = 0.0425
    views = [
        ShardView(
            i,
            s,
            RelayStats(acknowledged=3, retries=2),
            spool_batches=4,
            queue_depth=0,
            checkpoint_seq=9,
            limiter_waits=0,
        )
        for i, s in enumerate(stats)
    ]

    text = render(views)

    lines = text.splitlines()
    assert lines.count("# TYPE guildlog_relay_events_total counter") == 1
    assert 'guildlog_relay_events_total{shard="0",type="MESSAGE_CREATE"} 5' in lines
    assert 'guildlog_relay_gaps_total{shard="0",reason="session_expired"} 1' in lines
    assert 'guildlog_relay_heartbeat_latency_seconds{shard="1"} 0.0425' in lines
    assert 'guildlog_relay_spool_batches{shard="1"} 4' in lines and "guildlog_relay_up 1" in lines
    for line in lines:
        assert line.startswith("#") or line.startswith("guildlog_relay_"), line
    names = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(names) == len(set(names))
