from __future__ import annotations

import gzip
import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from guildlog.adapters.signatures import verify_request
from guildlog_relay.poster import Outcome, Poster, Response, RetryPolicy, TransportError

BODY = b'{"v":1,"batch_id":"b1","relay":{},"events":[]}'


@pytest.mark.parametrize(
    ("answers", "outcome", "calls"),
    [
        pytest.param([200], Outcome.ACCEPTED, 1, id="200"),
        pytest.param([500, 200], Outcome.ACCEPTED, 2, id="500-then-200"),
        pytest.param([502, 503, 504, 200], Outcome.ACCEPTED, 4, id="5xx-then-200"),
        pytest.param([408, 200], Outcome.ACCEPTED, 2, id="408-then-200"),
        pytest.param([429, 200], Outcome.ACCEPTED, 2, id="429-then-200"),
        pytest.param([TransportError("timed out"), 200], Outcome.ACCEPTED, 2, id="timeout-then-200"),
        pytest.param([TransportError("refused"), 500, 200], Outcome.ACCEPTED, 3, id="refused-500-then-200"),
        pytest.param([413], Outcome.TOO_LARGE, 1, id="413-not-retried"),
        pytest.param([400], Outcome.REJECTED, 1, id="400-not-retried"),
        pytest.param([401], Outcome.REJECTED, 1, id="401-not-retried"),
        pytest.param([500, 401], Outcome.REJECTED, 2, id="500-then-401"),
        pytest.param([404], Outcome.REFUSED, 1, id="404-not-retried"),
        pytest.param([302], Outcome.REFUSED, 1, id="redirect-not-followed"),
        pytest.param([503] * 4, Outcome.UNAVAILABLE, 4, id="503-until-retries-run-out"),
        pytest.param([TransportError("refused")] * 4, Outcome.UNAVAILABLE, 4, id="down-until-retries-run-out"),
    ],
)
def test_poster_outcome_follows_retry_policy_when_webhook_answers(make_poster, transport, answers, outcome, calls):
    transport.script = list(answers)

    result = make_poster(max_retries=3).post("b1", BODY)

    assert result.outcome is outcome
    assert len(transport.calls) == calls
    assert result.retries == calls - 1


def test_poster_sends_same_bytes_with_fresh_valid_signatures_when_retrying(make_poster, transport, keypair):
    transport.script = [500, TransportError("reset"), 503, 200]

    make_poster().post("b1", BODY)

    bodies = {c["body"] for c in transport.calls}
    assert len(bodies) == 1
    for call in transport.calls:
        verify_request(call["body"], call["headers"], keypair.public_key)
        assert call["envelope"]["batch_id"] == "b1"


def test_poster_sends_gzip_of_the_body_when_compressing(make_poster, transport):
    make_poster().post("b1", BODY)

    (call,) = transport.calls
    assert call["headers"]["Content-Encoding"] == "gzip"
    assert call["headers"]["Content-Type"] == "application/json"
    assert gzip.decompress(call["body"]) == BODY


def test_poster_returns_webhook_counts_when_accepted(make_poster, transport):
    transport.script = [Response(200, {}, b'{"batch_id":"b1","accepted":3,"duplicates":1,"quarantined":0}')]

    result = make_poster().post("b1", BODY)

    assert result.answer == {"batch_id": "b1", "accepted": 3, "duplicates": 1, "quarantined": 0}


def test_poster_reports_the_webhook_error_text_when_rejected(make_poster, transport):
    transport.script = [Response(401, {}, b'{"error":"signature does not verify"}')]

    result = make_poster().post("b1", BODY)

    assert result.status == 401 and result.detail == "signature does not verify"


def test_poster_waits_retry_after_seconds_when_429_says_so(make_poster, transport, sleeps):
    transport.script = [Response(429, {"Retry-After": "7"}, b""), 200]

    make_poster().post("b1", BODY)

    assert sleeps == [7.0]


def test_poster_waits_until_retry_after_date_when_503_gives_one(make_poster, transport, sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    transport.script = [Response(503, {"retry-after": when}, b""), 200]

    make_poster().post("b1", BODY)

    assert 100 < sleeps[0] <= 120


def test_poster_caps_retry_after_when_webhook_asks_for_too_long(make_poster, transport, sleeps):
    transport.script = [Response(429, {"Retry-After": "86400"}, b""), 200]

    make_poster(max_retry_after=30.0).post("b1", BODY)

    assert sleeps == [30.0]


class _Extreme(random.Random):
    """random() at one end of its range, to see the bounds of full jitter."""

    def __init__(self, upper: bool) -> None:
        super().__init__()
        self.upper = upper

    def random(self) -> float:
        return 1.0 if self.upper else 0.0


@pytest.mark.parametrize(("upper", "expected"), [(True, [1.0, 2.0, 4.0, 4.0, 4.0]), (False, [0.0] * 5)])
def test_poster_backoff_is_capped_exponential_full_jitter_when_retrying(signer, transport, upper, expected):
    transport.script = [500] * 6
    slept: list[float] = []
    poster = Poster(
        "https://x/gateway/events",
        signer,
        policy=RetryPolicy(max_retries=5, base_delay=1.0, max_delay=4.0),
        transport=transport,
        sleep=slept.append,
        rng=_Extreme(upper),
    )

    poster.post("b1", BODY)

    assert slept == expected


def test_poster_gives_up_at_once_when_stopped_during_backoff(signer, transport):
    stop = threading.Event()
    transport.script = [500] * 10
    poster = Poster("https://x/gateway/events", signer, transport=transport, sleep=lambda _: stop.set(), stop=stop)

    result = poster.post("b1", BODY)

    assert result.outcome is Outcome.UNAVAILABLE and len(transport.calls) == 1
