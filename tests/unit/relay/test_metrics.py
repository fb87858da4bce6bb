"""The relay's metrics: prometheus_client's exposition of what the shards and pipelines count."""

from __future__ import annotations

from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from guildlog_relay.metrics import ShardStats, ShardView, exposition, registry
from guildlog_relay.pipeline import RelayStats

# Every metric the relay served before it moved onto prometheus_client, by name, type and labels:
# dashboards and alerts are written against these.
NAMES_BEFORE = {
    "guildlog_relay_up": ("gauge", ()),
    "guildlog_relay_shard_connected": ("gauge", ("shard",)),
    "guildlog_relay_events_total": ("counter", ("shard", "type")),
    "guildlog_relay_frames_received_total": ("counter", ("shard",)),
    "guildlog_relay_frames_sent_total": ("counter", ("shard",)),
    "guildlog_relay_connects_total": ("counter", ("shard",)),
    "guildlog_relay_connect_failures_total": ("counter", ("shard",)),
    "guildlog_relay_identifies_total": ("counter", ("shard",)),
    "guildlog_relay_resumes_total": ("counter", ("shard",)),
    "guildlog_relay_zombies_total": ("counter", ("shard",)),
    "guildlog_relay_invalid_sessions_total": ("counter", ("shard",)),
    "guildlog_relay_disconnects_total": ("counter", ("shard", "code")),
    "guildlog_relay_gaps_total": ("counter", ("shard", "reason")),
    "guildlog_relay_repeats_skipped_total": ("counter", ("shard",)),
    "guildlog_relay_heartbeat_latency_seconds": ("gauge", ("shard",)),
    "guildlog_relay_seq": ("gauge", ("shard",)),
    "guildlog_relay_checkpoint_seq": ("gauge", ("shard",)),
    "guildlog_relay_queue_depth": ("gauge", ("shard",)),
    "guildlog_relay_held_events": ("gauge", ("shard",)),
    "guildlog_relay_spool_batches": ("gauge", ("shard",)),
    "guildlog_relay_batches_total": ("counter", ("shard",)),
    "guildlog_relay_batches_acknowledged_total": ("counter", ("shard",)),
    "guildlog_relay_batches_split_total": ("counter", ("shard",)),
    "guildlog_relay_batches_rejected_total": ("counter", ("shard",)),
    "guildlog_relay_post_retries_total": ("counter", ("shard",)),
    "guildlog_relay_events_accepted_total": ("counter", ("shard",)),
    "guildlog_relay_events_duplicate_total": ("counter", ("shard",)),
    "guildlog_relay_events_quarantined_total": ("counter", ("shard",)),
    "guildlog_relay_send_limiter_waits_total": ("counter", ("shard",)),
}


def _views() -> list[ShardView]:
    stats = [ShardStats(), ShardStats()]
    stats[0].events.update({"MESSAGE_CREATE": 5, "READY": 1})
    stats[0].gaps["session_expired"] = 1
    stats[0].disconnects["4000"] = 2
    stats[1].heartbeat_latency_s = 0.0425
    stats[1].connected = True
    return [
        ShardView(
            i,
            s,
            RelayStats(acknowledged=3, retries=2),
            spool_batches=4,
            queue_depth=0,
            checkpoint_seq=9,
            limiter_waits=0,
            held_events=i * 7,
        )
        for i, s in enumerate(stats)
    ]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_exposition_keeps_every_name_type_and_label_when_every_metric_has_a_sample() -> None:
    views = _views()
    text = generate_latest(registry(lambda: views)).decode()

    families = {
        (f.name + "_total" if f.type == "counter" else f.name): (f.type, f)
        for f in text_string_to_metric_families(text)
    }

    assert set(NAMES_BEFORE) <= set(families)
    assert set(families) - set(NAMES_BEFORE) == {"guildlog_relay_member_requests_total"}  # added since
    for name, (kind, labels) in NAMES_BEFORE.items():
        family_kind, family = families[name]
        assert family_kind == kind, name
        assert {frozenset(s.labels) for s in family.samples} == {frozenset(labels)}, name
        assert {s.name for s in family.samples} == {name}, name


def test_metrics_exposition_gives_each_shards_values_when_two_shards_report() -> None:
    views = _views()

    samples = _samples(generate_latest(registry(lambda: views)).decode())

    assert samples[("guildlog_relay_events_total", (("shard", "0"), ("type", "MESSAGE_CREATE")))] == 5
    assert samples[("guildlog_relay_gaps_total", (("reason", "session_expired"), ("shard", "0")))] == 1
    assert samples[("guildlog_relay_disconnects_total", (("code", "4000"), ("shard", "0")))] == 2
    assert samples[("guildlog_relay_heartbeat_latency_seconds", (("shard", "1"),))] == 0.0425
    assert ("guildlog_relay_heartbeat_latency_seconds", (("shard", "0"),)) not in samples  # no ACK yet
    assert samples[("guildlog_relay_shard_connected", (("shard", "1"),))] == 1
    assert samples[("guildlog_relay_shard_connected", (("shard", "0"),))] == 0
    assert samples[("guildlog_relay_spool_batches", (("shard", "1"),))] == 4
    assert samples[("guildlog_relay_held_events", (("shard", "1"),))] == 7
    assert samples[("guildlog_relay_up", ())] == 1


def test_metrics_exposition_reads_the_counters_anew_when_scraped_again() -> None:
    views = _views()
    relay = registry(lambda: views)
    before = _samples(generate_latest(relay).decode())

    views[0].stats.events["MESSAGE_CREATE"] += 7
    after = _samples(generate_latest(relay).decode())

    key = ("guildlog_relay_events_total", (("shard", "0"), ("type", "MESSAGE_CREATE")))
    assert (before[key], after[key]) == (5, 12)


def test_metrics_exposition_answers_openmetrics_when_the_scraper_asks_for_it() -> None:
    views = _views()

    body, content_type = exposition(registry(lambda: views), "application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    names = {f.name for f in parse_openmetrics(body.decode())}
    assert "guildlog_relay_events" in names and "guildlog_relay_up" in names


def test_metrics_exposition_answers_prometheus_text_when_the_scraper_names_no_format() -> None:
    body, content_type = exposition(registry(list), None)

    assert content_type.startswith("text/plain; version=0.0.4")
    assert _samples(body.decode()) == {("guildlog_relay_up", ()): 1}
