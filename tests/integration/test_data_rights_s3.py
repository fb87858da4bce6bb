"""Archive retention and channels never recorded, on moto (S3 with conditional writes, DynamoDB):
what the bucket and the table hold afterwards, byte for byte."""

from __future__ import annotations

import gzip
import itertools
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.command_store import CommandStore
from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_compaction import S3CompactionStore
from guildlog.adapters.s3_rewrite import S3VersionedObjects
from guildlog.handlers.compact import TableRetention, expire_copies_tonight, handle_compaction
from guildlog.models.envelope import Envelope
from guildlog.services import keys
from guildlog.services.compaction import CompactionResult, Compactor
from guildlog.services.directory import Directory
from guildlog.services.ingest import ConfigCache, Ingestor
from guildlog.services.timefmt import iso
from tests.fakes.archive_data import snowflake
from tests.integration.s3_server import CREDENTIALS, REGION, S3Server, moto_s3_server

pytestmark = pytest.mark.integration

SHORT = "800000000000000001"  # keeps 7 days, deletes whole lines past them
LONG = "800000000000000002"  # keeps 365 days
FACTS = "800000000000000003"  # keeps 3 days, then only the facts (content-only)
CHANNEL = "800000000000000010"
PRIVATE = "800000000000000011"
CATEGORY = "800000000000000012"
CHILD = "800000000000000013"  # a channel in CATEGORY
THREAD = "800000000000000014"  # a thread of PRIVATE
USER = "800000000000000100"
START = date(2026, 10, 1)
NIGHTS = 30
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with moto_s3_server() as s3_server:
        yield s3_server


