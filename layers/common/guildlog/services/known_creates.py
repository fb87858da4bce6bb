"""Which of a page of backfilled messages the hot table already holds as a create under another event id.

A message's create is `msg:<message id>` whichever path captures it (services/event_ids.py), so
ingest's own duplicate read already finds a create stored by the relay or an earlier backfill.
What it cannot find is a create stored under an id of before that rule: the relay's
`gw:<session>:<seq>`, or an earlier backfill's `backfill:<id>[@<edit>]`. A backfill reads those
here, one page of messages at a time, so that history logged before the rule is not stored twice.

One read per page (not per message): the channel's index (GSI2, `G#<guild>#C#<channel>`, every
shard of it) between the page's oldest and newest message times. That range holds the channel's
events of those moments only — the page's creates, and their edits, deletes and reactions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from guildlog.services import feed, keys
from guildlog.services.commands.context import HotReader
from guildlog.services.event_ids import message_create_id
from guildlog.services.timefmt import iso, parse_time

# Items a Query returns at most per call: the range of one page of messages is usually one call.
QUERY_LIMIT = 500
_ATTRIBUTES = ("PK", "SK", "category", "action", "message_id", "event_id")


class HotCreates:
    """`services.backfill.KnownCreates` over the hot table (adapters.hot_reader.HotReader, or any
    reader with its `query` and `get`)."""

    def __init__(self, reader: HotReader) -> None:
        self.reader = reader

    def stored_elsewhere(self, guild_id: str, channel_id: str, messages: Iterable[dict[str, Any]]) -> set[str]:
        """The ids of those `messages` (REST message objects of `channel_id`) whose create the hot
        table holds under an event id other than `msg:<id>`; a message with no readable `timestamp`
        is never among them (ingest's own read decides for it)."""
        times: dict[str, str] = {}
        for message in messages:
            moment = parse_time(message.get("timestamp"))
            if moment is not None and isinstance(message.get("id"), str):
                times[str(message["id"])] = iso(moment)
        if not times:
            return set()
        low, high = min(times.values()), max(times.values())
        found: set[str] = set()
        start_key = None
        while True:
            page = feed.query_feed(
                self.reader,
                guild_id,
                index="GSI2",
                pk=keys.channel_index_pk(guild_id, channel_id),
                sk_from=keys.feed_sk_at(low),
                sk_to=keys.feed_sk_at(high) + "$",
                newest_first=False,
                limit=QUERY_LIMIT,
                start_key=start_key,
                attributes=_ATTRIBUTES,
            )
            for item in page.items:
                message_id = str(item.get("message_id") or "")
                if (
                    message_id in times
                    and item.get("category") == "message"
                    and item.get("action") == "create"
                    and item.get("event_id") != message_create_id(message_id)
                ):
                    found.add(message_id)
            start_key = page.next_key
            if start_key is None:
                return found
