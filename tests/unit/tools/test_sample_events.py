"""guildlog_tools.sample_events: the committed samples under events/ are current and each reaches its handler."""

from __future__ import annotations

import json
from datetime import date

import pytest

from guildlog.adapters.signatures import generate_keypair, raw_body, verify_request
from guildlog.errors import SignatureError
from guildlog.handlers.compact import days_to_compact
from guildlog.models.envelope import Envelope
from guildlog.models.worker_job import WorkerJob
from guildlog_tools.sample_events import samples, sign
from tests.paths import REPO


def _committed(relative: str) -> dict:
    return json.loads((REPO / "events" / relative).read_text(encoding="utf-8"))


@pytest.mark.parametrize("relative", sorted(samples()))
def test_sample_events_match_the_generator_when_committed(relative: str) -> None:
    assert _committed(relative) == samples()[relative], "run: python -m guildlog_tools.sample_events write"


@pytest.mark.parametrize("relative", ["ingest/gateway-batch.json", "interactions/ping.json"])
def test_sample_events_verify_only_when_signed_now_with_the_matching_key(relative: str) -> None:
    keys = generate_keypair()
    event = _committed(relative)
    body = raw_body(event["body"], event["isBase64Encoded"])
    with pytest.raises(SignatureError):
        verify_request(body, event["headers"], keys.public_key)

    signed = sign(event, keys.private_key)

    verify_request(body, signed["headers"], keys.public_key)


def test_sample_events_hold_a_valid_envelope_when_the_ingest_sample_is_read() -> None:
    event = _committed("ingest/gateway-batch.json")

    envelope = Envelope.model_validate_json(raw_body(event["body"], event["isBase64Encoded"]))

    assert [e.t for e in envelope.events] == ["MESSAGE_CREATE", "MESSAGE_DELETE"]


def test_sample_events_reach_their_handlers_when_worker_and_compact_samples_are_read() -> None:
    job = WorkerJob.model_validate(_committed("worker/command-logged.json"))

    assert job.interaction["data"]["name"] == "logs" and not job.followup
    assert days_to_compact(_committed("compact/scheduled.json"))[-1] == date(2026, 11, 20)