@dataclass
class Stack:
    server: S3Server
    ddb: Any
    bucket: str
    table: str

    def objects(self) -> dict[str, bytes]:
        """Every object of the bucket, decompressed."""
        return {
            key: gzip.decompress(self.server.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            for key in self.server.keys(self.bucket)
        }

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (a test may Scan; guildlog never does)."""
        pages = self.ddb.get_paginator("scan").paginate(TableName=self.table)
        return [item for page in pages for item in page.get("Items", [])]

    def ingestor(self, now: datetime) -> Ingestor:
        store = DynamoStore(self.table, self.ddb)
        return Ingestor(
            S3Archive(self.bucket, self.server.s3),
            store,
            clock=lambda: now,
            config_cache=ConfigCache(ttl_seconds=0),
            directory=Directory(store),
        )

    def configure(self, guild_id: str, **changes: Any) -> None:
        CommandStore(self.table, self.ddb).update_config(
            guild_id, actor_id=USER, at="2026-10-01T00:00:00.000Z", **changes
        )


@pytest.fixture
def stack(server: S3Server) -> Stack:
    import boto3

    from guildlog_tools.local.template import load_template, table_definition

    n = next(_names)
    ddb = boto3.session.Session().client(
        "dynamodb", endpoint_url=server.endpoint_url, region_name=REGION, **CREDENTIALS
    )
    table = f"rights-{n}"
    ddb.create_table(**{**table_definition(load_template()), "TableName": table})
    return Stack(server, ddb, server.create_bucket(f"rights-{n}", versioned=True), table)


def batch(batch_id: str, events: list[dict[str, Any]]) -> tuple[Envelope, list[dict[str, Any]]]:
    body = {"v": 1, "batch_id": batch_id, "relay": {"shard": [0, 1], "session_id": "s1"}, "events": events}
    return Envelope.model_validate(body), body["events"]


def event(seq: int, t: str, at: datetime, d: dict[str, Any]) -> dict[str, Any]:
    return {"t": t, "seq": seq, "received_at": iso(at), "session_id": "s1", "d": d}


def message(seq: int, guild: str, channel: str, at: datetime, content: str) -> dict[str, Any]:
    d = {
        "id": snowflake(iso(at), seq % 4096),
        "guild_id": guild,
        "channel_id": channel,
        "author": {"id": USER, "username": "someone", "global_name": "Some One"},
        "content": content,
        "timestamp": iso(at),
        "attachments": [],
        "embeds": [],
    }
    return event(seq, "MESSAGE_CREATE", at, d)


# --- channels never recorded ---


def test_privacy_leaves_no_byte_of_a_private_channel_when_its_events_are_ingested(stack: Stack) -> None:
    at = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    stack.configure(SHORT, add_to_sets={"unrecorded_channels": PRIVATE})
    stack.configure(SHORT, add_to_sets={"unrecorded_channels": CATEGORY})
    # The child channel's creation (structure: kept) tells the directory its category.
    created = {"id": CHILD, "guild_id": SHORT, "type": 0, "name": "child", "parent_id": CATEGORY}
    stack.ingestor(at).ingest(*batch("b-structure", [event(1, "CHANNEL_CREATE", at, created)]))
    thread = {"id": THREAD, "guild_id": SHORT, "parent_id": PRIVATE, "type": 11, "name": "secret-thread-name"}
    private_events = [
        message(2, SHORT, PRIVATE, at, "private-words-one"),
        event(
            3,
            "MESSAGE_REACTION_ADD",
            at,
            {
                "guild_id": SHORT,
                "channel_id": PRIVATE,
                "user_id": USER,
                "message_id": "800000000000000555",
                "emoji": {"name": "secretemoji"},
            },
        ),
        event(4, "TYPING_START", at, {"guild_id": SHORT, "channel_id": PRIVATE, "user_id": USER, "timestamp": 1}),
        event(5, "THREAD_CREATE", at, thread),
        message(6, SHORT, CHILD, at, "category-child-words"),
        event(
            7,
            "VOICE_STATE_UPDATE",
            at,
            {"guild_id": SHORT, "channel_id": PRIVATE, "user_id": USER, "session_id": "voice-session-secret"},
        ),
    ]
    result = stack.ingestor(at).ingest(*batch("b-private", [*private_events, message(8, SHORT, CHANNEL, at, "public")]))
    # A message in the private channel's thread, in a later batch: the directory knows the thread's parent.
    later = stack.ingestor(at).ingest(*batch("b-thread", [message(9, SHORT, THREAD, at, "thread-words-two")]))

    assert (result.unrecorded, later.unrecorded) == (6, 1)
    stored = b"".join(stack.objects().values()) + repr(stack.items()).encode()
    for secret in (
        "private-words-one",
        "secretemoji",
        "secret-thread-name",
        "category-child-words",
        "thread-words-two",
        "voice-session-secret",
        "800000000000000555",
    ):
        assert secret.encode() not in stored, secret
    assert b"public" in stored


def test_privacy_counts_the_dropped_events_for_status_when_a_private_channel_speaks(stack: Stack) -> None:
    at = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    stack.configure(SHORT, add_to_sets={"unrecorded_channels": PRIVATE})
    stack.ingestor(at).ingest(*batch("b-1", [message(1, SHORT, PRIVATE, at, "a"), message(2, SHORT, PRIVATE, at, "b")]))
    stack.ingestor(at).ingest(*batch("b-1", [message(1, SHORT, PRIVATE, at, "a"), message(2, SHORT, PRIVATE, at, "b")]))

    from guildlog.services.commands.stats import day_counters

    totals = day_counters(HotReader(stack.table, stack.ddb), SHORT, "2026-10-02")
    assert totals["unrecorded"] == 2  # a retried batch rewrites its own counter item


# --- retention everywhere ---


def _night(stack: Stack, today: date) -> list[CompactionResult]:
    retention = TableRetention(
        HotReader(stack.table, stack.ddb), DynamoStore(stack.table, stack.ddb), default_days=30, max_days=400
    )
    event = {"time": f"{today.isoformat()}T01:30:00Z"}
    results = handle_compaction(event, Compactor(S3CompactionStore(stack.bucket, stack.server.s3)), retention)
    assert not [r for r in results if r.state in ("refused", "lost_race")]
    return results


def test_retention_leaves_nothing_past_each_guilds_limit_when_thirty_nights_have_run(stack: Stack) -> None:
    stack.configure(SHORT, set_fields={"retention_days": 7, **keys.archive_retention_index(SHORT)})
    stack.configure(LONG, set_fields={"retention_days": 365, **keys.archive_retention_index(LONG)})
    stack.configure(
        FACTS,
        set_fields={"retention_days": 3, "archive_mode": "content-only", **keys.archive_retention_index(FACTS)},
    )
    seq = itertools.count(1)
    for n in range(NIGHTS):
        day = START + timedelta(days=n)
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        events = [message(next(seq), g, CHANNEL, at, f"words-{g}-{day.isoformat()}") for g in (SHORT, LONG, FACTS)]
        stack.ingestor(at).ingest(*batch(f"b-{day.isoformat()}", events))
        _night(stack, day + timedelta(days=1))
    today = START + timedelta(days=NIGHTS)
    text = b"".join(stack.objects().values()).decode()

    for n in range(NIGHTS):
        day = (START + timedelta(days=n)).isoformat()
        age = (today - (START + timedelta(days=n))).days
        assert (f"words-{SHORT}-{day}" in text) == (age <= 7), (SHORT, day)
        assert f"words-{LONG}-{day}" in text, (LONG, day)
        assert (f"words-{FACTS}-{day}" in text) == (age <= 3), (FACTS, day)
    # content-only keeps every day's facts: each FACTS message is still in raw/, events/ and events_csv/.
    for prefix in ("raw/", "events/", "events_csv/"):
        objects = stack.objects()
        lines = b"".join(v for k, v in objects.items() if k.startswith(prefix)).decode()
        assert lines.count(FACTS) >= NIGHTS, prefix


def test_retention_sweeps_every_past_day_once_when_a_guild_lowers_its_limit(stack: Stack) -> None:
    stack.configure(SHORT, set_fields={"retention_days": 365, **keys.archive_retention_index(SHORT)})
    seq = itertools.count(1)
    for n in range(20):
        day = START + timedelta(days=n)
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        stack.ingestor(at).ingest(*batch(f"b-{day.isoformat()}", [message(next(seq), SHORT, CHANNEL, at, f"w-{n}-")]))
        _night(stack, day + timedelta(days=1))
    today = START + timedelta(days=21)
    stack.configure(SHORT, set_fields={"retention_days": 2, **keys.archive_retention_index(SHORT)})

    _night(stack, today)
    again = _night(stack, today)

    text = b"".join(stack.objects().values()).decode()
    assert [n for n in range(20) if f"w-{n}-" in text] == [19]  # only the day within 2 days of the night
    assert not [r for r in again if r.state != "nothing_to_do"]  # swept once: the next run rewrites nothing


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (moto on loopback)
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_retention_expires_exports_and_attachment_copies_past_each_guilds_limit_over_thirty_nights(
    stack: Stack,
) -> None:
    stack.configure(SHORT, set_fields={"retention_days": 7, **keys.archive_retention_index(SHORT)})
    stack.configure(LONG, set_fields={"retention_days": 365, **keys.archive_retention_index(LONG)})
    s3, copies = stack.server.s3, S3VersionedObjects(stack.bucket, stack.server.s3)
    # The exports are written now (S3 stamps them), so the simulated days start today.
    first = datetime.now(UTC).date()
    exports = {g: f"exports/{g}/e-{g[-1]}/general.json" for g in (SHORT, LONG)}
    for guild, key in exports.items():
        s3.put_object(Bucket=stack.bucket, Key=key, Body=f'{{"content":"export of {guild}"}}'.encode())
    links = {
        g: s3.generate_presigned_url("get_object", Params={"Bucket": stack.bucket, "Key": k})
        for g, k in exports.items()
    }
    seq = itertools.count(1)
    copy_day: dict[str, date] = {}
    for n in range(NIGHTS):
        day = first + timedelta(days=n)
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        events = [message(next(seq), g, CHANNEL, at, f"words-{g}-{day.isoformat()}") for g in (SHORT, LONG)]
        stack.ingestor(at).ingest(*batch(f"b-{day.isoformat()}", events))
        for guild, sent in zip((SHORT, LONG), events, strict=True):
            key = f"attachments/guild={guild}/{sent['d']['id']}/{n}-photo.png"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=b"photo bytes")
            s3.put_object(Bucket=stack.bucket, Key=key, Body=b"photo bytes, copied again")  # a second version
            copy_day[key] = day
        night = {"time": f"{(day + timedelta(days=1)).isoformat()}T01:30:00Z"}
        _night(stack, day + timedelta(days=1))
        retention = TableRetention(
            HotReader(stack.table, stack.ddb), DynamoStore(stack.table, stack.ddb), default_days=30, max_days=400
        )
        expire_copies_tonight(night, retention, copies)
    today = first + timedelta(days=NIGHTS)

    limits = {SHORT: 7, LONG: 365}
    versions = s3.list_object_versions(Bucket=stack.bucket).get("Versions", [])
    kept_copies = {v["Key"] for v in versions if v["Key"].startswith("attachments/")}
    for key, day in copy_day.items():
        guild = key.split("/")[1].removeprefix("guild=")
        assert (key in kept_copies) == ((today - day).days <= limits[guild]), (key, day)
    kept_exports = {v["Key"] for v in versions if v["Key"].startswith("exports/")}
    assert kept_exports == {exports[LONG]}
    assert (_status(links[SHORT]), _status(links[LONG])) == (404, 200)
    archived = [k for k in stack.server.keys(stack.bucket) if k.startswith(("raw/", "events/", "events_csv/"))]
    text = b"".join(
        gzip.decompress(s3.get_object(Bucket=stack.bucket, Key=k)["Body"].read()) for k in archived
    ).decode()
    for n in range(NIGHTS):
        day = first + timedelta(days=n)
        assert (f"words-{SHORT}-{day.isoformat()}" in text) == ((today - day).days <= 7), (SHORT, day)
        assert f"words-{LONG}-{day.isoformat()}" in text, (LONG, day)
