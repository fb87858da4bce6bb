"""Hostile requests to IngestFunction under moto: each is signed (so only validation stands between
it and the store) or forged, and none may answer 5xx, be accepted when forged, or write anything
when refused. Events that are accepted but odd end in quarantine, never in a partition Athena cannot
see or in a feed of their own."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.handlers import ingest as ingest_handler
from tests.integration.conftest import LambdaContext, function_url_event, gzip_json, load_function

pytestmark = pytest.mark.integration

GUILD = "800000000000000001"
CHANNEL = "800000000000000010"
AUTHOR = "800000000000000100"
RECEIVED = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
RECEIVED_AT = RECEIVED.isoformat().replace("+00:00", "Z")
FULL_WIDTH = "８００００００００００００００００１"
ARABIC_INDIC = "٨٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠١"


def message(**d: Any) -> dict[str, Any]:
    data = {
        "id": "1300000000000000001",
        "channel_id": CHANNEL,
        "guild_id": GUILD,
        "author": {"id": AUTHOR, "username": "ada"},
        "content": "words",
        "timestamp": RECEIVED_AT,
        **d,
    }
    return {"seq": 1, "t": "MESSAGE_CREATE", "received_at": RECEIVED_AT, "source": "gateway", "d": data}


def body(event: dict[str, Any] | None = None, **relay: Any) -> dict[str, Any]:
    info = {"name": "test", "shard": [0, 1], "session_id": "sess1", **relay}
    return {"v": 1, "batch_id": "hostile-1", "relay": info, "events": [event or message()]}


# Signed bodies the webhook must refuse with 400 (the relay keeps them in rejected/, never retries).
REFUSED = {
    "received_at-year-1-east-of-utc": body({**message(), "received_at": "0001-01-01T00:00:00+01:00"}),
    "received_at-year-9999-west-of-utc": body({**message(), "received_at": "9999-12-31T23:59:59-01:00"}),
    "received_at-year-1-utc": body({**message(), "received_at": "0001-01-01T00:00:00Z"}),
    "received_at-before-discord": body({**message(), "received_at": "2014-12-31T23:59:59.999Z"}),
    "received_at-past-the-projection": body({**message(), "received_at": "2100-01-01T00:00:00Z"}),
    "seq-over-bigint": body({**message(), "seq": 2**63}),
    "seq-far-over-bigint": body({**message(), "seq": 10**30}),
    "relay-shard-over-bigint": body(shard=[2**63, 2**63 + 1]),
    "event-shard-over-bigint": body({**message(), "shard": [0, 2**64]}),
}
# Signed bodies whose odd event is accepted into quarantine (200), never into events/ or the table.
QUARANTINED = {
    "timestamp-year-1-east-of-utc": message(timestamp="0001-01-01T00:00:00+01:00"),
    "timestamp-year-9999-west-of-utc": message(timestamp="9999-12-31T23:59:59-01:00"),
    "timestamp-year-1": message(timestamp="0001-01-01T00:00:00Z"),
    "timestamp-before-discord": message(timestamp="2014-12-31T23:59:59.999Z"),
    "timestamp-last-projected-year": message(timestamp="2099-12-31T23:59:59Z"),
    # Ahead of ingest's clock by a day and ten minutes (the margin covers the test's own run time).
    "timestamp-over-a-day-ahead": message(timestamp=(RECEIVED + timedelta(days=1, hours=1, minutes=10)).isoformat()),
    "guild_id-full-width-digits": message(guild_id=FULL_WIDTH),
    "guild_id-arabic-indic-digits": message(guild_id=ARABIC_INDIC),
    "channel_id-one-arabic-indic-digit": message(channel_id=CHANNEL[:-1] + "١"),
    "author-id-full-width-digits": message(author={"id": FULL_WIDTH, "username": "ada"}),
}


@pytest.fixture
def ingest(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    """Post a body through the real Lambda handler, signed by `signer` (default: the relay's key)."""
    keys = generate_keypair()
    relay = Signer(keys.private_key)
    monkeypatch.setenv("GUILDLOG_TABLE_NAME", aws["table"])
    monkeypatch.setenv("GUILDLOG_BUCKET_NAME", aws["bucket"])
    monkeypatch.setenv("GUILDLOG_RELAY_PUBLIC_KEY", keys.public_key)
    ingest_handler.default_ingestor.cache_clear()
    app = load_function("ingest")

    def post(payload: dict[str, Any], signer: Signer = relay) -> tuple[int, dict[str, Any]]:
        raw = gzip_json(payload)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signer.headers(raw)}
        answer = app.lambda_handler(function_url_event(raw, headers), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"])

    yield post
    ingest_handler.default_ingestor.cache_clear()


def stored(aws: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    items = aws["dynamodb"].scan(TableName=aws["table"])["Items"]  # a test may scan; the product never does
    s3 = aws["s3"]
    listing = s3.list_objects_v2(Bucket=aws["bucket"]).get("Contents", [])
    return items, {o["Key"]: s3.get_object(Bucket=aws["bucket"], Key=o["Key"])["Body"].read() for o in listing}


@pytest.mark.parametrize("payload", REFUSED.values(), ids=REFUSED.keys())
def test_ingest_answers_400_and_writes_nothing_when_a_signed_body_is_out_of_range(ingest, aws, payload) -> None:
    status, answer = ingest(payload)

    assert status == 400, answer
    assert stored(aws) == ([], {})


@pytest.mark.parametrize("payload", [*REFUSED.values(), *(body(e) for e in QUARANTINED.values())])
def test_ingest_answers_401_and_writes_nothing_when_a_hostile_body_is_forged(ingest, aws, payload) -> None:
    status, _ = ingest(payload, signer=Signer(generate_keypair().private_key))

    assert status == 401
    assert stored(aws) == ([], {})


@pytest.mark.parametrize("event", QUARANTINED.values(), ids=QUARANTINED.keys())
def test_ingest_quarantines_the_event_where_athena_sees_it_when_a_signed_event_is_odd(ingest, aws, event) -> None:
    status, answer = ingest(body(event))

    assert (status, answer["accepted"], answer["quarantined"]) == (200, 0, 1)
    items, objects = stored(aws)
    assert items == []
    assert sorted(key.split("/")[0] for key in objects) == ["quarantine", "raw"]
    assert all(2015 <= int(key.split("/")[1].removeprefix("year=")) <= 2099 for key in objects)
    [line] = [json.loads(text) for key, blob in objects.items() if key.startswith("quarantine/")
              for text in gzip.decompress(blob).decode().splitlines()]  # fmt: skip
    assert line["event"] == event and line["reason"]
