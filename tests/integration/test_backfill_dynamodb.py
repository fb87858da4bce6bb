"""Backfill beside the relay under moto: a message's create captured live and again by a backfill is one
row in the feed, in `/logs search` and in the archive after compaction, whichever path stored it first."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.discord_rest import DiscordRest
from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_compaction import S3CompactionStore
from guildlog.models.envelope import Envelope, EnvelopeEvent
from guildlog.services import hot_items
from guildlog.services.backfill import Backfill
from guildlog.services.commands.context import Ports
from guildlog.services.commands.cursor import HmacCursorCodec, SearchFilters
from guildlog.services.commands.search import read_page
from guildlog.services.compaction import Compactor
from guildlog.services.directory import Directory
from guildlog.services.ingest import ConfigCache, Ingestor
from guildlog.services.known_creates import HotCreates
from guildlog.services.normalize import normalize
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest
from tests.fakes.discord_history import history

pytestmark = pytest.mark.integration

GUILD = "900000000000000001"
CHANNEL = "900000000000000011"
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = START + timedelta(days=1)
COUNT = 8  # fewer than a search page (10): a duplicate would show as a ninth row


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest() as fake:
        fake.history.add_guild(GUILD)
        fake.history.add_channel(GUILD, CHANNEL)
        fake.history.add_messages(CHANNEL, history(CHANNEL, START, COUNT))
        yield fake


class Stack:
    """The table and bucket as IngestFunction and `guildlog backfill` use them."""

    def __init__(self, aws: dict[str, Any]) -> None:
        self.aws = aws
        self.store = DynamoStore(aws["table"], aws["dynamodb"])
        self.ingestor = Ingestor(
            S3Archive(aws["bucket"], aws["s3"]),
            self.store,
            clock=lambda: NOW,
            config_cache=ConfigCache(ttl_seconds=0),
            directory=Directory(self.store),
        )
        self.reader = HotReader(aws["table"], aws["dynamodb"])

    def live(self, messages: list[dict[str, Any]], batch_id: str = "relay-0-1") -> Any:
        """The relay's batch of these messages' creates (gateway dispatches of one session)."""
        payload = json.loads(json.dumps(envelope(messages, batch_id)))
        return self.ingestor.ingest(Envelope.model_validate(payload), payload["events"])

    def backfill(self, discord: FakeDiscordRest) -> Any:
        rest = DiscordRest(discord.api_base, lambda: BOT_TOKEN, timeout=5.0)
        known = HotCreates(self.reader)
        return Backfill(rest, self.ingestor, clock=lambda: NOW, known=known).run(GUILD, channel_ids=[CHANNEL])

    def search(self) -> Any:
        ports = Ports(reader=self.reader, config=None, cursors=HmacCursorCodec(b"k" * 32))  # type: ignore[arg-type]
        return read_page(ports, GUILD, SearchFilters(channel=CHANNEL), None)

    def feed_creates(self) -> Counter[str]:
        page = self.reader.query_feed(GUILD, limit=1000)
        return Counter(str(i["message_id"]) for i in page.items if i.get("action") == "create")

    def archived_after_compaction(self) -> Counter[str]:
        """The message ids of the `events` rows once the day is compacted."""
        Compactor(S3CompactionStore(self.aws["bucket"], self.aws["s3"])).compact_day(START.date())
        s3, bucket = self.aws["s3"], self.aws["bucket"]
        found: Counter[str] = Counter()
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix="events/").get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()).decode("utf-8")
            found.update(str(json.loads(line)["message_id"]) for line in body.splitlines() if line)
        return found


def envelope(messages: list[dict[str, Any]], batch_id: str, session: str = "sess-live") -> dict[str, Any]:
    events = [
        {"t": "MESSAGE_CREATE", "seq": n + 1, "received_at": m["timestamp"], "d": {**m, "guild_id": GUILD}}
        for n, m in enumerate(messages)
    ]
    return {"v": 1, "batch_id": batch_id, "relay": {"session_id": session, "shard": [0, 1]}, "events": events}


def assert_once_everywhere(stack: Stack, messages: list[dict[str, Any]]) -> None:
    ids = sorted(m["id"] for m in messages)
    page = stack.search()
    assert sorted(str(i["message_id"]) for i in page.items) == ids and not page.more_older
    assert stack.feed_creates() == Counter(ids)
    assert stack.archived_after_compaction() == Counter(ids)


def test_backfill_adds_no_row_when_the_relay_logged_the_messages_first(
    aws: dict[str, Any], discord: FakeDiscordRest
) -> None:
    stack = Stack(aws)
    messages = history(CHANNEL, START, COUNT)
    assert stack.live(messages).accepted == COUNT

    summary = stack.backfill(discord)

    assert (summary.fetched, summary.stored) == (COUNT, 0)
    assert_once_everywhere(stack, messages)


def test_a_late_live_batch_adds_no_row_when_a_backfill_stored_the_messages_first(
    aws: dict[str, Any], discord: FakeDiscordRest
) -> None:
    stack = Stack(aws)
    messages = history(CHANNEL, START, COUNT)
    assert stack.backfill(discord).stored == COUNT

    late = stack.live(messages)  # the relay's spool, drained after the backfill

    assert (late.accepted, late.duplicates) == (0, COUNT)
    assert_once_everywhere(stack, messages)


def test_backfill_leaves_out_the_messages_the_relay_logged_under_session_and_sequence_ids(
    aws: dict[str, Any], discord: FakeDiscordRest
) -> None:
    stack = Stack(aws)
    messages = history(CHANNEL, START, COUNT)
    # Hot items written before a create's id was its message id: `gw:<session>:<seq>`.
    rows = [
        normalize(EnvelopeEvent.model_validate(event), event_id=f"gw:sess-old:{event['seq']}", batch_id="relay-old")
        for event in envelope(messages[:5], "relay-old")["events"]
    ]
    stack.store.put_items([hot_items.feed_item(row, hot_items.expires_at(row, 30)) for row in rows])

    summary = stack.backfill(discord)

    assert (summary.fetched, summary.stored, summary.channels[-1].known) == (COUNT, 3, 5)
    page = stack.search()
    assert sorted(str(i["message_id"]) for i in page.items) == sorted(m["id"] for m in messages)
    assert stack.feed_creates() == Counter(m["id"] for m in messages)
