"""services/timefmt.py: snowflake times, payload times and the fixed-width ISO strings rows carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from guildlog.services.timefmt import DISCORD_EPOCH_MS, iso, parse_time, snowflake_time, utcnow


def test_snowflake_time_reads_the_documented_example_when_given_discords_own_snowflake() -> None:
    # Discord's Reference page decodes 175928847299117063 to 2016-04-30 11:18:25.796 UTC.
    assert snowflake_time("175928847299117063") == datetime(2016, 4, 30, 11, 18, 25, 796000, tzinfo=UTC)


def test_snowflake_time_is_the_discord_epoch_when_the_timestamp_bits_are_zero() -> None:
    assert snowflake_time(4095) == datetime.fromtimestamp(DISCORD_EPOCH_MS / 1000, tz=UTC)


def test_snowflake_time_agrees_when_given_an_int_or_a_string() -> None:
    assert snowflake_time(1573125724490039337) == snowflake_time("1573125724490039337")


def test_snowflake_time_keeps_the_exact_millisecond_when_the_snowflake_is_near_the_top_of_its_range() -> None:
    ms = 999_999_999_999_999_999_999 >> 22
    assert snowflake_time("999999999999999999999").microsecond == (ms % 1000) * 1000


def test_parse_time_reads_utc_when_the_string_ends_in_z() -> None:
    assert parse_time("2026-11-19T23:59:59.981Z") == datetime(2026, 11, 19, 23, 59, 59, 981000, tzinfo=UTC)


def test_parse_time_reads_discords_microseconds_when_the_offset_is_explicit() -> None:
    assert parse_time("2026-11-19T23:41:05.120000+00:00") == datetime(2026, 11, 19, 23, 41, 5, 120000, tzinfo=UTC)


def test_parse_time_moves_to_the_previous_utc_day_when_a_local_time_is_just_after_midnight() -> None:
    parsed = parse_time("2026-11-20T00:30:00+01:00")
    assert parsed == datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_parse_time_assumes_utc_when_the_string_has_no_offset() -> None:
    assert parse_time("2026-11-20T00:00:00") == datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", 1763596800, "yesterday", "2026-13-45T00:00:00Z", ["2026-11-20"]])
def test_parse_time_returns_none_when_the_value_is_not_a_readable_time(value: object) -> None:
    assert parse_time(value) is None


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_time_returns_none_when_the_utc_time_falls_off_the_calendar(value: str) -> None:
    assert parse_time(value) is None


def test_iso_writes_milliseconds_and_z_when_given_an_aware_utc_time() -> None:
    assert iso(datetime(2026, 11, 20, 12, 34, 56, 789000, tzinfo=UTC)) == "2026-11-20T12:34:56.789Z"


def test_iso_truncates_and_stays_on_the_same_day_when_a_time_is_a_microsecond_before_midnight() -> None:
    assert iso(datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=UTC)) == "2026-11-19T23:59:59.999Z"


def test_iso_converts_to_utc_when_the_time_has_another_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 11, 20, 1, 0, 0, tzinfo=plus_two)) == "2026-11-19T23:00:00.000Z"


def test_iso_pads_the_year_to_four_digits_when_the_year_is_below_1000() -> None:
    assert iso(datetime(500, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0500-01-02T03:04:05.000Z"


def test_iso_strings_sort_as_times_do_when_compared_as_text() -> None:
    times = [
        datetime(2026, 11, 20, 0, 0, 0, 1000, tzinfo=UTC),
        datetime(2026, 11, 19, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(999, 12, 31, tzinfo=UTC),
        datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
    ]
    assert sorted(iso(t) for t in times) == [iso(t) for t in sorted(times)]


def test_utcnow_is_aware_utc_when_called() -> None:
    assert utcnow().utcoffset() == timedelta(0)
