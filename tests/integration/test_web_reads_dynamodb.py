"""The web viewer's reads on moto's DynamoDB: only the attributes a page shows come back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.services import keys
from guildlog.web import reads
from tests.integration.test_feed_shards_dynamodb import GUILD, batch, ingest

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_feed_page_reads_only_the_shown_attributes_when_read_from_dynamodb(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["table"], aws["dynamodb"])
    ingest(store, batch(3, 1.0, start=NOW, batch_id="b1"), NOW)
    page = reads.feed_page(HotReader(aws["table"], aws["dynamodb"]), GUILD, reads.FeedFilters())
    assert len(page.items) == 3
    assert all(set(item) <= set(reads.FEED_ATTRIBUTES) for item in page.items)
    assert {item["content"] for item in page.items} == {"m1", "m2", "m3"}
    assert all(str(item["SK"]).startswith(keys.FEED_FIRST) for item in page.items)
