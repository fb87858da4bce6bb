"""guildlog.services.partition: S3 keys of the archive, by dataset, UTC day and batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from guildlog.models.envelope import Envelope
from guildlog.services.partition import DATASETS, object_key, partition_day, partition_prefix


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("raw", "raw/year=2026/month=03/day=07/batch-1.jsonl.gz"),
        ("events", "events/year=2026/month=03/day=07/batch-1.jsonl.gz"),
        ("events_csv", "events_csv/year=2026/month=03/day=07/batch-1.csv.gz"),
        ("quarantine", "quarantine/year=2026/month=03/day=07/batch-1.jsonl.gz"),
    ],
)
def test_object_key_zero_pads_month_and_day_when_they_are_single_digits(dataset: str, expected: str) -> None:
    assert object_key(dataset, date(2026, 3, 7), "batch-1") == expected


def test_partition_prefix_pads_the_year_to_four_digits_when_year_is_small() -> None:
    assert partition_prefix("raw", date(999, 12, 31)) == "raw/year=0999/month=12/day=31/"


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("2026-03-07T23:59:59.999Z", date(2026, 3, 7)),
        ("2026-03-08T00:00:00.000Z", date(2026, 3, 8)),
        ("2025-12-31T23:59:59.999Z", date(2025, 12, 31)),
        ("2026-01-01T00:00:00.000Z", date(2026, 1, 1)),
        ("2024-02-29T12:00:00.000Z", date(2024, 2, 29)),
    ],
)
def test_partition_day_is_the_utc_date_when_given_a_row_time(occurred_at: str, expected: date) -> None:
    assert partition_day(occurred_at) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 3, 7, 23, 59, 59, 999_000, tzinfo=UTC), date(2026, 3, 7)),
        (datetime(2026, 3, 8, 0, 0, 0, tzinfo=UTC), date(2026, 3, 8)),
    ],
)
def test_partition_day_splits_at_utc_midnight_when_given_a_datetime(moment: datetime, expected: date) -> None:
    assert partition_day(moment) == expected


def test_partition_day_converts_to_utc_when_datetime_has_another_offset() -> None:
    # 20:30 in New York on the 7th is 01:30 UTC on the 8th.
    moment = datetime(2026, 3, 7, 20, 30, tzinfo=timezone(timedelta(hours=-5)))

    assert partition_day(moment) == date(2026, 3, 8)


def test_partition_day_treats_naive_datetime_as_utc_when_no_offset_is_given() -> None:
    assert partition_day(datetime(2026, 3, 7, 23, 59)) == date(2026, 3, 7)


@pytest.mark.parametrize(
    "batch_id",
    [
        pytest.param("../x", id="parent-traversal"),
        pytest.param("a/b", id="slash"),
        pytest.param("", id="empty"),
        pytest.param("a" * 129, id="129-chars"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("-rf", id="leading-dash"),
        pytest.param("a b", id="space"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("batch\n", id="trailing-newline"),
        pytest.param("bätch", id="non-ascii"),
    ],
)
def test_object_key_raises_value_error_when_batch_id_is_unsafe(batch_id: str) -> None:
    with pytest.raises(ValueError, match="batch_id"):
        object_key("raw", date(2026, 3, 7), batch_id)


@pytest.mark.parametrize("batch_id", ["a", "a" * 128, "2026-03-07T12.00.00_shard-0.17", "B_1", "a..b"])
def test_object_key_accepts_batch_id_when_the_envelope_accepts_it(batch_id: str) -> None:
    # Without `/` and with an alphanumeric first character no `..` segment can form, and a batch
    # the envelope accepts but the archive refused would fail with a 5xx on every retry.
    Envelope(v=1, batch_id=batch_id, events=[])

    assert object_key("raw", date(2026, 3, 7), batch_id).endswith(f"/{batch_id}.jsonl.gz")


@pytest.mark.parametrize("dataset", ["unknown", "RAW", "raw/", ""])
def test_partition_prefix_raises_value_error_when_dataset_is_unknown(dataset: str) -> None:
    with pytest.raises(ValueError, match="dataset"):
        partition_prefix(dataset, date(2026, 3, 7))


def test_object_key_raises_value_error_when_dataset_is_unknown() -> None:
    with pytest.raises(ValueError, match="dataset"):
        object_key("logs", date(2026, 3, 7), "batch-1")


def test_datasets_are_the_four_documented_prefixes_when_listed() -> None:
    assert set(DATASETS) == {"raw", "events", "events_csv", "quarantine"}
