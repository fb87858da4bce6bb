"""services/backfill.py against the fake Discord REST server, writing through the real Ingestor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.adapters.discord_rest import DiscordRest
from guildlog.models.envelope import Envelope
from guildlog.services import keys
from guildlog.services.backfill import Backfill, MemoryCheckpoints, Window
from guildlog.services.ingest import ConfigCache, Ingestor
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, rate_limited
from tests.fakes.discord_history import history, rest_message
from tests.unit.layer.services.test_ingest import FakeArchive, FakeStore

GUILD = "900000000000000001"
TEXT = "900000000000000011"
OTHER = "900000000000000012"
THREAD = "900000000000000021"
OLD_THREAD = "900000000000000022"
SECRET_THREAD = "900000000000000023"
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest() as fake:
        fake.history.add_guild(GUILD)
        fake.history.add_channel(GUILD, TEXT)
        fake.history.add_channel(GUILD, OTHER)
        yield fake


def client(fake: FakeDiscordRest) -> DiscordRest:
    return DiscordRest(fake.api_base, lambda: BOT_TOKEN, timeout=5.0)


class Sink:
    """The real Ingestor over in-memory stores; counts what it was given, and can fail after a number of batches."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.archive = FakeArchive()
        self.store = FakeStore()
        self.ingestor = Ingestor(self.archive, self.store, clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0))
        self.batches = 0
        self.message_ids: list[str] = []
        self.fail_after = fail_after

    def ingest(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> Any:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt  # the run is cut off between two pages
        self.batches += 1
        self.message_ids.extend(str(e["d"]["id"]) for e in raw_events)
        return self.ingestor.ingest(envelope, json.loads(json.dumps(raw_events)))


def message_pages(fake: FakeDiscordRest, channel_id: str) -> list[Any]:
    return [r for r in fake.requests if r.path == f"/channels/{channel_id}/messages" and r.status == 200]


def test_backfill_pages_every_message_oldest_first_when_a_channel_spans_several_pages(
    discord: FakeDiscordRest,
) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 250))
    sink = Sink()

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    assert sorted(sink.message_ids) == sorted(m["id"] for m in history(TEXT, START, 250))
    assert len(message_pages(discord, TEXT)) == 3
    [text] = [c for c in summary.channels if c.channel_id == TEXT]
    assert (text.fetched, text.stored, text.status) == (250, 250, "done")


def test_backfill_stores_rows_with_source_backfill_and_the_guild_when_rest_messages_lack_it(
    discord: FakeDiscordRest,
) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 3))
    sink = Sink()

    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    rows = sink.archive.lines("events/")
    assert {(r["source"], r["guild_id"], r["event_type"]) for r in rows} == {("backfill", GUILD, "MESSAGE_CREATE")}
    assert sorted(r["occurred_at"][:19] for r in rows) == [
        "2026-11-20T12:00:00",
        "2026-11-20T12:00:01",
        "2026-11-20T12:00:02",
    ]


def test_backfill_keeps_each_answer_as_a_rest_capture_when_it_pages(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 120))
    sink = Sink()

    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    captures = [line["event"] for line in sink.archive.lines("raw/") if line["event"].get("kind") == "rest_capture"]
    pages = [c for c in captures if c["request"]["route"] == "/channels/{channel_id}/messages"]
    assert {c["source"] for c in captures} == {"rest"}
    assert sum(len(c["response"]) for c in pages if c["request"]["path"].endswith(TEXT + "/messages")) == 120
    assert all(c["request"]["params"]["limit"] == "100" for c in pages)
    gateway_like = [line for line in sink.archive.lines("raw/") if line["event"].get("source") == "gateway"]
    assert gateway_like == []


def test_backfill_changes_nothing_when_run_again_over_the_same_window(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 150))
    sink = Sink()
    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)
    items_before = dict(sink.store.items)

    again = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    assert again.stored == 0 and again.fetched == 150
    assert sink.store.items == items_before


