"""A small, hand-made guild history written through the real ingest path into an S3 bucket.

The named-query, export and compaction tests all read this history, so their expected answers
can be worked out by hand from the timeline below. It spans four UTC days: 2026-11-18 (an old
message that is deleted later), the 19th and 20th (the days the tests ask about) and the 21st
(which a query for the 19th to the 20th must never read), plus one event of another guild.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.models.envelope import Envelope
from guildlog.services.hot_items import Item
from guildlog.services.ingest import Ingestor, IngestResult

GUILD = "700000000000000001"
OTHER_GUILD = "700000000000000002"
GENERAL = "700000000000000010"  # #general
RANDOM = "700000000000000011"  # #random
ALICE = "700000000000000100"
BOB = "700000000000000101"
CAROL = "700000000000000102"
MOD = "700000000000000103"
SESSION = "fixture-session"
DISCORD_EPOCH_MS = 1_420_070_400_000


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def snowflake(text: str, n: int = 0) -> str:
    """A snowflake created at the ISO time `text` (Discord's epoch, worker bits 0)."""
    return str(((int(moment(text).timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + n)


M0 = snowflake("2026-11-18T10:00:00.000Z")  # alice, #general, deleted on the 20th
M1 = snowflake("2026-11-19T22:10:00.000Z")  # alice, #general, edited twice, deleted
M2 = snowflake("2026-11-19T22:20:00.000Z")  # bob, #general
M3 = snowflake("2026-11-19T23:30:00.000Z")  # alice, #random, two lines
M4 = snowflake("2026-11-20T00:10:00.000Z")  # carol, #general
M5 = snowflake("2026-11-20T01:00:00.000Z")  # bob, #general, bulk-deleted
M6 = snowflake("2026-11-21T09:00:00.000Z")  # alice, #general, outside the asked days
M7 = snowflake("2026-11-20T03:00:00.000Z")  # alice, in the other guild


def _author(user_id: str, name: str) -> dict[str, Any]:
    return {"id": user_id, "username": name, "global_name": name.title()}


def message_create(message_id: str, channel: str, user: str, name: str, at: str, content: str, **extra: Any):
    data = {
        "id": message_id,
        "channel_id": channel,
        "guild_id": extra.pop("guild", GUILD),
        "author": _author(user, name),
        "content": content,
        "timestamp": at,
        "edited_timestamp": None,
        "attachments": extra.pop("attachments", []),
        "embeds": [],
        "mentions": [],
        "type": 0,
    }
    data.update(extra)
    return ("MESSAGE_CREATE", data, at)


def message_update(message_id: str, channel: str, user: str, name: str, created: str, at: str, content: str):
    return (
        "MESSAGE_UPDATE",
        {
            "id": message_id,
            "channel_id": channel,
            "guild_id": GUILD,
            "author": _author(user, name),
            "content": content,
            "timestamp": created,
            "edited_timestamp": at,
            "type": 0,
        },
        at,
    )


def audit(action_type: int, actor: str, target: str, at: str, reason: str | None = None, **options: str):
    data: dict[str, Any] = {
        "id": snowflake(at, 7),
        "guild_id": GUILD,
        "action_type": action_type,
        "user_id": actor,
        "target_id": target,
    }
    if reason:
        data["reason"] = reason
    if options:
        data["options"] = options
    return ("GUILD_AUDIT_LOG_ENTRY_CREATE", data, at)


def command(name: str, user: str, user_name: str, at: str, channel: str = GENERAL, sub: str | None = None):
    options = [{"name": sub, "type": 1, "options": []}] if sub else []
    return (
        "INTERACTION_CREATE",
        {
            "id": snowflake(at, 3),
            "type": 2,
            "guild_id": GUILD,
            "channel_id": channel,
            "member": {"user": _author(user, user_name)},
            "data": {"id": "700000000000000900", "name": name, "type": 1, "options": options},
        },
        at,
    )


# (batch_id, [(t, d, received_at)]) in delivery order.
BATCHES: list[tuple[str, list[tuple[str, dict[str, Any], str]]]] = [
    ("batch-0001", [message_create(M0, GENERAL, ALICE, "alice", "2026-11-18T10:00:00.000Z", "old news")]),
    (
        "batch-0002",
        [
            message_create(M1, GENERAL, ALICE, "alice", "2026-11-19T22:10:00.000Z", "hello"),
            message_create(M2, GENERAL, BOB, "bob", "2026-11-19T22:20:00.000Z", 'hi "alice", welcome\\back'),
            message_create(
                M3,
                RANDOM,
                ALICE,
                "alice",
                "2026-11-19T23:30:00.000Z",
                "line one\nline two",
                attachments=[
                    {
                        "id": "700000000000000500",
                        "filename": "cat.png",
                        "size": 2048,
                        "url": "https://cdn.example/cat.png",
                    }
                ],
            ),
        ],
    ),
    (
        "batch-0003",
        [
            message_update(
                M1, GENERAL, ALICE, "alice", "2026-11-19T22:10:00.000Z", "2026-11-19T23:40:00.000Z", "hello, world"
            ),
            (
                "GUILD_MEMBER_ADD",
                {
                    "guild_id": GUILD,
                    "user": _author(CAROL, "carol"),
                    "joined_at": "2026-11-19T23:50:00.000Z",
                    "roles": [],
                },
                "2026-11-19T23:50:00.100Z",
            ),
            command("logs", BOB, "bob", "2026-11-19T23:55:00.000Z", sub="recent"),
            # A batch that spans midnight: these land on the 20th.
            message_update(
                M1, GENERAL, ALICE, "alice", "2026-11-19T22:10:00.000Z", "2026-11-20T00:05:00.000Z", "hello, world!"
            ),
            message_create(M4, GENERAL, CAROL, "carol", "2026-11-20T00:10:00.000Z", "first!"),
        ],
    ),
    (
        "batch-0004",
        [
            ("MESSAGE_DELETE", {"id": M1, "channel_id": GENERAL, "guild_id": GUILD}, "2026-11-20T00:30:00.000Z"),
            ("MESSAGE_DELETE", {"id": M0, "channel_id": GENERAL, "guild_id": GUILD}, "2026-11-20T00:31:00.000Z"),
            message_create(M5, GENERAL, BOB, "bob", "2026-11-20T01:00:00.000Z", "spam spam"),
            (
                "MESSAGE_DELETE_BULK",
                {"ids": [M5], "channel_id": GENERAL, "guild_id": GUILD},
                "2026-11-20T01:05:00.000Z",
            ),
            audit(73, MOD, GENERAL, "2026-11-20T01:05:00.000Z", count="1", channel_id=GENERAL),
            audit(24, MOD, BOB, "2026-11-20T01:06:00.000Z", reason="cool down"),
            audit(22, MOD, CAROL, "2026-11-20T01:10:00.000Z", reason="spam"),
            audit(10, MOD, RANDOM, "2026-11-20T01:11:00.000Z"),
            (
                "GUILD_MEMBER_REMOVE",
                {"guild_id": GUILD, "user": _author(CAROL, "carol")},
                "2026-11-20T01:10:00.500Z",
            ),
            command("logs", BOB, "bob", "2026-11-20T02:00:00.000Z", sub="export"),
            command("ping", ALICE, "alice", "2026-11-20T02:05:00.000Z"),
            message_create(M7, GENERAL, ALICE, "alice", "2026-11-20T03:00:00.000Z", "elsewhere", guild=OTHER_GUILD),
        ],
    ),
    ("batch-0005", [message_create(M6, GENERAL, ALICE, "alice", "2026-11-21T09:00:00.000Z", "tomorrow")]),
]
DAYS = ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21")


def envelopes() -> list[tuple[Envelope, list[dict[str, Any]]]]:
    """The batches as validated envelopes with their raw events, sequence numbers in delivery order."""
    out = []
    seq = 0
    for batch_id, events in BATCHES:
        raw = []
        for t, d, received_at in events:
            seq += 1
            raw.append({"seq": seq, "t": t, "received_at": received_at, "source": "gateway", "d": d})
        body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": SESSION, "shard": [0, 1]}, "events": raw}
        out.append((Envelope.model_validate(body), raw))
    return out


class NullStore:
    """The hot store port with nothing behind it: these tests are about the archive."""

    def put_items(self, items: list[Item]) -> int:
        return len(items)

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, GuildConfig]:
        return {}


def ingest(archive: Any, batches: Iterable[tuple[Envelope, list[dict[str, Any]]]] | None = None) -> list[IngestResult]:
    """Write the batches (default: all of them) through the ingest service into `archive`."""
    ingestor = Ingestor(archive, NullStore(), clock=lambda: moment("2026-11-22T00:00:00Z"))
    return [ingestor.ingest(envelope, raw) for envelope, raw in (batches if batches is not None else envelopes())]


# A second history for the export tests (the query tests' answers do not include it): names for
# the guild and #general, a reply with a mention, and reactions added and taken back.
M8 = snowflake("2026-11-19T22:30:00.000Z")  # carol replies to bob in #general
CATEGORY = "700000000000000009"
EXPORT_BATCH: tuple[str, list[tuple[str, dict[str, Any], str]]] = (
    "batch-0101",
    [
        ("GUILD_UPDATE", {"id": GUILD, "name": "Fixture Guild"}, "2026-11-19T21:00:00.000Z"),
        (
            "CHANNEL_CREATE",
            {"id": CATEGORY, "guild_id": GUILD, "type": 4, "name": "Chat", "position": 0},
            "2026-11-19T21:00:01.000Z",
        ),
        (
            "CHANNEL_UPDATE",
            {"id": GENERAL, "guild_id": GUILD, "type": 0, "name": "general", "topic": "say hi", "parent_id": CATEGORY},
            "2026-11-19T21:00:02.000Z",
        ),
        message_create(
            M8,
            GENERAL,
            CAROL,
            "carol",
            "2026-11-19T22:30:00.000Z",
            "<@700000000000000101> welcome!",
            type=19,
            message_reference={"message_id": M2, "channel_id": GENERAL, "guild_id": GUILD},
            mentions=[_author(BOB, "bob")],
            attachments=[
                {"id": "700000000000000501", "filename": "hi.gif", "size": 512, "url": "https://cdn.example/hi.gif"}
            ],
        ),
        (
            "MESSAGE_REACTION_ADD",
            {
                "user_id": ALICE,
                "message_id": M2,
                "channel_id": GENERAL,
                "guild_id": GUILD,
                "emoji": {"id": None, "name": "👍"},
                "member": {"user": _author(ALICE, "alice")},
            },
            "2026-11-19T22:31:00.000Z",
        ),
        (
            "MESSAGE_REACTION_ADD",
            {
                "user_id": CAROL,
                "message_id": M2,
                "channel_id": GENERAL,
                "guild_id": GUILD,
                "emoji": {"id": "700000000000000777", "name": "party", "animated": True},
                "member": {"user": _author(CAROL, "carol")},
            },
            "2026-11-19T22:32:00.000Z",
        ),
        (
            "MESSAGE_REACTION_ADD",
            {
                "user_id": CAROL,
                "message_id": M2,
                "channel_id": GENERAL,
                "guild_id": GUILD,
                "emoji": {"id": None, "name": "👍"},
                "member": {"user": _author(CAROL, "carol")},
            },
            "2026-11-19T22:33:00.000Z",
        ),
        (
            "MESSAGE_REACTION_REMOVE",
            {
                "user_id": CAROL,
                "message_id": M2,
                "channel_id": GENERAL,
                "guild_id": GUILD,
                "emoji": {"id": "700000000000000777", "name": "party"},
            },
            "2026-11-19T22:34:00.000Z",
        ),
    ],
)


def export_envelopes() -> list[tuple[Envelope, list[dict[str, Any]]]]:
    """The history and the export batch, sequence numbers carrying on after the history's."""
    history = envelopes()
    seq = sum(len(events) for _, events in BATCHES)
    batch_id, events = EXPORT_BATCH
    raw = []
    for t, d, received_at in events:
        seq += 1
        raw.append({"seq": seq, "t": t, "received_at": received_at, "source": "gateway", "d": d})
    body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": SESSION, "shard": [0, 1]}, "events": raw}
    return [*history, (Envelope.model_validate(body), raw)]
