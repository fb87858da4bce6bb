"""guildlog.services.hot_items: the DynamoDB item shapes and counters of normalized rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.models.config import GuildConfig
from guildlog.models.envelope import EnvelopeEvent
from guildlog.models.row import EventRow
from guildlog.services import hot_items
from guildlog.services.hot_items import (
    FEED_CONTENT_CHARS,
    MAX_ITEM_BYTES,
    counter_items,
    expires_at,
    feed_item,
    fold,
    is_hot,
    message_items,
    relay_items,
)
from guildlog.services.normalize import normalize

GUILD = "100000000000000001"
CHANNEL = "100000000000000002"
USER = "100000000000000003"
MESSAGE = "100000000000000004"
MODERATOR = "100000000000000005"
OTHER_CHANNEL = "100000000000000006"
TTL = 1_800_000_000


def make_row(**fields: Any) -> EventRow:
    base: dict[str, Any] = {
        "event_id": "gw:s1:42",
        "batch_id": "batch-1",
        "source": "gateway",
        "event_type": "MESSAGE_CREATE",
        "category": "message",
        "action": "create",
        "occurred_at": "2026-03-07T12:00:00.000Z",
        "received_at": "2026-03-07T12:00:00.120Z",
        "seq": 42,
        "shard_id": 0,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "user_id": USER,
        "message_id": MESSAGE,
        "user_name": "alice",
        "content": "hello",
    }
    return EventRow(**{**base, **fields})


def from_payload(t: str, d: dict[str, Any], *, event_id: str = "gw:s1:1") -> EventRow:
    event = EnvelopeEvent(t=t, received_at=datetime(2026, 3, 7, 12, 0, 5, tzinfo=UTC), d=d)
    return normalize(event, event_id=event_id, batch_id="batch-1", shard_id=0)


def item_bytes(item: dict[str, Any]) -> int:
    return len(json.dumps(item, ensure_ascii=False).encode("utf-8"))


# --- the feed -------------------------------------------------------------------------------------


def test_feed_item_keys_by_guild_time_and_event_when_row_has_a_guild() -> None:
    item = feed_item(make_row(), TTL)

    assert (item["PK"], item["SK"]) == (f"G#{GUILD}", "E#2026-03-07T12:00:00.000Z#gw:s1:42")
    assert item["expires_at"] == TTL


def test_feed_item_uses_the_no_guild_partition_when_row_has_no_guild() -> None:
    item = feed_item(make_row(guild_id=None, category="relay", event_type="READY", action="ready"), TTL)

    assert item["PK"] == "G#-"


def test_feed_item_fills_every_index_when_row_has_user_channel_and_an_indexed_category() -> None:
    item = feed_item(make_row(category="voice", action="join"), TTL)

    assert item["GSI1PK"] == f"G#{GUILD}#U#{USER}"
    assert item["GSI2PK"] == f"G#{GUILD}#C#{CHANNEL}"
    assert item["GSI3PK"] == f"G#{GUILD}#K#voice"
    assert item["GSI1SK"] == item["GSI2SK"] == item["GSI3SK"] == item["SK"]


def test_feed_item_leaves_the_category_index_out_when_row_is_a_message() -> None:
    item = feed_item(make_row(), TTL)

    assert not {"GSI3PK", "GSI3SK"} & item.keys()
    assert item["GSI1PK"] == f"G#{GUILD}#U#{USER}"


def test_feed_item_leaves_user_and_channel_indexes_out_when_row_has_neither() -> None:
    item = feed_item(make_row(user_id=None, channel_id=None, category="server", action="role_create"), TTL)

    assert not {"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"} & item.keys()
    assert item["GSI3PK"] == f"G#{GUILD}#K#server"


def test_feed_item_indexes_the_actor_by_user_when_row_has_only_an_actor() -> None:
    row = make_row(user_id=None, actor_id=MODERATOR, category="moderation", action="member_kick")

    assert feed_item(row, TTL)["GSI1PK"] == f"G#{GUILD}#U#{MODERATOR}"


def test_feed_item_drops_empty_attributes_when_fields_are_none_or_empty_details() -> None:
    item = feed_item(make_row(reason=None, user_name=None, details="{}"), TTL)

    assert not {"reason", "user_name", "details", "actor_id", "content_truncated"} & item.keys()
    assert all(value is not None and value != "" for value in item.values())


def test_feed_item_truncates_content_when_content_is_longer_than_the_feed_keeps() -> None:
    item = feed_item(make_row(action="update", content="x" * (FEED_CONTENT_CHARS + 1)), TTL)

    assert item["content"] == "x" * FEED_CONTENT_CHARS
    assert item["content_truncated"] is True


def test_feed_item_keeps_content_whole_when_content_fits_the_feed() -> None:
    item = feed_item(make_row(content="x" * FEED_CONTENT_CHARS), TTL)

    assert item["content"] == "x" * FEED_CONTENT_CHARS
    assert "content_truncated" not in item


def test_feed_item_stays_under_the_item_limit_when_details_are_huge() -> None:
    details = json.dumps({"changes": ["y" * 1000] * 600})

    item = feed_item(make_row(details=details), TTL)

    assert item_bytes(item) <= MAX_ITEM_BYTES
    assert item["truncated"] is True


def test_expires_at_adds_the_retention_to_the_event_time_when_computed() -> None:
    row = make_row(occurred_at="2026-03-07T00:00:00.000Z")

    assert expires_at(row, 30) == int(datetime(2026, 4, 6, tzinfo=UTC).timestamp())


# --- message versions and deletions --------------------------------------------------------------


def test_message_items_keep_the_created_version_whole_when_message_is_created() -> None:
    content = "long message " * 100
    [item] = message_items(make_row(content=content), TTL)

    assert (item["PK"], item["SK"]) == (f"M#{MESSAGE}", "V#2026-03-07T12:00:00.000Z")
    assert (item["version"], item["content"], item["expires_at"]) == ("create", content, TTL)


def test_message_items_key_an_edit_by_its_edit_time_when_message_is_edited() -> None:
    row = from_payload(
        "MESSAGE_UPDATE",
        {
            "id": MESSAGE,
            "channel_id": CHANNEL,
            "guild_id": GUILD,
            "content": "edited",
            "edited_timestamp": "2026-03-07T12:30:00.250000+00:00",
            "author": {"id": USER, "username": "alice"},
        },
    )

    [item] = message_items(row, TTL)

    assert (item["SK"], item["version"], item["content"]) == ("V#2026-03-07T12:30:00.250Z", "edit", "edited")


def test_message_items_land_on_one_key_when_the_same_edit_arrives_under_another_event_id() -> None:
    first = message_items(make_row(action="update", event_id="gw:s1:7"), TTL)[0]
    again = message_items(make_row(action="update", event_id="gw:s2:3"), TTL)[0]

    assert (first["PK"], first["SK"]) == (again["PK"], again["SK"])


def test_message_items_write_no_version_when_update_has_no_content() -> None:
    row = from_payload(
        "MESSAGE_UPDATE",
        {"id": MESSAGE, "channel_id": CHANNEL, "guild_id": GUILD, "embeds": [{"type": "link"}]},
    )

    assert row.content is None
    assert message_items(row, TTL) == []


def test_message_items_write_a_deletion_marker_when_message_is_deleted() -> None:
    row = from_payload("MESSAGE_DELETE", {"id": MESSAGE, "channel_id": CHANNEL, "guild_id": GUILD})

    [item] = message_items(row, TTL)

    assert (item["PK"], item["SK"], item["kind"]) == (f"M#{MESSAGE}", "DEL", "message_delete")
    assert item["deleted_at"] == row.occurred_at
    assert item["event_id"] == "gw:s1:1"


def test_message_items_mark_every_message_when_messages_are_bulk_deleted() -> None:
    ids = [str(100000000000000100 + i) for i in range(3)]
    row = from_payload("MESSAGE_DELETE_BULK", {"ids": ids, "channel_id": CHANNEL, "guild_id": GUILD})

    items = message_items(row, TTL)

    assert [(i["PK"], i["SK"]) for i in items] == [(f"M#{mid}", "DEL") for mid in ids]
    assert all(i["bulk"] is True and i["deleted_at"] == row.occurred_at for i in items)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"category": "member", "action": "join", "event_type": "GUILD_MEMBER_ADD"}, id="member"),
        pytest.param({"action": "reaction_add", "event_type": "MESSAGE_REACTION_ADD", "content": None}, id="reaction"),
    ],
)
def test_message_items_write_nothing_when_row_is_not_a_version_or_deletion(fields: dict[str, Any]) -> None:
    assert message_items(make_row(**fields), TTL) == []


def test_message_items_stay_under_the_item_limit_when_content_is_one_megabyte() -> None:
    content = "a" * 1_000_000

    [item] = message_items(make_row(content=content), TTL)

    assert item_bytes(item) <= MAX_ITEM_BYTES
    assert item["truncated"] is True
    assert content.startswith(item["content"])
    assert len(item["content"]) > MAX_ITEM_BYTES // 2


def test_message_items_keep_as_much_as_fits_when_multibyte_content_is_one_megabyte() -> None:
    content = "你" * 350_000  # three bytes each in UTF-8

    [item] = message_items(make_row(content=content), TTL)

    assert item_bytes(item) <= MAX_ITEM_BYTES
    assert content.startswith(item["content"])
    assert len(item["content"].encode("utf-8")) > MAX_ITEM_BYTES // 2


def test_message_items_keep_attachments_when_only_the_content_is_too_big() -> None:
    attachments = json.dumps([{"id": MESSAGE, "filename": "cat.png", "size": 1234}])

    [item] = message_items(make_row(content="a" * 1_000_000, attachments=attachments), TTL)

    assert item_bytes(item) <= MAX_ITEM_BYTES
    assert item["attachments"] == attachments


# --- relay contacts -------------------------------------------------------------------------------


def test_relay_items_record_a_contact_per_shard_when_row_is_a_relay_event() -> None:
    row = make_row(
        category="relay",
        event_type="GUILDLOG_CONNECT",
        action="connect",
        guild_id=None,
        channel_id=None,
        user_id=None,
        message_id=None,
        content=None,
        shard_id=2,
        event_id="relay:c-1",
        occurred_at="2026-03-07T00:00:00.000Z",
    )

    [item] = relay_items(row)

    assert (item["PK"], item["SK"]) == ("RELAY#2", "C#2026-03-07T00:00:00.000Z#relay:c-1")
    assert item["expires_at"] == int(datetime(2026, 3, 14, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"category": "relay", "action": "connect", "shard_id": None}, id="relay-without-shard"),
        pytest.param({}, id="not-a-relay-event"),
    ],
)
def test_relay_items_write_nothing_when_row_is_not_a_shard_contact(fields: dict[str, Any]) -> None:
    assert relay_items(make_row(**fields)) == []


# --- guild configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "row_fields", "expected"),
    [
        pytest.param(None, {}, True, id="no-config"),
        pytest.param(GuildConfig(guild_id=GUILD), {}, True, id="default-config"),
        pytest.param(GuildConfig(guild_id=GUILD, ignored_channels={CHANNEL}), {}, False, id="ignored-channel"),
        pytest.param(GuildConfig(guild_id=GUILD, ignored_channels={OTHER_CHANNEL}), {}, True, id="other-channel"),
        pytest.param(
            GuildConfig(guild_id=GUILD, ignored_channels={CHANNEL}),
            {"channel_id": None, "category": "member", "action": "join"},
            True,
            id="no-channel",
        ),
        pytest.param(GuildConfig(guild_id=GUILD, disabled_categories={"message"}), {}, False, id="disabled-category"),
        pytest.param(GuildConfig(guild_id=GUILD, disabled_categories={"voice"}), {}, True, id="other-category"),
    ],
)
def test_is_hot_follows_the_guild_config_when_deciding(
    config: GuildConfig | None, row_fields: dict[str, Any], expected: bool
) -> None:
    assert is_hot(make_row(**row_fields), config) is expected


# --- counters -------------------------------------------------------------------------------------


def ttls(*rows: EventRow) -> dict[str, int]:
    return {row.event_id: TTL for row in rows}


def counter_ttl(row: EventRow, ttl: int = TTL) -> int:
    """A counter item lives until its day's end plus the row's retention (its TTL minus its time)."""
    occurred = int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp())
    return occurred - occurred % 86_400 + 86_400 + (ttl - occurred)


def counters(item: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "kind", "expires_at")}


def test_counter_items_count_messages_by_channel_and_user_when_messages_are_created() -> None:
    rows = [make_row(event_id=f"gw:s1:{i}") for i in range(3)]

    items = counter_items("batch-1", rows, ttls(*rows))

    assert items == [
        {
            "PK": f"G#{GUILD}#D#2026-03-07",
            "SK": "B#batch-1",
            "kind": "counter_delta",
            f"c#{CHANNEL}": 3,
            "k#message": 3,
            "messages": 3,
            f"u#{USER}": 3,
            "expires_at": counter_ttl(rows[0]),
        }
    ]


def test_counter_items_split_by_day_when_rows_span_midnight() -> None:
    rows = [
        make_row(event_id="a", occurred_at="2026-03-07T23:59:59.999Z"),
        make_row(event_id="b", occurred_at="2026-03-08T00:00:00.000Z"),
    ]

    pks = {i["PK"] for i in counter_items("batch-1", rows, ttls(*rows))}

    assert pks == {f"G#{GUILD}#D#2026-03-07", f"G#{GUILD}#D#2026-03-08"}


def test_counter_items_keep_the_latest_expiry_when_rows_share_an_item() -> None:
    rows = [make_row(event_id="a"), make_row(event_id="b")]

    [delta] = counter_items("batch-1", rows, {"a": TTL, "b": TTL + 60})

    assert delta["expires_at"] == counter_ttl(rows[1], TTL + 60)


def test_counter_items_expire_with_the_day_when_rows_of_one_day_come_in_any_order() -> None:
    early = make_row(event_id="a", occurred_at="2026-03-07T00:00:01.000Z")
    late = make_row(event_id="b", occurred_at="2026-03-07T23:59:59.000Z")
    retention = 30 * 86_400

    def ttl(row: EventRow) -> int:
        return int(datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00")).timestamp()) + retention

    [alone_early] = counter_items("batch-1", [early], {"a": ttl(early)})
    [alone_late] = counter_items("batch-2", [late], {"b": ttl(late)})

    assert alone_early["expires_at"] == alone_late["expires_at"]


def test_counter_items_are_the_same_when_rows_come_in_another_order() -> None:
    rows = [
        make_row(event_id="a", guild_id="100000000000000009"),
        make_row(event_id="b", occurred_at="2026-03-06T10:00:00.000Z"),
        make_row(event_id="c", user_id="100000000000000008"),
        make_row(event_id="d"),
    ]

    forward = counter_items("batch-1", rows, ttls(*rows))

    assert forward == counter_items("batch-1", list(reversed(rows)), ttls(*rows))
    assert [(i["PK"], i["SK"]) for i in forward] == sorted((i["PK"], i["SK"]) for i in forward)


def test_counter_items_continue_in_parts_when_a_batch_names_more_attributes_than_one_item_holds() -> None:
    rows = [make_row(event_id=f"e{n}", user_id=str(100000000000000100 + n)) for n in range(1_200)]

    items = counter_items("batch-1", rows, ttls(*rows))

    assert [i["SK"] for i in items] == ["B#batch-1", "B#batch-1#1"]
    assert all(len(counters(i)) <= hot_items.MAX_DELTA_ATTRIBUTES for i in items)
    assert fold(items)["messages"] == 1_200
    assert sum(1 for name in fold(items) if name.startswith("u#")) == 1_200


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"category": "member", "action": "join"}, {"k#member": 1, "joins": 1}, id="join"),
        pytest.param({"category": "member", "action": "leave"}, {"k#member": 1, "leaves": 1}, id="leave"),
        pytest.param({"category": "member", "action": "update"}, {"k#member": 1}, id="member-update"),
        pytest.param(
            {
                "category": "moderation",
                "event_type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
                "action": "member_ban_add",
                "actor_id": MODERATOR,
            },
            {"k#moderation": 1, "mod_actions": 1, "a#member_ban_add": 1, f"m#{MODERATOR}": 1},
            id="audit-log-ban-with-moderator",
        ),
        pytest.param(
            {"category": "moderation", "event_type": "GUILD_BAN_ADD", "action": "ban"},
            {"k#moderation": 1, "bans": 1},
            id="ban-event-not-a-second-moderation-action",
        ),
        pytest.param(
            {
                "category": "moderation",
                "event_type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
                "action": "channel_create",
                "actor_id": MODERATOR,
            },
            {"k#moderation": 1},
            id="audit-log-server-change-not-a-moderation-action",
        ),
        pytest.param(
            {"category": "moderation", "event_type": "AUTO_MODERATION_ACTION_EXECUTION", "action": "automod_action"},
            {"k#moderation": 1, "mod_actions": 1, "a#automod_action": 1},
            id="automod",
        ),
        pytest.param(
            {"category": "command", "action": "command", "details": json.dumps({"command": "/logs search"})},
            {"k#command": 1, "commands": 1, "cmd#/logs search": 1},
            id="command",
        ),
        pytest.param(
            {"category": "command", "action": "component", "details": json.dumps({"custom_id": "x"})},
            {"k#command": 1},
            id="component",
        ),
        pytest.param({"action": "update"}, {"k#message": 1}, id="message-edit"),
    ],
)
def test_counter_items_count_by_kind_when_rows_are_not_message_creates(
    fields: dict[str, Any], expected: dict[str, int]
) -> None:
    row = make_row(**{"user_id": None, **fields})

    [delta] = counter_items("batch-1", [row], ttls(row))

    assert counters(delta) == expected


def test_counter_items_count_nothing_when_row_has_no_guild() -> None:
    row = make_row(guild_id=None, category="relay", action="connect")

    assert counter_items("batch-1", [row], ttls(row)) == []


def test_fold_sums_every_batch_and_the_older_total_and_member_items_when_a_day_has_both() -> None:
    day = f"G#{GUILD}#D#2026-03-07"
    items = [
        {"PK": day, "SK": "TOTAL", "messages": 4, f"c#{CHANNEL}": 4, "expires_at": TTL},
        {"PK": day, "SK": f"U#{USER}", "messages": 4, "expires_at": TTL},
        {"PK": day, "SK": "B#b1", "kind": "counter_delta", "messages": 2, f"u#{USER}": 2, "expires_at": TTL},
        {"PK": day, "SK": "B#b2", "kind": "counter_delta", "messages": 1, f"c#{CHANNEL}": 1, "expires_at": TTL},
    ]

    assert fold(items) == {"messages": 7, f"c#{CHANNEL}": 5, f"u#{USER}": 6}


def test_max_item_bytes_leaves_headroom_under_dynamodbs_limit_when_configured() -> None:
    assert hot_items.MAX_ITEM_BYTES < 400 * 1024


# --- the shards seen ------------------------------------------------------------------------------


def test_shard_items_index_each_shard_once_a_day_when_rows_have_a_shard() -> None:
    rows = [
        make_row(event_id="a", occurred_at="2026-03-07T12:00:00.000Z"),
        make_row(event_id="b", occurred_at="2026-03-07T23:59:59.999Z"),
        make_row(event_id="c", occurred_at="2026-03-08T00:00:00.000Z", guild_id=None, category="relay"),
    ]

    items = hot_items.shard_items(rows)

    assert [(i["PK"], i["SK"], i["kind"]) for i in items] == [
        ("RELAYS", "D#2026-03-07#S#0", "shard_seen"),
        ("RELAYS", "D#2026-03-08#S#0", "shard_seen"),
    ]


def test_shard_items_expire_with_their_day_when_rows_come_in_any_order() -> None:
    early = make_row(event_id="a", occurred_at="2026-03-07T12:00:01.000Z")
    late = make_row(event_id="b", occurred_at="2026-03-07T18:09:00.000Z")

    [day_late] = hot_items.shard_items([late])
    [day_early] = hot_items.shard_items([early])

    day_end = int(datetime(2026, 3, 8, tzinfo=UTC).timestamp())
    assert day_early == day_late
    assert day_early["expires_at"] == day_end + hot_items.RELAY_INDEX_TTL_SECONDS


def test_shard_items_index_nothing_when_row_came_through_no_shard() -> None:
    assert hot_items.shard_items([make_row(shard_id=None)]) == []


def test_feed_item_holds_the_create_whole_when_it_fits_one_write_unit() -> None:
    attachments = json.dumps([{"filename": "cat.png"}])
    row = make_row(content="x" * 300, attachments=attachments)

    item = feed_item(row, TTL)

    assert item["content"] == "x" * 300 and item["attachments"] == attachments and item["whole"] is True
    assert hot_items.item_size(item) <= hot_items.WRITE_UNIT_BYTES
    assert message_items(row, TTL) == []


def test_message_items_keep_the_create_version_when_the_create_does_not_fit_one_write_unit() -> None:
    row = make_row(content="x" * 1_000)

    [version] = message_items(row, TTL)

    assert version["content"] == "x" * 1_000
    assert "whole" not in feed_item(row, TTL)
    assert feed_item(row, TTL)["content"] == "x" * FEED_CONTENT_CHARS


def test_feed_item_is_not_a_version_when_the_row_is_an_edit() -> None:
    row = make_row(action="update", event_type="MESSAGE_UPDATE", content="short")

    assert "whole" not in feed_item(row, TTL)
    assert len(message_items(row, TTL)) == 1


def test_message_items_keep_the_authors_bot_flag_and_roles_when_the_message_says_them() -> None:
    d = {
        "id": "200000000000000001",
        "channel_id": "100000000000000002",
        "guild_id": "100000000000000001",
        "author": {"id": "100000000000000003", "username": "bot", "bot": True},
        "content": "x" * 1_000,  # too long to be held in the feed item: a version of its own
        "timestamp": "2026-03-01T00:00:00.000Z",
        "member": {"roles": ["100000000000000070"]},
    }

    [version] = message_items(from_payload("MESSAGE_CREATE", d), 2_000_000_000)

    assert version["bot"] is True and version["roles"] == ["100000000000000070"]