def test_backfill_fetches_nothing_twice_when_resumed_after_an_interruption(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 350))
    checkpoints = MemoryCheckpoints()
    cut = Sink(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        Backfill(client(discord), cut, checkpoints, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])
    resumed = Sink()

    Backfill(client(discord), resumed, checkpoints, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    assert len(cut.message_ids) == 200
    assert sorted(cut.message_ids + resumed.message_ids) == sorted(m["id"] for m in history(TEXT, START, 350))
    first_after_resume = message_pages(discord, TEXT)[3]
    assert f"after={cut.message_ids[-1]}" in first_after_resume.query


def test_backfill_reports_and_skips_a_channel_when_the_bot_cannot_read_it(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 5))
    discord.history.add_messages(OTHER, history(OTHER, START, 5))
    discord.history.deny_read(OTHER)
    sink = Sink()

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    [skipped] = [c for c in summary.skipped if c.kind == "channel"]
    assert skipped.channel_id == OTHER and "403" in skipped.reason and "50001" in skipped.reason
    assert summary.fetched == 5
    assert any(OTHER in line and "skipped" in line for line in summary.lines())


def test_backfill_waits_out_429s_when_discord_rate_limits_the_history(discord: FakeDiscordRest) -> None:
    discord.limits["GET /channels/{channels}/messages"] = (1, 0.2)
    discord.history.add_messages(TEXT, history(TEXT, START, 300))
    discord.script(rate_limited(r"GET /channels/\d+/messages", retry_after=0.1, times=2))
    rest = client(discord)
    sink = Sink()

    summary = Backfill(rest, sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    assert summary.fetched == 300 and not summary.failed
    assert [r.status for r in discord.requests if r.path.endswith("/messages")].count(429) >= 2
    assert rest.limiter.stats.rate_limited >= 2


def test_backfill_takes_only_the_window_when_after_and_before_are_given(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 600))
    sink = Sink()
    window = Window(START + timedelta(seconds=100), START + timedelta(seconds=350))

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, window, channel_ids=[TEXT])

    assert summary.fetched == 250
    assert len(message_pages(discord, TEXT)) == 3


def test_backfill_costs_no_request_when_a_channel_has_no_message_since_the_window(discord: FakeDiscordRest) -> None:
    discord.history.add_messages(TEXT, history(TEXT, START, 10))
    sink = Sink()

    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, Window(START + timedelta(hours=1)))

    assert message_pages(discord, TEXT) == [] and sink.message_ids == []


def test_backfill_reads_active_and_archived_threads_when_the_guild_has_them(discord: FakeDiscordRest) -> None:
    discord.history.add_channel(GUILD, THREAD, type=11, parent_id=TEXT)
    discord.history.add_channel(
        GUILD, OLD_THREAD, type=11, parent_id=TEXT, archived=True, archive_timestamp="2026-11-20T13:00:00+00:00"
    )
    discord.history.add_channel(
        GUILD, SECRET_THREAD, type=12, parent_id=TEXT, archived=True, archive_timestamp="2026-11-20T13:00:00+00:00"
    )
    discord.history.deny_private_threads(TEXT)
    for thread in (THREAD, OLD_THREAD, SECRET_THREAD):
        discord.history.add_messages(thread, history(thread, START, 4))
    sink = Sink()

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD)

    fetched = {c.channel_id: c.fetched for c in summary.channels if c.kind == "thread"}
    assert fetched == {THREAD: 4, OLD_THREAD: 4}
    [refused] = summary.skipped
    assert refused.kind == "private archived threads of" and "Manage Threads" in refused.reason


