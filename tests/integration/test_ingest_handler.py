"""IngestFunction end to end under moto: signatures, archive objects, hot items, idempotency, order."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.handlers import ingest as ingest_handler
from guildlog.services import keys
from guildlog.services.commands.message import message_history
from guildlog.services.commands.stats import day_counters
from tests.integration.conftest import LambdaContext, function_url_event, gzip_json, load_function

pytestmark = pytest.mark.integration

GUILD = "800000000000000001"
CHANNEL = "800000000000000010"
AUTHOR = "800000000000000100"
MODERATOR = "800000000000000101"
# Yesterday noon: inside the hot retention, and every event of a test on one UTC day.
BASE = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def snowflake_at(moment: datetime, n: int = 0) -> str:
    return str(((int(moment.timestamp() * 1000) - 1_420_070_400_000) << 22) + n)


def at(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


MESSAGE_ID = snowflake_at(BASE)


def message_create(content: str = "first words", message_id: str = MESSAGE_ID, minutes: float = 0) -> dict[str, Any]:
    return {
        "t": "MESSAGE_CREATE",
        "d": {
            "id": message_id,
            "channel_id": CHANNEL,
            "guild_id": GUILD,
            "author": {"id": AUTHOR, "username": "ada"},
            "content": content,
            "timestamp": at(minutes),
            "edited_timestamp": None,
        },
    }


def message_update(content: str, minutes: float) -> dict[str, Any]:
    return {
        "t": "MESSAGE_UPDATE",
        "d": {
            "id": MESSAGE_ID,
            "channel_id": CHANNEL,
            "guild_id": GUILD,
            "author": {"id": AUTHOR, "username": "ada"},
            "content": content,
            "timestamp": at(0),
            "edited_timestamp": at(minutes),
        },
    }


def message_delete() -> dict[str, Any]:
    return {"t": "MESSAGE_DELETE", "d": {"id": MESSAGE_ID, "channel_id": CHANNEL, "guild_id": GUILD}}


def envelope(events: list[dict[str, Any]], batch_id: str = "batch-1", first_seq: int = 1) -> dict[str, Any]:
    return {
        "v": 1,
        "batch_id": batch_id,
        "relay": {"name": "test", "shard": [0, 1], "session_id": "sess1"},
        "events": [
            {"seq": first_seq + i, "received_at": at(30), "source": "gateway", **e} for i, e in enumerate(events)
        ],
    }


@pytest.fixture
def ingest(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    """Post a body through the real Lambda handler; returns (status, answer)."""
    keys = generate_keypair()
    signer = Signer(keys.private_key)
    monkeypatch.setenv("GUILDLOG_TABLE_NAME", aws["table"])
    monkeypatch.setenv("GUILDLOG_BUCKET_NAME", aws["bucket"])
    monkeypatch.setenv("GUILDLOG_RELAY_PUBLIC_KEY", keys.public_key)
    ingest_handler.default_ingestor.cache_clear()
    app = load_function("ingest")

    def post(
        body: dict[str, Any] | bytes,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        path: str = "/gateway/events",
        method: str = "POST",
    ):
        raw = body if isinstance(body, bytes) else gzip_json(body)
        sent = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if sign:
            sent.update(signer.headers(raw))
        sent.update(headers or {})
        answer = app.lambda_handler(function_url_event(raw, sent, path=path, method=method), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"])

    post.signer = signer  # type: ignore[attr-defined]
    yield post
    ingest_handler.default_ingestor.cache_clear()


def table_dump(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items = aws["dynamodb"].scan(TableName=aws["table"])["Items"]  # a test may scan; the product never does
    return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def archive_dump(aws: dict[str, Any]) -> dict[str, bytes]:
    s3 = aws["s3"]
    listing = s3.list_objects_v2(Bucket=aws["bucket"]).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=aws["bucket"], Key=o["Key"])["Body"].read() for o in listing}


def jsonl(blob: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(blob).decode().splitlines()]


def test_ingest_writes_archive_and_hot_items_when_batch_is_signed(ingest, aws):
    status, answer = ingest(envelope([message_create(), message_update("second words", 5), message_delete()]))

    assert status == 200
    assert answer == {"batch_id": "batch-1", "accepted": 3, "duplicates": 0, "quarantined": 0}
    objects = archive_dump(aws)
    day = BASE.strftime("year=%Y/month=%m/day=%d")
    assert set(objects) == {
        f"raw/{day}/batch-1.jsonl.gz",
        f"events/{day}/batch-1.jsonl.gz",
        f"events_csv/{day}/batch-1.csv.gz",
    }
    rows = [row for key, blob in objects.items() if key.startswith("events/") for row in jsonl(blob)]
    assert sorted(r["action"] for r in rows) == ["create", "delete", "update"]
    stored = aws["dynamodb"].query(
        TableName=aws["table"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.message_pk(MESSAGE_ID)}},
    )["Items"]
    # The create fits one write unit: its feed item is its first version, the edit has its own.
    assert [v["SK"]["S"] for v in stored] == ["DEL", f"V#{at(5)[:19]}.000Z"]
    history = message_history(HotReader(aws["table"], aws["dynamodb"]), MESSAGE_ID, GUILD)
    assert history is not None and history.deletion is not None
    assert [v["SK"] for v in history.versions] == [f"V#{at(0)[:19]}.000Z", f"V#{at(5)[:19]}.000Z"]
    assert [v["content"] for v in history.versions] == ["first words", "second words"]


def test_ingest_keeps_raw_event_exactly_when_archived(ingest, aws):
    event = message_create()
    event["d"]["unknown_new_field"] = {"nested": [1, 2, 3]}
    ingest(envelope([event]))

    raw = [line for key, blob in archive_dump(aws).items() if key.startswith("raw/") for line in jsonl(blob)]
    assert raw[0]["event"]["d"] == event["d"]
    assert raw[0]["event_id"] == f"msg:{MESSAGE_ID}"


def test_ingest_is_idempotent_when_same_batch_is_delivered_twice(ingest, aws):
    body = envelope([message_create(), message_update("second words", 5), message_delete()])
    ingest(body)
    tables_once, archive_once = table_dump(aws), archive_dump(aws)

    status, answer = ingest(body)

    assert status == 200
    assert answer["accepted"] == 0 and answer["duplicates"] == 3
    assert table_dump(aws) == tables_once
    assert archive_dump(aws) == archive_once


def test_ingest_counts_each_event_once_when_replayed_in_another_batch(ingest, aws):
    ingest(envelope([message_create()], batch_id="first"))
    ingest(envelope([message_create()], batch_id="second"))  # Discord replays after a RESUME

    day = at(0)[:10]
    assert day_counters(HotReader(aws["table"], aws["dynamodb"]), GUILD, day)["messages"] == 1


@pytest.mark.parametrize(
    "order",
    [
        ["update", "create", "delete"],
        ["delete", "create", "update"],
        ["newer_edit", "create", "update", "delete"],
    ],
    ids=["update_before_create", "delete_before_create", "older_edit_after_newer"],
)
def test_ingest_ends_in_same_state_when_delivery_is_out_of_order(ingest, aws, order):
    events = {
        "create": (1, message_create()),
        "update": (2, message_update("second words", 5)),
        "newer_edit": (3, message_update("third words", 9)),
        "delete": (4, message_delete()),
    }
    chosen = {name: events[name] for name in order}
    for name in sorted(chosen, key=lambda n: chosen[n][0]):
        seq, event = chosen[name]
        ingest(envelope([event], batch_id=f"b{seq}", first_seq=seq))
    in_order = table_dump(aws)
    aws["dynamodb"].delete_table(TableName=aws["table"])
    from guildlog_tools.local.template import load_template, table_definition

    aws["dynamodb"].create_table(**{**table_definition(load_template()), "TableName": aws["table"]})
    # A new stack: a new container too (one remembers the shard's day index it has written).
    ingest_handler.default_ingestor.cache_clear()

    for name in order:
        seq, event = chosen[name]
        ingest(envelope([event], batch_id=f"b{seq}", first_seq=seq))

    assert table_dump(aws) == in_order


def test_ingest_quarantines_poison_event_when_batch_has_good_ones(ingest, aws):
    poison = {"t": "MESSAGE_CREATE", "d": {"id": "../../etc/passwd", "channel_id": CHANNEL, "guild_id": GUILD}}
    status, answer = ingest(envelope([message_create(), poison]))

    assert status == 200
    assert answer["accepted"] == 1 and answer["quarantined"] == 1
    quarantined = [
        line for key, blob in archive_dump(aws).items() if key.startswith("quarantine/") for line in jsonl(blob)
    ]
    assert quarantined[0]["reason"] == "invalid snowflake: d.id"
    assert quarantined[0]["event"]["d"]["id"] == "../../etc/passwd"


def test_ingest_writes_every_item_when_batch_has_more_than_25_events(ingest, aws):
    events = [message_create(f"message {i}", snowflake_at(BASE, i + 1), minutes=i / 10) for i in range(60)]
    status, answer = ingest(envelope(events))

    assert status == 200 and answer["accepted"] == 60
    feed = aws["dynamodb"].query(
        TableName=aws["table"],
        KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
        ExpressionAttributeValues={":pk": {"S": keys.guild_pk(GUILD)}, ":e": {"S": keys.FEED_FIRST}},
    )["Items"]
    assert len(feed) == 60


def test_ingest_trims_item_and_keeps_raw_when_message_is_near_400_kb(ingest, aws):
    huge = "x" * 395_000
    status, answer = ingest(envelope([message_create(huge)]))

    assert status == 200 and answer["accepted"] == 1
    version = aws["dynamodb"].query(
        TableName=aws["table"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.message_pk(MESSAGE_ID)}},
    )["Items"][0]
    assert version["truncated"]["BOOL"] is True
    raw = [line for key, blob in archive_dump(aws).items() if key.startswith("raw/") for line in jsonl(blob)]
    assert raw[0]["event"]["d"]["content"] == huge


def test_ingest_answers_503_and_reports_no_success_when_dynamodb_keeps_items_unprocessed(ingest, aws, monkeypatch):
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.retry import Backoff

    real = DynamoStore.put_items

    def stubborn(self, items):
        self.backoff = Backoff(attempts=3, sleep=lambda _s: None)
        client = self.client

        class Throttled:
            def __getattr__(self, name):
                return getattr(client, name)

            def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's own argument name
                return {"UnprocessedItems": RequestItems}

        self._client = Throttled()
        try:
            return real(self, items)
        finally:
            self._client = client

    monkeypatch.setattr(DynamoStore, "put_items", stubborn)
    status, answer = ingest(envelope([message_create()]))

    assert status == 503
    assert "accepted" not in answer


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda body, headers: (body, {**headers, "X-Signature-Ed25519": "0" * 128}), 401),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "X-Signature-Timestamp"}), 401),
        (lambda body, headers: (body[:-1] + bytes([body[-1] ^ 1]), headers), 401),
    ],
    ids=["wrong_signature", "missing_timestamp", "body_changed_one_byte"],
)
def test_ingest_answers_401_when_signature_is_bad(ingest, aws, mutate, expected):
    body = gzip_json(envelope([message_create()]))
    headers = ingest.signer.headers(body)
    body, headers = mutate(body, headers)

    status, answer = ingest(body, headers=headers, sign=False)

    assert status == expected
    assert archive_dump(aws) == {}


def test_ingest_answers_401_when_timestamp_is_stale(ingest, aws):
    body = gzip_json(envelope([message_create()]))
    import time

    status, _ = ingest(body, headers=ingest.signer.headers(body, timestamp=int(time.time()) - 301), sign=False)
    assert status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (gzip.compress(b"not json"), 400),
        (gzip_json({"v": 2, "batch_id": "x", "events": []}), 400),
        (gzip_json({"v": 1, "batch_id": "../escape", "events": []}), 400),
        (gzip_json([1, 2, 3]), 400),
        (b"\x1f\x8b\x08garbage", 400),
        (gzip.compress(b"{" + b" " * (60 * 1024 * 1024) + b"}"), 413),
    ],
    ids=["not_json", "wrong_version", "unsafe_batch_id", "not_an_object", "broken_gzip", "gzip_bomb"],
)
def test_ingest_answers_4xx_without_writing_when_body_is_bad(ingest, aws, body, status):
    got, answer = ingest(body)

    assert got == status
    assert "Traceback" not in json.dumps(answer)
    assert archive_dump(aws) == {}


# The function URL hands IngestFunction every path and method; a signed, valid batch sent anywhere
# but POST /gateway/events is refused before anything is verified or stored.
@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/", "POST", 404),
        ("/gateway/events/", "POST", 404),
        ("/interactions", "POST", 404),
        ("/gateway/events", "GET", 405),
        ("/gateway/events", "PUT", 405),
    ],
)
def test_ingest_answers_404_or_405_without_writing_when_the_route_is_not_the_webhook(ingest, aws, path, method, status):
    got, answer = ingest(envelope([message_create()]), path=path, method=method)

    assert got == status
    assert set(answer) == {"error"} and "/gateway/events" in answer["error"]
    assert archive_dump(aws) == {}
    assert table_dump(aws) == []


# --- the directory: before → after under real DynamoDB conditions ---------------------------------


def member_update(nick: str) -> dict[str, Any]:
    return {
        "t": "GUILD_MEMBER_UPDATE",
        "d": {"guild_id": GUILD, "user": {"id": AUTHOR, "username": "ada"}, "nick": nick, "roles": []},
    }


def guild_create() -> dict[str, Any]:
    members = [{"user": {"id": AUTHOR, "username": "ada"}, "nick": "seeded", "roles": []}]
    channels = [{"id": CHANNEL, "name": "general", "type": 0}]
    return {"t": "GUILD_CREATE", "d": {"id": GUILD, "name": "Ada's Guild", "channels": channels, "members": members}}


def archived_rows(aws: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    rows = [r for key, blob in archive_dump(aws).items() if key.startswith("events/") for r in jsonl(blob)]
    return sorted((r for r in rows if r["event_type"] == event_type), key=lambda r: r["seq"])


def test_ingest_archives_the_nick_before_and_after_when_the_member_was_seeded(ingest, aws: dict[str, Any]) -> None:
    ingest(envelope([guild_create()], batch_id="seed", first_seq=1))

    status, _ = ingest(envelope([member_update("renamed")], batch_id="update", first_seq=2))

    (row,) = archived_rows(aws, "GUILD_MEMBER_UPDATE")
    assert status == 200
    assert json.loads(row["changes"]) == {"nick": {"before": "seeded", "after": "renamed"}}


def test_ingest_keeps_the_newest_snapshot_when_an_older_batch_arrives_after_a_newer_one(
    ingest, aws: dict[str, Any]
) -> None:
    ingest(envelope([guild_create()], batch_id="seed", first_seq=1))
    ingest(envelope([member_update("third")], batch_id="newer", first_seq=3))

    ingest(envelope([member_update("second")], batch_id="older", first_seq=2))

    snapshot = aws["dynamodb"].get_item(
        TableName=aws["table"], Key={"PK": {"S": f"G#{GUILD}#DIR"}, "SK": {"S": f"M#{AUTHOR}"}}
    )["Item"]
    older = archived_rows(aws, "GUILD_MEMBER_UPDATE")[0]
    assert json.loads(snapshot["state"]["S"])["nick"] == "third"
    assert json.loads(older["changes"]) == {"nick": {"before": "seeded", "after": "second"}}
