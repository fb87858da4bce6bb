"""How long InteractionsFunction's erasure jobs wait before ForgetFunction runs them."""

from __future__ import annotations

from guildlog.adapters.erasure_requests import JOB_DELAY_SECONDS, MAX_DELAY_SECONDS, job_delay
from guildlog.handlers.interactions import _erasure
from guildlog.handlers.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(table_name="guildlog", bucket_name="archive", forget_queue_url="https://sqs/forget", **values)


def test_erasure_job_waits_out_the_archive_window_when_the_stack_batches_archive_lines() -> None:
    requests = _erasure(settings(archive_settle_seconds=360))

    assert requests.delay_seconds == JOB_DELAY_SECONDS + 360


def test_erasure_job_waits_for_the_tombstone_only_when_the_archive_writes_at_once() -> None:
    assert _erasure(settings()).delay_seconds == JOB_DELAY_SECONDS


def test_erasure_job_delay_stays_within_what_sqs_holds_when_the_window_is_long() -> None:
    assert job_delay(10_000) == MAX_DELAY_SECONDS