def test_backfill_leaves_out_what_is_not_a_message_when_a_page_holds_junk(discord: FakeDiscordRest) -> None:
    from guildlog_tools.fakes.discord_rest import Scripted

    messages = history(TEXT, START, 2)
    discord.history.add_messages(TEXT, messages)
    junk: Any = [messages[1], "junk", {"id": "not-a-snowflake"}, None, messages[0]]
    discord.script(Scripted(rf"GET /channels/{TEXT}/messages", 200, junk))
    sink = Sink()

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    assert summary.fetched == 2 and not summary.failed and sorted(sink.message_ids) == sorted(m["id"] for m in messages)


# --- a message the relay also delivered: one create, whichever path stored it first ----------------

SESSION = "relay-session-1"
EDITED_AT = "2026-11-20T12:30:00+00:00"
LONG = "x" * 1500  # a create over one write unit keeps its own `M#<id>` / `V#<time>` version item


def live(sink: Sink, events: list[dict[str, Any]], batch_id: str = "relay-0-1") -> Any:
    """Events as the relay forwards them (gateway dispatches of one session), through the same Ingestor."""
    payload = json.loads(
        json.dumps({"v": 1, "batch_id": batch_id, "relay": {"session_id": SESSION, "shard": [0, 1]}, "events": events})
    )
    return sink.ingestor.ingest(Envelope.model_validate(payload), payload["events"])


def dispatch(t: str, message: dict[str, Any], seq: int, at: str | None = None, guild: str = GUILD) -> dict[str, Any]:
    received = at or message["timestamp"]
    return {"t": t, "seq": seq, "received_at": received, "d": {**message, "guild_id": guild}}


def creates(messages: list[dict[str, Any]], first_seq: int = 1, guild: str = GUILD) -> list[dict[str, Any]]:
    return [dispatch("MESSAGE_CREATE", m, first_seq + n, guild=guild) for n, m in enumerate(messages)]


def feed_of(sink: Sink, message_id: str) -> list[dict[str, Any]]:
    return [
        i
        for (_, sk), i in sorted(sink.store.items.items())
        if sk.startswith("E#") and i.get("message_id") == message_id
    ]


def versions_of(sink: Sink, message_id: str) -> list[dict[str, Any]]:
    pk = keys.message_pk(message_id)
    return [i for (p, sk), i in sorted(sink.store.items.items()) if p == pk and sk.startswith(keys.VERSION_PREFIX)]


def messages_counted(sink: Sink) -> int:
    return sum(day.get("messages", 0) for day in sink.store.counters.values())


def test_backfill_stores_nothing_new_when_the_relay_logged_the_channel_first(discord: FakeDiscordRest) -> None:
    messages = history(TEXT, START, 150)
    discord.history.add_messages(TEXT, messages)
    sink = Sink()
    live(sink, creates(messages))

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    assert (summary.fetched, summary.stored) == (150, 0)
    assert all(len(feed_of(sink, m["id"])) == 1 for m in messages)
    assert messages_counted(sink) == 150
    archived = sink.archive.lines("events/")
    assert len(archived) == 300  # both captures are archived; readers and compaction keep one per event id
    assert len({r["event_id"] for r in archived}) == 150


def test_ingest_stores_nothing_new_when_the_live_create_arrives_after_a_backfill(discord: FakeDiscordRest) -> None:
    messages = history(TEXT, START, 150)
    discord.history.add_messages(TEXT, messages)
    sink = Sink()
    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    late = live(sink, creates(messages))  # a relay spool drained after the backfill

    assert (late.accepted, late.duplicates) == (0, 150)
    assert all(len(feed_of(sink, m["id"])) == 1 for m in messages)
    assert messages_counted(sink) == 150


