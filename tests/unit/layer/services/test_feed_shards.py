"""guildlog.services.feed_shards: a guild's shard plan, the shard of an event, and when to raise it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guildlog.errors import ConfigurationError
from guildlog.services import feed_shards
from guildlog.services.feed_shards import LEAD, MAX_SHARDS, Epoch, ShardPlan
from guildlog.services.timefmt import iso

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BEFORE, CHANGE, AFTER = "2026-11-20T11:00:00.000Z", "2026-11-20T12:00:00.000Z", "2026-11-20T13:00:00.000Z"


def test_plan_reads_back_its_own_text_when_stored() -> None:
    plan = ShardPlan((Epoch(CHANGE, 4), Epoch(AFTER, 8)))

    assert ShardPlan.parse(plan.text()) == plan


@pytest.mark.parametrize(
    "text", ["2026-11-20T12:00:00Z", "yesterday=4", f"{CHANGE}=0", f"{CHANGE}=x", f"{AFTER}=2;{CHANGE}=4"]
)
def test_plan_parse_raises_configuration_error_when_the_text_is_not_a_plan(text: str) -> None:
    with pytest.raises(ConfigurationError):
        ShardPlan.parse(text)


def test_plan_has_one_shard_when_nothing_is_stored() -> None:
    assert ShardPlan.parse("").shards_at(AFTER) == 1


def test_shard_of_is_zero_when_the_event_is_before_the_first_epoch() -> None:
    plan = ShardPlan((Epoch(CHANGE, 4),))

    assert {plan.shard_of(BEFORE, f"gw:s:{n}") for n in range(50)} == {0}


def test_shard_of_spreads_events_over_every_shard_when_the_epoch_has_four() -> None:
    plan = ShardPlan((Epoch(CHANGE, 4),))

    shards = [plan.shard_of(AFTER, f"gw:s:{n}") for n in range(200)]

    assert set(shards) == {0, 1, 2, 3}
    assert shards == [plan.shard_of(AFTER, f"gw:s:{n}") for n in range(200)]  # the same every time


def test_shards_between_counts_every_epoch_the_range_touches_when_it_spans_a_change() -> None:
    plan = ShardPlan((Epoch(CHANGE, 4), Epoch(AFTER, 2)))

    assert plan.shards_between(BEFORE, "2026-11-20T11:59:59.999Z") == 1
    assert plan.shards_between(BEFORE, AFTER) == 4
    assert plan.shards_between(None, None) == 4
    assert plan.shards_between("2026-11-20T13:30:00.000Z", None) == 2


def test_with_shards_starts_after_the_lead_and_keeps_what_has_begun_when_raised() -> None:
    plan = ShardPlan((Epoch(BEFORE, 2), Epoch(iso(NOW + timedelta(minutes=1)), 4)))

    raised = plan.with_shards(8, NOW)

    assert raised.epochs == (Epoch(BEFORE, 2), Epoch(iso(NOW + LEAD), 8))


def test_with_shards_raises_configuration_error_when_the_count_is_out_of_range() -> None:
    with pytest.raises(ConfigurationError):
        ShardPlan().with_shards(MAX_SHARDS + 1, NOW)


@pytest.mark.parametrize(
    ("rate", "shards"), [(10, 1), (500, 1), (501, 2), (1_000, 2), (2_000, 4), (2_001, 8), (1e9, MAX_SHARDS)]
)
def test_shards_for_rate_gives_a_power_of_two_at_most_half_full_when_given_a_rate(rate: float, shards: int) -> None:
    assert feed_shards.shards_for_rate(rate) == shards


def test_batch_rate_is_unknown_when_the_batch_holds_few_of_the_guilds_events() -> None:
    times = [iso(NOW + timedelta(milliseconds=n)) for n in range(feed_shards.MIN_EVENTS_FOR_RATE - 1)]

    assert feed_shards.batch_rate(times) is None


def test_batch_rate_is_events_over_their_span_when_events_arrive_at_2000_a_second() -> None:
    times = [iso(NOW + timedelta(microseconds=500 * n)) for n in range(500)]

    rate = feed_shards.batch_rate(times)

    assert rate is not None and 1_900 < rate < 2_100
    assert feed_shards.shards_for_rate(rate) == 4


def test_batch_rate_reads_a_burst_over_the_shortest_window_when_events_arrive_together() -> None:
    times = [iso(NOW)] * 300

    assert feed_shards.batch_rate(times) == 299 / feed_shards.MIN_RATE_WINDOW_SECONDS
