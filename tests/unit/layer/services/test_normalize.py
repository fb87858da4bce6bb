"""services/normalize.py: one gateway dispatch → one EventRow, for every category.

Payloads are built by hand below, small and shaped like Discord's; ids are made from the moment
their object was created so the event-time rules can be checked against them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildlog.errors import NormalizationError
from guildlog.models.envelope import EnvelopeEvent
from guildlog.models.row import EventRow
from guildlog.services.normalize import event_time, normalize
from guildlog.services.timefmt import iso, snowflake_time
from tests.paths import DEMO_SESSION

DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
RECEIVED = "2026-11-20T00:00:00.250Z"


def snowflake_at(when: str, increment: int = 1) -> str:
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return str(((moment - DISCORD_EPOCH) // timedelta(milliseconds=1)) << 22 | increment)


GUILD = snowflake_at("2024-03-02T18:04:11.250Z")
GENERAL = snowflake_at("2024-03-02T18:04:11.253Z", 2)
LOUNGE = snowflake_at("2024-03-02T18:04:11.253Z", 3)
BEX = snowflake_at("2019-08-20T14:15:30Z")
MOD = snowflake_at("2017-03-02T21:40:00Z")
ADA = "59552946978947087"  # 17 digits: an account from 2015
MSG_TIME = "2026-11-19T23:59:59.981000+00:00"
MSG = snowflake_at(MSG_TIME)


# ---------------------------------------------------------------- builders


def envelope(t: str, d: Any, **fields: Any) -> EnvelopeEvent:
    fields.setdefault("seq", 42)
    fields.setdefault("received_at", RECEIVED)
    return EnvelopeEvent(t=t, d=d, **fields)


def row(t: str, d: Any, **fields: Any) -> EventRow:
    return normalize(envelope(t, d, **fields), event_id="gw:sess:42", batch_id="batch-1")


def failure(t: str, d: Any) -> NormalizationError:
    with pytest.raises(NormalizationError) as info:
        row(t, d)
    return info.value


def details(r: EventRow) -> dict[str, Any]:
    return json.loads(r.details)


def user(uid: str = BEX, username: str = "bexley", global_name: str | None = "Bex", **extra: Any) -> dict[str, Any]:
    return {"id": uid, "username": username, "global_name": global_name, "discriminator": "0", "avatar": None, **extra}


def message(**overrides: Any) -> dict[str, Any]:
    data = {
        "id": MSG,
        "channel_id": GENERAL,
        "guild_id": GUILD,
        "author": user(),
        "content": "hello there",
        "timestamp": MSG_TIME,
        "edited_timestamp": None,
        "type": 0,
        "tts": False,
        "pinned": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "flags": 0,
    }
    data.update(overrides)
    return data


def member_event(**overrides: Any) -> dict[str, Any]:
    data = {
        "guild_id": GUILD,
        "user": user(),
        "roles": [],
        "nick": None,
        "joined_at": "2024-04-11T20:01:44.000000+00:00",
        "communication_disabled_until": None,
        "pending": False,
        "premium_since": None,
        "deaf": False,
        "mute": False,
    }
    data.update(overrides)
    return data


def audit_entry(action_type: int, when: str = "2026-11-19T23:51:30.560Z", **overrides: Any) -> dict[str, Any]:
    data = {"id": snowflake_at(when), "guild_id": GUILD, "action_type": action_type, "user_id": MOD, "target_id": BEX}
    data.update(overrides)
    return data


def voice_state(channel_id: str | None, **flags: Any) -> dict[str, Any]:
    data = {
        "guild_id": GUILD,
        "channel_id": channel_id,
        "user_id": BEX,
        "session_id": "0f" * 16,
        "member": {"user": user(), "roles": []},
        "self_mute": False,
        "self_deaf": False,
        "mute": False,
        "deaf": False,
        "suppress": False,
        "self_video": False,
    }
    data.update(flags)
    return data


def interaction(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    payload = {
        "id": snowflake_at("2026-11-20T00:04:00.513Z"),
        "application_id": ADA,
        "type": 2,
        "version": 1,
        "token": "not-a-real-token",
        "guild_id": GUILD,
        "channel_id": GENERAL,
        "member": {"user": user(MOD, "rin_okafor", "Rin"), "roles": [], "permissions": "8"},
        "data": data,
    }
    payload.update(overrides)
    return payload


COMMAND_ID = snowflake_at("2026-10-01T09:40:00Z")


# ---------------------------------------------------------------- message


def test_normalize_reads_ids_author_and_content_when_message_create() -> None:
    r = row("MESSAGE_CREATE", message())
    assert (r.category, r.action) == ("message", "create")
    assert (r.guild_id, r.channel_id, r.message_id, r.user_id) == (GUILD, GENERAL, MSG, BEX)
    assert (r.user_name, r.content) == ("Bex", "hello there")


def test_normalize_uses_the_username_when_the_author_has_no_global_name() -> None:
    assert row("MESSAGE_CREATE", message(author=user(global_name=None))).user_name == "bexley"


def test_normalize_keeps_attachment_facts_as_compact_json_when_a_message_has_attachments() -> None:
    attachment = {
        "id": MSG,
        "filename": "new-map.png",
        "size": 284113,
        "content_type": "image/png",
        "url": "https://cdn.example/new-map.png",
        "width": 1920,
        "height": 1080,
    }
    r = row("MESSAGE_CREATE", message(attachments=[attachment]))
    assert r.attachments == (
        f'[{{"id":"{MSG}","filename":"new-map.png","size":284113,"url":"https://cdn.example/new-map.png",'
        '"content_type":"image/png"}]'
    )


def test_normalize_leaves_attachments_empty_when_a_message_has_none() -> None:
    assert row("MESSAGE_CREATE", message()).attachments is None


def test_normalize_records_the_replied_message_when_a_message_is_a_reply() -> None:
    ref = {"type": 0, "channel_id": GENERAL, "message_id": ADA, "guild_id": GUILD}
    assert details(row("MESSAGE_CREATE", message(type=19, message_reference=ref)))["reply_to"] == ADA


def test_normalize_records_a_reference_not_a_reply_when_a_message_is_a_crosspost() -> None:
    ref = {"type": 0, "channel_id": LOUNGE, "message_id": ADA, "guild_id": GUILD}
    found = details(row("MESSAGE_CREATE", message(type=0, flags=2, message_reference=ref)))
    assert "reply_to" not in found
    assert found["reference"] == ADA


def test_normalize_lists_mentioned_user_ids_when_a_message_mentions_users() -> None:
    mentions = [user(MOD, "rin_okafor", "Rin"), user(ADA, "ada.park", "Ada")]
    assert details(row("MESSAGE_CREATE", message(mentions=mentions)))["mentions"] == [MOD, ADA]


def test_normalize_marks_the_author_as_a_bot_when_the_author_is_a_bot() -> None:
    assert details(row("MESSAGE_CREATE", message(author=user(bot=True))))["bot"] is True


def test_normalize_reads_new_content_and_edit_time_when_message_update() -> None:
    edited = "2026-11-20T00:02:30.118000+00:00"
    r = row("MESSAGE_UPDATE", message(content="moved to 10:30", edited_timestamp=edited))
    assert (r.category, r.action, r.message_id, r.content) == ("message", "update", MSG, "moved to 10:30")
    assert details(r)["edited_timestamp"] == edited
    assert "partial" not in details(r)


def test_normalize_marks_partial_without_content_when_message_update_has_no_content() -> None:
    r = row("MESSAGE_UPDATE", {"id": MSG, "channel_id": GENERAL, "guild_id": GUILD, "embeds": [{"type": "link"}]})
    assert r.content is None
    assert details(r)["partial"] is True
    assert details(r)["embeds"] == 1


def test_normalize_reads_only_ids_when_message_delete() -> None:
    r = row("MESSAGE_DELETE", {"id": MSG, "channel_id": GENERAL, "guild_id": GUILD})
    assert (r.category, r.action) == ("message", "delete")
    assert (r.message_id, r.target_id, r.channel_id, r.guild_id) == (MSG, MSG, GENERAL, GUILD)
    assert (r.user_id, r.content) == (None, None)


def test_normalize_lists_ids_and_count_when_message_delete_bulk() -> None:
    r = row("MESSAGE_DELETE_BULK", {"ids": [MSG, ADA], "channel_id": GENERAL, "guild_id": GUILD})
    assert (r.action, r.channel_id, r.message_id) == ("bulk_delete", GENERAL, None)
    assert details(r) == {"count": 2, "ids": [MSG, ADA]}


def test_normalize_raises_with_the_field_when_message_delete_bulk_has_no_ids() -> None:
    assert failure("MESSAGE_DELETE_BULK", {"channel_id": GENERAL}).fields["field"] == "d.ids"


@pytest.mark.parametrize(
    ("t", "action"), [("MESSAGE_REACTION_ADD", "reaction_add"), ("MESSAGE_REACTION_REMOVE", "reaction_remove")]
)
def test_normalize_reads_reactor_message_and_emoji_when_a_reaction_changes(t: str, action: str) -> None:
    d = {
        "user_id": BEX,
        "message_id": MSG,
        "channel_id": GENERAL,
        "guild_id": GUILD,
        "burst": False,
        "type": 0,
        "emoji": {"id": None, "name": "👀"},
        "member": {"user": user()},
    }
    r = row(t, d)
    assert (r.category, r.action, r.user_id, r.message_id, r.channel_id) == ("message", action, BEX, MSG, GENERAL)
    assert details(r)["emoji"] == {"name": "👀"}  # a unicode emoji has no id


# ---------------------------------------------------------------- member


def test_normalize_reads_the_new_member_when_guild_member_add() -> None:
    r = row("GUILD_MEMBER_ADD", member_event())
    assert (r.category, r.action, r.guild_id, r.user_id, r.target_id) == ("member", "join", GUILD, BEX, BEX)
    assert r.user_name == "Bex"


def test_normalize_reads_the_user_who_left_when_guild_member_remove() -> None:
    r = row("GUILD_MEMBER_REMOVE", {"guild_id": GUILD, "user": user()})
    assert (r.category, r.action, r.user_id) == ("member", "leave", BEX)


def test_normalize_names_the_member_by_nick_when_guild_member_update_sets_one() -> None:
    r = row("GUILD_MEMBER_UPDATE", member_event(nick="bex the brave", roles=[MOD]))
    assert (r.action, r.user_name) == ("update", "bex the brave")
    assert details(r)["roles"] == [MOD]


def test_normalize_calls_it_a_timeout_when_communication_is_disabled_until_after_the_event() -> None:
    r = row("GUILD_MEMBER_UPDATE", member_event(communication_disabled_until="2026-11-20T00:52:10.300000+00:00"))
    assert (r.category, r.action) == ("member", "timeout")
    assert details(r)["communication_disabled_until"] == "2026-11-20T00:52:10.300000+00:00"


def test_normalize_calls_it_an_update_when_the_timeout_has_already_expired() -> None:
    # Discord keeps an expired timeout as a time in the past on every later member update.
    r = row("GUILD_MEMBER_UPDATE", member_event(communication_disabled_until="2026-11-19T08:00:00.000000+00:00"))
    assert r.action == "update"


def test_normalize_calls_it_an_update_when_the_timeout_is_removed() -> None:
    assert row("GUILD_MEMBER_UPDATE", member_event(communication_disabled_until=None)).action == "update"


@pytest.mark.parametrize("t", ["GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE", "GUILD_MEMBER_UPDATE"])
def test_normalize_raises_with_the_field_when_a_member_event_has_no_user(t: str) -> None:
    assert failure(t, member_event(user=None)).fields["field"] == "d.user.id"


def test_normalize_does_not_read_top_level_fields_as_the_user_when_a_member_event_is_flattened() -> None:
    flattened = {"guild_id": GUILD, "id": BEX, "username": "bexley"}
    assert failure("GUILD_MEMBER_REMOVE", flattened).fields["field"] == "d.user.id"


@pytest.mark.parametrize("t", ["GUILD_MEMBER_ADD", "GUILD_BAN_ADD"])
def test_normalize_raises_with_the_field_when_a_member_event_has_no_guild(t: str) -> None:
    assert failure(t, member_event(guild_id=None)).fields["field"] == "d.guild_id"


# ---------------------------------------------------------------- moderation


@pytest.mark.parametrize(("t", "action"), [("GUILD_BAN_ADD", "ban"), ("GUILD_BAN_REMOVE", "unban")])
def test_normalize_reads_the_banned_user_when_a_ban_changes(t: str, action: str) -> None:
    r = row(t, {"guild_id": GUILD, "user": user()})
    assert (r.category, r.action, r.guild_id, r.user_id, r.target_id, r.user_name) == (
        "moderation",
        action,
        GUILD,
        BEX,
        BEX,
        "Bex",
    )


def test_normalize_reads_actor_target_and_reason_when_an_audit_log_entry_records_a_ban() -> None:
    r = row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(22, reason="phishing links"))
    assert (r.category, r.action) == ("moderation", "member_ban_add")
    assert (r.actor_id, r.target_id, r.reason, r.user_id) == (MOD, BEX, "phishing links", None)
    assert details(r)["action_type"] == 22


def test_normalize_reads_the_channel_and_count_when_an_audit_log_entry_records_a_moderator_delete() -> None:
    r = row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(72, options={"channel_id": GENERAL, "count": "1"}))
    assert (r.action, r.actor_id, r.target_id, r.channel_id) == ("message_delete", MOD, BEX, GENERAL)
    assert details(r)["options"] == {"channel_id": GENERAL, "count": "1"}


def test_normalize_keeps_the_changes_when_an_audit_log_entry_records_a_timeout() -> None:
    change = {"key": "communication_disabled_until", "new_value": "2026-11-20T00:52:10.300000+00:00"}
    r = row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(24, changes=[change], reason="spam"))
    assert (r.action, r.reason) == ("member_update", "spam")
    assert details(r)["changes"] == [change]


def test_normalize_names_the_action_by_number_when_the_audit_log_action_type_is_unknown() -> None:
    assert row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(9999)).action == "audit_9999"


def test_normalize_leaves_the_target_empty_when_an_audit_log_entry_has_no_target() -> None:
    assert row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(40, target_id=None)).target_id is None


# ---------------------------------------------------------------- server


@pytest.mark.parametrize(
    ("t", "action"),
    [("CHANNEL_CREATE", "channel_create"), ("CHANNEL_UPDATE", "channel_update"), ("CHANNEL_DELETE", "channel_delete")],
)
def test_normalize_reads_the_channel_when_a_channel_changes(t: str, action: str) -> None:
    d = {
        "id": GENERAL,
        "guild_id": GUILD,
        "name": "general",
        "type": 0,
        "position": 0,
        "topic": "hi",
        "parent_id": None,
        "permission_overwrites": [],
    }
    r = row(t, d)
    assert (r.category, r.action, r.guild_id, r.channel_id, r.target_id) == ("server", action, GUILD, GENERAL, GENERAL)
    assert details(r) == {"name": "general", "position": 0, "topic": "hi", "type": 0}


def test_normalize_reads_the_owner_as_actor_when_a_thread_is_created() -> None:
    d = {"id": MSG, "guild_id": GUILD, "parent_id": GENERAL, "owner_id": BEX, "name": "patch notes", "type": 11}
    r = row("THREAD_CREATE", d)
    assert (r.category, r.action, r.channel_id, r.actor_id) == ("server", "thread_create", MSG, BEX)
    assert details(r)["parent_id"] == GENERAL


@pytest.mark.parametrize(("t", "action"), [("GUILD_ROLE_CREATE", "role_create"), ("GUILD_ROLE_UPDATE", "role_update")])
def test_normalize_reads_the_role_when_a_role_changes(t: str, action: str) -> None:
    role = {
        "id": MOD,
        "name": "Night Owls",
        "color": 5793266,
        "hoist": True,
        "position": 2,
        "permissions": "0",
        "managed": False,
        "mentionable": False,
    }
    r = row(t, {"guild_id": GUILD, "role": role})
    assert (r.category, r.action, r.guild_id, r.target_id) == ("server", action, GUILD, MOD)
    assert details(r)["name"] == "Night Owls"


def test_normalize_reads_the_role_id_when_a_role_is_deleted() -> None:
    assert row("GUILD_ROLE_DELETE", {"guild_id": GUILD, "role_id": MOD}).target_id == MOD


def test_normalize_takes_the_guild_from_d_id_when_guild_create() -> None:
    d = {
        "id": GUILD,
        "name": "Guildlog Demo",
        "member_count": 6,
        "channels": [{"id": GENERAL}, {"id": LOUNGE}],
        "unavailable": False,
    }
    r = row("GUILD_CREATE", d)
    assert (r.category, r.action, r.guild_id, r.target_id) == ("server", "guild_available", GUILD, GUILD)
    assert details(r) == {"channels": 2, "member_count": 6, "name": "Guildlog Demo", "unavailable": False}


def test_normalize_calls_it_an_outage_when_guild_delete_says_unavailable() -> None:
    assert row("GUILD_DELETE", {"id": GUILD, "unavailable": True}).action == "guild_unavailable"


def test_normalize_calls_it_a_removal_when_guild_delete_has_no_unavailable_flag() -> None:
    assert row("GUILD_DELETE", {"id": GUILD}).action == "guild_remove"


def test_normalize_reads_inviter_and_code_when_an_invite_is_created() -> None:
    d = {
        "guild_id": GUILD,
        "channel_id": GENERAL,
        "code": "DeawcF",
        "inviter": user(ADA, "ada.park", "Ada"),
        "max_age": 86400,
        "max_uses": 0,
        "temporary": False,
        "uses": 0,
    }
    r = row("INVITE_CREATE", d)
    assert (r.category, r.action, r.channel_id, r.actor_id, r.user_name) == (
        "server",
        "invite_create",
        GENERAL,
        ADA,
        "Ada",
    )
    assert details(r) == {"code": "DeawcF", "max_age": 86400, "max_uses": 0, "temporary": False}


def test_normalize_lists_the_emojis_when_guild_emojis_update() -> None:
    d = {"guild_id": GUILD, "emojis": [{"id": MOD, "name": "pog", "roles": [], "animated": False}]}
    r = row("GUILD_EMOJIS_UPDATE", d)
    assert (r.category, r.action) == ("server", "emojis_update")
    assert details(r) == {"items": [{"id": MOD, "name": "pog"}]}


# ---------------------------------------------------------------- voice


def test_normalize_reads_channel_and_user_when_a_member_joins_voice() -> None:
    r = row("VOICE_STATE_UPDATE", voice_state(LOUNGE))
    assert (r.category, r.action, r.channel_id, r.user_id, r.user_name) == ("voice", "state", LOUNGE, BEX, "Bex")


def test_normalize_keeps_the_mute_flags_when_a_member_mutes_in_voice() -> None:
    assert details(row("VOICE_STATE_UPDATE", voice_state(LOUNGE, self_mute=True)))["self_mute"] is True


def test_normalize_calls_it_a_leave_when_the_voice_channel_is_null() -> None:
    r = row("VOICE_STATE_UPDATE", voice_state(None))
    assert (r.action, r.channel_id, r.user_id) == ("leave", None, BEX)


# ---------------------------------------------------------------- command


def test_normalize_gives_the_command_path_and_leaf_options_when_a_slash_command_has_a_group_and_subcommand() -> None:
    data = {
        "id": COMMAND_ID,
        "name": "guildlog",
        "type": 1,
        "options": [
            {
                "type": 2,
                "name": "deleted",
                "options": [
                    {
                        "type": 1,
                        "name": "in",
                        "options": [
                            {"type": 7, "name": "channel", "value": GENERAL},
                            {"type": 4, "name": "limit", "value": 5},
                        ],
                    }
                ],
            }
        ],
    }
    r = row("INTERACTION_CREATE", interaction(data))
    assert (r.category, r.action, r.user_id, r.user_name, r.channel_id, r.target_id) == (
        "command",
        "command",
        MOD,
        "Rin",
        GENERAL,
        COMMAND_ID,
    )
    assert details(r)["command"] == "/guildlog deleted in"
    assert details(r)["options"] == {"channel": GENERAL, "limit": 5}


def test_normalize_reads_a_subcommand_without_options_when_its_type_is_given_as_a_string() -> None:
    data = {"id": COMMAND_ID, "name": "guildlog", "type": 1, "options": [{"type": "1", "name": "status"}]}
    found = details(row("INTERACTION_CREATE", interaction(data)))
    assert found["command"] == "/guildlog status"
    assert "options" not in found


def test_normalize_reads_the_user_at_the_top_level_when_an_interaction_comes_from_a_dm() -> None:
    d = interaction(
        {"id": COMMAND_ID, "name": "ping", "type": 1}, member=None, guild_id=None, user=user(ADA, "ada.park", "Ada")
    )
    r = row("INTERACTION_CREATE", d)
    assert (r.guild_id, r.user_id, r.user_name) == (None, ADA, "Ada")


def test_normalize_records_the_custom_id_when_an_interaction_is_a_component() -> None:
    r = row("INTERACTION_CREATE", interaction({"custom_id": "confirm:ban", "component_type": 2}, type=3))
    assert r.action == "component"
    assert details(r)["custom_id"] == "confirm:ban"


def test_normalize_never_writes_the_interaction_token_when_an_interaction_carries_one() -> None:
    r = row("INTERACTION_CREATE", interaction({"id": COMMAND_ID, "name": "ping", "type": 1}))
    assert "not-a-real-token" not in r.model_dump_json()


# ---------------------------------------------------------------- relay and other


def test_normalize_reads_the_bot_and_guild_count_when_ready() -> None:
    d = {
        "v": 10,
        "user": user(ADA, "guildlog", None, bot=True),
        "session_id": "5c1e0f9a",
        "shard": [0, 1],
        "guilds": [{"id": GUILD, "unavailable": True}],
        "resume_gateway_url": "wss://gateway.example",
    }
    r = row("READY", d)
    assert (r.category, r.action, r.user_id, r.guild_id) == ("relay", "ready", ADA, None)
    assert details(r) == {"guilds": 1, "shard": [0, 1], "v": 10}


def test_normalize_keeps_the_relays_own_facts_when_guildlog_gap() -> None:
    d = {"reason": "session invalidated", "last_seq": 4211, "shard": [0, 1]}
    r = row("GUILDLOG_GAP", d, source="relay", id="gap-1", seq=None)
    assert (r.category, r.action, r.source, r.seq) == ("relay", "gap", "relay", None)
    assert details(r) == d


def test_normalize_logs_category_other_with_the_ids_it_can_read_when_the_type_is_unknown() -> None:
    r = row("EMBEDDED_ACTIVITY_UPDATE", {"guild_id": GUILD, "channel_id": LOUNGE, "users": [BEX]})
    assert (r.category, r.action, r.guild_id, r.channel_id) == ("other", "embedded_activity_update", GUILD, LOUNGE)


# ---------------------------------------------------------------- event time


def test_event_time_is_the_message_timestamp_when_message_create() -> None:
    assert row("MESSAGE_CREATE", message()).occurred_at == "2026-11-19T23:59:59.981Z"


def test_event_time_is_the_edit_time_when_message_update_has_edited_timestamp() -> None:
    r = row("MESSAGE_UPDATE", message(edited_timestamp="2026-11-20T00:02:30.118000+00:00"))
    assert r.occurred_at == "2026-11-20T00:02:30.118Z"


def test_event_time_is_received_at_when_message_update_has_no_edit_time() -> None:
    # An embed unfurl: the original timestamp is the message's creation, not this update's.
    assert row("MESSAGE_UPDATE", message(edited_timestamp=None)).occurred_at == RECEIVED


def test_event_time_is_joined_at_when_guild_member_add() -> None:
    r = row("GUILD_MEMBER_ADD", member_event(joined_at="2026-11-19T23:50:00.400000+00:00"))
    assert r.occurred_at == "2026-11-19T23:50:00.400Z"


def test_event_time_is_received_at_when_guild_member_update_carries_an_old_joined_at() -> None:
    assert row("GUILD_MEMBER_UPDATE", member_event()).occurred_at == RECEIVED


def test_event_time_is_the_entry_snowflake_time_when_audit_log_entry_create() -> None:
    r = row("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(72, when="2026-11-19T23:51:30.560Z"))
    assert r.occurred_at == "2026-11-19T23:51:30.560Z"


@pytest.mark.parametrize(
    ("t", "d"),
    [
        ("CHANNEL_UPDATE", {"id": GENERAL, "guild_id": GUILD, "name": "general"}),
        ("GUILD_UPDATE", {"id": GUILD, "name": "Guildlog Demo"}),
        ("GUILD_CREATE", {"id": GUILD, "name": "Guildlog Demo"}),
        ("GUILD_ROLE_UPDATE", {"guild_id": GUILD, "role": {"id": MOD, "name": "Moderator"}}),
    ],
)
def test_event_time_is_received_at_not_the_creation_snowflake_when_a_guild_channel_or_role_changes(
    t: str, d: dict[str, Any]
) -> None:
    assert row(t, d).occurred_at == RECEIVED


def test_event_time_is_received_at_when_message_delete() -> None:
    assert row("MESSAGE_DELETE", {"id": MSG, "channel_id": GENERAL, "guild_id": GUILD}).occurred_at == RECEIVED


def test_event_time_falls_back_to_received_at_when_the_payload_time_is_unreadable() -> None:
    assert row("MESSAGE_CREATE", message(timestamp="not a time")).occurred_at == RECEIVED


def test_event_time_falls_back_to_received_at_when_the_audit_log_entry_id_is_missing() -> None:
    event = envelope("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(22, id=None))
    assert event_time(event) == datetime(2026, 11, 20, 0, 0, 0, 250000, tzinfo=UTC)


def test_event_time_keeps_the_previous_day_when_a_message_sent_before_midnight_is_received_after() -> None:
    r = row("MESSAGE_CREATE", message(), received_at="2026-11-20T00:00:00.068Z")
    assert r.occurred_at.startswith("2026-11-19T23:59:59")
    assert r.received_at.startswith("2026-11-20T00:00:00")


def test_event_time_is_the_utc_day_when_a_payload_time_has_a_positive_offset() -> None:
    r = row("MESSAGE_CREATE", message(timestamp="2026-11-20T00:30:00.000000+01:00"))
    assert r.occurred_at == "2026-11-19T23:30:00.000Z"


def test_event_time_is_the_next_day_when_a_message_is_sent_at_midnight_exactly() -> None:
    r = row(
        "MESSAGE_CREATE", message(timestamp="2026-11-20T00:00:00.000000+00:00"), received_at="2026-11-19T23:59:59.990Z"
    )
    assert r.occurred_at == "2026-11-20T00:00:00.000Z"


# ---------------------------------------------------------------- snowflakes and shapes


@pytest.mark.parametrize(
    ("t", "d", "field"),
    [
        ("MESSAGE_CREATE", message(id="not-a-snowflake"), "d.id"),
        ("MESSAGE_CREATE", message(channel_id="12345"), "d.channel_id"),
        ("MESSAGE_CREATE", message(author=user(uid="1234567890123456789012")), "d.author.id"),
        ("MESSAGE_CREATE", message(guild_id="../../etc"), "d.guild_id"),
        ("MESSAGE_CREATE", message(id=True), "d.id"),
        ("MESSAGE_CREATE", message(id=1.5e17), "d.id"),
        ("MESSAGE_DELETE_BULK", {"ids": [MSG, "x"], "channel_id": GENERAL}, "d.ids[]"),
        ("MESSAGE_REACTION_ADD", {"user_id": "-1", "message_id": MSG, "channel_id": GENERAL}, "d.user_id"),
        ("GUILD_BAN_ADD", {"guild_id": GUILD, "user": user(uid="abc")}, "d.user.id"),
        ("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(72, user_id="mod"), "d.user_id"),
        ("VOICE_STATE_UPDATE", voice_state("lounge"), "d.channel_id"),
        ("INTERACTION_CREATE", interaction({"name": "x"}, channel_id="#general"), "d.channel_id"),
        ("EMBEDDED_ACTIVITY_UPDATE", {"channel_id": "12"}, "d.channel_id"),
    ],
)
def test_normalize_raises_with_the_field_when_a_snowflake_is_invalid(t: str, d: dict[str, Any], field: str) -> None:
    assert failure(t, d).fields["field"] == field


def test_normalize_writes_snowflakes_as_strings_when_the_payload_has_integers() -> None:
    r = row("MESSAGE_DELETE", {"id": int(MSG), "channel_id": int(GENERAL), "guild_id": int(GUILD)})
    assert (r.message_id, r.channel_id, r.guild_id) == (MSG, GENERAL, GUILD)


def test_normalize_raises_with_the_field_when_a_required_id_is_missing() -> None:
    assert failure("MESSAGE_CREATE", message(id=None)).fields["field"] == "d.id"


@pytest.mark.parametrize("d", [[message()], "MESSAGE_CREATE", 42, True])
def test_normalize_raises_with_field_d_when_d_is_not_an_object(d: Any) -> None:
    error = failure("MESSAGE_CREATE", d)
    assert error.fields["field"] == "d"
    assert "not an object" in error.message


WRONG_TYPES: list[Any] = [None, [], {}, "x", 1.5, True, -1, [1], {"a": 1}]
SHAPES = [
    ("MESSAGE_CREATE", message(mentions=[user()], message_reference={"message_id": MSG})),
    ("GUILD_CREATE", {"id": GUILD, "name": "g", "channels": []}),
    ("GUILD_MEMBER_UPDATE", member_event(communication_disabled_until="2026-11-20T00:52:10Z")),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", audit_entry(72, options={"channel_id": GENERAL}, changes=[], reason="r")),
    ("INTERACTION_CREATE", interaction({"id": COMMAND_ID, "name": "guildlog", "options": [{"type": 1, "name": "a"}]})),
    ("VOICE_STATE_UPDATE", voice_state(LOUNGE)),
    ("GUILD_EMOJIS_UPDATE", {"guild_id": GUILD, "emojis": []}),
]


@pytest.mark.parametrize(("t", "d"), SHAPES)
def test_normalize_raises_only_normalization_errors_when_any_top_level_field_has_a_wrong_type(
    t: str, d: dict[str, Any]
) -> None:
    # Ingest quarantines NormalizationError; anything else would fail (and retry) the whole batch.
    for key in d:
        for value in WRONG_TYPES:
            with contextlib.suppress(NormalizationError):
                row(t, {**d, key: value})


def test_normalize_raises_only_normalization_errors_when_interaction_data_fields_have_wrong_types() -> None:
    base = {"id": COMMAND_ID, "name": "guildlog", "type": 1, "options": [{"type": 1, "name": "a"}]}
    for key in base:
        for value in WRONG_TYPES:
            with contextlib.suppress(NormalizationError):
                row("INTERACTION_CREATE", interaction({**base, key: value}))


# ---------------------------------------------------------------- the row itself


def test_normalize_writes_details_compact_with_sorted_keys_when_details_are_present() -> None:
    r = row("MESSAGE_CREATE", message(pinned=True, tts=False, type=0, flags=4))
    assert r.details == '{"flags":4,"pinned":true,"tts":false,"type":0}'


def test_normalize_writes_the_same_details_when_the_payload_keys_come_in_another_order() -> None:
    forwards = audit_entry(
        24,
        reason="spam",
        options={"channel_id": GENERAL, "count": "1"},
        changes=[{"key": "nick", "old_value": "a", "new_value": "b"}],
    )
    backwards = dict(reversed(list(forwards.items())))
    backwards["options"] = dict(reversed(list(forwards["options"].items())))
    backwards["changes"] = [dict(reversed(list(forwards["changes"][0].items())))]
    assert (
        row("GUILD_AUDIT_LOG_ENTRY_CREATE", forwards).details == row("GUILD_AUDIT_LOG_ENTRY_CREATE", backwards).details
    )


def test_normalize_keeps_non_ascii_text_unescaped_when_details_hold_unicode() -> None:
    d = {"user_id": BEX, "message_id": MSG, "channel_id": GENERAL, "emoji": {"id": None, "name": "🍜"}}
    assert "🍜" in row("MESSAGE_REACTION_ADD", d).details


def test_normalize_shortens_long_strings_in_details_when_an_option_value_is_huge() -> None:
    data = {"id": COMMAND_ID, "name": "say", "type": 1, "options": [{"type": 3, "name": "text", "value": "x" * 5000}]}
    assert len(details(row("INTERACTION_CREATE", interaction(data)))["options"]["text"]) == 1000


def test_normalize_returns_an_equal_row_when_the_same_event_is_normalized_twice() -> None:
    event = envelope("MESSAGE_CREATE", message(attachments=[{"id": MSG, "filename": "a.png"}]))
    first = normalize(event, event_id="gw:sess:42", batch_id="batch-1")
    assert first == normalize(event, event_id="gw:sess:42", batch_id="batch-1")


def test_normalize_carries_ids_seq_and_shard_when_the_envelope_has_them() -> None:
    event = envelope("MESSAGE_DELETE", {"id": MSG, "channel_id": GENERAL}, seq=7, shard=(3, 8))
    r = normalize(event, event_id="gw:sess:7", batch_id="batch-9")
    assert (r.event_id, r.batch_id, r.source, r.event_type, r.seq, r.shard_id) == (
        "gw:sess:7",
        "batch-9",
        "gateway",
        "MESSAGE_DELETE",
        7,
        3,
    )
    assert r.received_at == RECEIVED


def test_normalize_uses_the_shard_argument_when_the_envelope_has_no_shard() -> None:
    event = envelope("MESSAGE_DELETE", {"id": MSG, "channel_id": GENERAL})
    assert normalize(event, event_id="e", batch_id="b", shard_id=5).shard_id == 5


# ---------------------------------------------------------------- the recorded demo session (events/)

DEMO = DEMO_SESSION


def demo_frames() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]


def demo_rows() -> list[EventRow]:
    rows = []
    for frame in demo_frames():
        if frame["op"] == 0:
            event = EnvelopeEvent(t=frame["t"], seq=frame["s"], received_at=frame["received_at"], d=frame["d"])
            rows.append(normalize(event, event_id=f"gw:demo:{frame['s']}", batch_id="demo"))
    return rows


def test_normalize_gives_a_row_in_every_category_when_replaying_the_demo_session() -> None:
    rows = demo_rows()
    assert {r.category for r in rows} == {
        "message",
        "member",
        "moderation",
        "server",
        "voice",
        "command",
        "relay",
        "other",
    }
    assert {
        "create",
        "update",
        "delete",
        "bulk_delete",
        "join",
        "leave",
        "timeout",
        "ban",
        "message_delete",
        "member_ban_add",
        "state",
        "command",
    } <= {r.action for r in rows}


def test_normalize_puts_demo_rows_on_both_sides_of_midnight_when_replaying_the_demo_session() -> None:
    days = {r.occurred_at[:10] for r in demo_rows()}
    assert days == {"2026-11-19", "2026-11-20"}
    late = [r for r in demo_rows() if r.occurred_at[:10] == "2026-11-19" and r.received_at[:10] == "2026-11-20"]
    assert [r.content for r in late] == ["last message of the day 🌙"]


def test_demo_session_ids_match_their_times_when_messages_and_audit_entries_are_read() -> None:
    frames = [f for f in demo_frames() if f["op"] == 0]
    for frame in frames:
        d = frame["d"]
        if frame["t"] == "MESSAGE_CREATE":
            assert iso(snowflake_time(d["id"])) == iso(datetime.fromisoformat(d["timestamp"]))
        if frame["t"] == "GUILD_AUDIT_LOG_ENTRY_CREATE":
            received = datetime.fromisoformat(frame["received_at"].replace("Z", "+00:00"))
            assert timedelta(0) <= received - snowflake_time(d["id"]) < timedelta(seconds=1)
    assert [f["s"] for f in frames] == list(range(1, len(frames) + 1))


def test_demo_session_matches_its_generator_when_regenerated() -> None:
    spec = importlib.util.spec_from_file_location("make_demo_session", DEMO.with_name("make_demo_session.py"))
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    regenerated = [json.loads(json.dumps(f)) for f in generator.record()]
    assert regenerated == demo_frames()