def test_backfill_keeps_each_version_once_when_an_edit_was_logged_live_first(discord: FakeDiscordRest) -> None:
    original = rest_message(TEXT, START, LONG)
    edited = {**original, "content": "second", "edited_timestamp": EDITED_AT}
    discord.history.add_messages(TEXT, [edited])
    sink = Sink()
    live(sink, [dispatch("MESSAGE_CREATE", original, 1), dispatch("MESSAGE_UPDATE", edited, 2, EDITED_AT)])

    summary = Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    assert summary.stored == 0
    assert [(i["action"], i["content"][:6]) for i in feed_of(sink, original["id"])] == [
        ("create", "xxxxxx"),
        ("update", "second"),
    ]
    # The create's version keeps the text it was sent with; the edit's is there once.
    assert [(v["version"], v["content"][:6]) for v in versions_of(sink, original["id"])] == [
        ("create", "xxxxxx"),
        ("edit", "second"),
    ]


def test_ingest_keeps_each_version_once_when_the_live_create_and_edit_arrive_after_a_backfill(
    discord: FakeDiscordRest,
) -> None:
    original = rest_message(TEXT, START, "first")
    edited = {**original, "content": "second", "edited_timestamp": EDITED_AT}
    discord.history.add_messages(TEXT, [edited])
    sink = Sink()
    Backfill(client(discord), sink, clock=lambda: NOW).run(GUILD, channel_ids=[TEXT])

    late = live(sink, [dispatch("MESSAGE_CREATE", original, 1), dispatch("MESSAGE_UPDATE", edited, 2, EDITED_AT)])

    assert (late.accepted, late.duplicates) == (1, 1)  # the edit is new; the create was backfilled
    assert [i["action"] for i in feed_of(sink, original["id"])] == ["create", "update"]
    assert [v["version"] for v in versions_of(sink, original["id"])] == ["edit"]
    assert messages_counted(sink) == 1


def test_backfill_leaves_out_a_message_when_the_relay_stored_its_create_under_a_session_and_sequence_id(
    discord: FakeDiscordRest,
) -> None:
    from guildlog.models.envelope import EnvelopeEvent
    from guildlog.services.known_creates import HotCreates
    from guildlog.services.normalize import normalize
    from tests.fakes.memory_table import MemoryTable

    messages = history(TEXT, START, 250)
    discord.history.add_messages(TEXT, messages)
    sink = Sink()
    table = MemoryTable()
    table.items = sink.store.items  # the reader and the Ingestor see one table
    # Logged by the relay before a create's id was its message id: `gw:<session>:<seq>`.
    logged = [
        normalize(EnvelopeEvent.model_validate(dispatch("MESSAGE_CREATE", m, n)), event_id=f"gw:old:{n}", batch_id="r")
        for n, m in enumerate(messages[:120])
    ]
    table.add_rows(logged, batch_id="relay-old")

    summary = Backfill(client(discord), sink, clock=lambda: NOW, known=HotCreates(table)).run(GUILD, channel_ids=[TEXT])

    [text] = [c for c in summary.channels if c.channel_id == TEXT]
    assert (text.fetched, text.known, text.stored) == (250, 120, 130)
    assert "120 logged before" in text.line()
    assert all(len(feed_of(sink, m["id"])) == 1 for m in messages)
    assert messages_counted(sink) == 250
    # The check's cost: one Query of the channel's index per page of 100 messages.
    assert [q["index"] for q in table.queries] == ["GSI2"] * 3


def test_backfill_leaves_nothing_out_when_the_creates_stored_are_its_own(discord: FakeDiscordRest) -> None:
    from guildlog.services.known_creates import HotCreates
    from tests.fakes.memory_table import MemoryTable

    messages = history(TEXT, START, 30)
    discord.history.add_messages(TEXT, messages)
    sink = Sink()
    table = MemoryTable()
    table.items = sink.store.items
    live(sink, creates(messages))

    summary = Backfill(client(discord), sink, clock=lambda: NOW, known=HotCreates(table)).run(GUILD, channel_ids=[TEXT])

    # Stored as `msg:<id>` already: ingest's own read finds them, the page goes to it whole.
    assert (summary.fetched, summary.stored, summary.channels[-1].known) == (30, 0, 0)
    assert sorted(sink.message_ids) == sorted(m["id"] for m in messages)
