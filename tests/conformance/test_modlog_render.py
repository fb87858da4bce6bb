"""The log's renderers on real payloads (../shared/fixtures) normalized by the real normalizer.

Each kind is rendered from what Discord sent, with and without the context guildlog may hold (a
stored message version, an audit-log entry, the previous state in `changes`), and every post is
checked against Discord's limits.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from guildlog.models.envelope import EnvelopeEvent
from guildlog.services import hot_items
from guildlog.services.modlog.common import RenderContext
from guildlog.services.modlog.limits import DESCRIPTION, FIELD_VALUE, MESSAGE_TOTAL, embed_length
from guildlog.services.modlog.render import render
from guildlog.services.normalize import normalize
from tests.conformance.conftest import MISSING_REASON, fixtures_present, load_json

if not fixtures_present():
    pytest.skip(MISSING_REASON, allow_module_level=True)

pytestmark = pytest.mark.conformance

ACCORD = Path("accord-jl/test/integration/fixtures")
KORD = Path("kord/gateway/src/commonTest/resources/json/event")
DOCS = Path("discord-api-docs/developers/resources")
RECEIVED = "2026-02-27T21:09:30.000Z"
GUILD = "41771983423143937"
MODERATOR = "587166353111252992"


def row_of(t: str, d: Any, **extra: Any) -> dict[str, Any]:
    row = normalize(EnvelopeEvent(t=t, seq=1, received_at=RECEIVED, d=d), event_id="fixture:1", batch_id="b")
    return {**row.model_dump(), **extra}


def accord(name: str, index: int = 0) -> dict[str, Any]:
    return copy.deepcopy(load_json(ACCORD / f"gateway_{name}.json")[index])


def versions_of(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """What the hot store keeps of a message, made by the real ingest code, as message_history reads
    it: its version items, or its create held whole in the feed item."""
    row = normalize(EnvelopeEvent(t=frame["t"], seq=1, received_at=RECEIVED, d=frame["d"]), event_id="e", batch_id="b")
    versions = hot_items.message_items(row, 2_000_000_000)
    if versions:
        return versions
    held = hot_items.feed_item(row, 2_000_000_000)
    return [{**held, "SK": f"V#{held['occurred_at']}", "version": "create"}]


def text_of(embed: dict[str, Any]) -> str:
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(str(p) for p in parts)


def assert_within_limits(embed: dict[str, Any]) -> None:
    assert len(embed.get("description", "")) <= DESCRIPTION
    assert all(len(f["value"]) <= FIELD_VALUE for f in embed.get("fields", []))
    assert embed_length(embed) <= MESSAGE_TOTAL


def deleted_message() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The accord session's MESSAGE_DELETE, and the versions of a message with that id in its channel."""
    delete = accord("message_delete")["d"]
    create = accord("message_create")
    create["d"].update(id=delete["id"], channel_id=delete["channel_id"])
    return row_of("MESSAGE_DELETE", delete), versions_of(create)


# ---------------------------------------------------------------- messages


def test_render_message_delete_shows_content_author_and_channel_when_the_message_was_logged() -> None:
    row, versions = deleted_message()

    post = render(row, RenderContext(versions=versions))

    assert post is not None
    assert post.embed["title"] == "Message deleted"
    assert post.embed["description"] == versions[-1]["content"]
    text = text_of(post.embed)
    assert f"<@{versions[-1]['user_id']}>" in text and f"<#{row['channel_id']}>" in text
    assert_within_limits(post.embed)


def test_render_message_delete_says_content_unknown_when_the_message_was_never_logged() -> None:
    row, _ = deleted_message()

    post = render(row, RenderContext())

    assert post is not None
    assert "Content unknown" in post.embed["description"]
    assert "Author: unknown" in text_of(post.embed)


def test_render_message_delete_names_no_deleter_when_the_audit_log_has_no_entry() -> None:
    row, versions = deleted_message()

    post = render(row, RenderContext(versions=versions))

    assert post is not None
    assert "Deleted by: its author, or unknown" in text_of(post.embed)


def test_render_message_delete_names_the_moderator_when_the_audit_log_has_an_entry() -> None:
    row, versions = deleted_message()
    audit = {"actor_id": MODERATOR, "reason": "spam", "action": "message_delete"}

    post = render(row, RenderContext(versions=versions, deleted_by=audit))

    assert post is not None
    assert f"Deleted by: <@{MODERATOR}>: spam" in text_of(post.embed)


def test_render_message_delete_keeps_the_author_when_they_left_before_the_deletion() -> None:
    # The author's GUILD_MEMBER_REMOVE came first: the stored version still names them.
    row, versions = deleted_message()
    author = versions[-1]["user_id"]
    row_of("GUILD_MEMBER_REMOVE", {"guild_id": GUILD, "user": {"id": author, "username": "gone"}})

    post = render(row, RenderContext(versions=versions))

    assert post is not None
    assert f"Author: <@{author}>" in text_of(post.embed)


def test_render_message_delete_lists_the_files_when_the_message_had_attachments_only() -> None:
    row, versions = deleted_message()
    attachments = [{"id": "900000000000000100", "filename": "proof.png", "url": "https://cdn.example/proof.png"}]
    versions[-1] = {**versions[-1], "content": "", "attachments": json.dumps(attachments)}

    post = render(row, RenderContext(versions=versions))

    assert post is not None
    assert post.embed["description"] == "_(no text: attachments only)_"
    assert "[proof.png](https://cdn.example/proof.png)" in text_of(post.embed)


def test_render_message_delete_fits_discord_when_the_content_is_4000_characters() -> None:
    row, versions = deleted_message()
    versions[-1] = {**versions[-1], "content": "x" * 4000}

    post = render(row, RenderContext(versions=versions))

    assert post is not None
    assert post.embed["description"] == "x" * 4000
    assert_within_limits(post.embed)


def edit_row(content: str) -> dict[str, Any]:
    # The accord session's MESSAGE_UPDATE, given the edit time Discord sets on a content edit.
    frame = accord("message_update")
    frame["d"].update(content=content, edited_timestamp="2026-02-28T00:10:00.000000+00:00")
    return row_of("MESSAGE_UPDATE", frame["d"])


def test_render_message_edit_shows_before_after_and_a_jump_link_when_the_earlier_version_is_stored() -> None:
    row = edit_row("after text")
    create = accord("message_create")
    create["d"].update(id=row["message_id"], channel_id=row["channel_id"], content="before text")

    post = render(row, RenderContext(versions=versions_of(create)))

    assert post is not None
    description = post.embed["description"]
    assert "**Before**\nbefore text" in description and "**After**\nafter text" in description
    assert f"https://discord.com/channels/{row['guild_id']}/{row['channel_id']}/{row['message_id']}" in description


def test_render_message_edit_says_before_unknown_when_no_earlier_version_is_stored() -> None:
    post = render(edit_row("after text"), RenderContext())

    assert post is not None
    assert "before: unknown" in post.embed["description"]


def test_render_message_edit_cuts_both_halves_and_says_so_when_each_is_4000_characters() -> None:
    row = edit_row("a" * 4000)
    create = accord("message_create")
    create["d"].update(id=row["message_id"], channel_id=row["channel_id"], content="b" * 4000)

    post = render(row, RenderContext(versions=versions_of(create)))

    assert post is not None
    assert post.embed["description"].count("[cut:") == 2
    assert_within_limits(post.embed)


def test_render_posts_nothing_when_a_message_update_carries_no_edit_time() -> None:
    # The accord session's MESSAGE_UPDATEs have no edited_timestamp: not an edit a moderator reads.
    assert render(row_of("MESSAGE_UPDATE", accord("message_update")["d"])) is None


def test_render_bulk_delete_attaches_a_transcript_when_some_messages_were_logged() -> None:
    creates = load_json(ACCORD / "gateway_message_create.json")
    ids = [f["d"]["id"] for f in creates] + ["900000000000000999"]
    row = row_of("MESSAGE_DELETE_BULK", {"guild_id": GUILD, "channel_id": creates[0]["d"]["channel_id"], "ids": ids})
    bulk = {f["d"]["id"]: versions_of(f) for f in creates}

    post = render(row, RenderContext(bulk=bulk, deleted_by={"actor_id": MODERATOR}))

    assert post is not None
    [(name, transcript)] = post.files
    assert name.endswith(".txt")
    assert all(f["d"]["content"] in transcript for f in creates)
    assert "[900000000000000999] (not logged)" in transcript
    assert "Messages: 4" in text_of(post.embed) and f"<@{MODERATOR}>" in text_of(post.embed)


# ---------------------------------------------------------------- members


def member_payload() -> dict[str, Any]:
    member = load_json(DOCS / "guild.mdx.examples/06-example-guild-member.json")
    user = load_json(KORD / "guildbanadd.json")["d"]["user"]
    return {**member, "user": user, "guild_id": GUILD, "joined_at": "2026-02-27T21:09:00.000000+00:00"}


def test_render_member_join_shows_account_age_when_the_invite_is_unknown() -> None:
    row = row_of("GUILD_MEMBER_ADD", member_payload())

    post = render(row)

    assert post is not None
    assert post.embed["title"] == "Member joined"
    assert "Account created: <t:" in text_of(post.embed)
    assert "Invite" not in text_of(post.embed)


def test_render_member_join_shows_the_invite_and_its_creator_when_details_carry_them() -> None:
    row = row_of("GUILD_MEMBER_ADD", member_payload())
    details = json.loads(row["details"])
    details["invite"] = {"code": "0vCdhLbwjZZTWZLD", "inviter_id": "115590097100865541", "ambiguous": False}
    row["details"] = json.dumps(details)

    post = render(row)

    assert post is not None
    assert "Invite: `0vCdhLbwjZZTWZLD` by <@115590097100865541>" in text_of(post.embed)


def test_render_member_join_flags_a_new_account_when_it_is_days_old() -> None:
    payload = member_payload()
    payload["joined_at"] = "2015-04-27T06:26:56.936000+00:00"  # Nelly's account is from early 2015

    post = render(row_of("GUILD_MEMBER_ADD", payload), RenderContext(new_account_days=3650))

    assert post is not None
    assert post.embed["title"] == "Member joined (new account)" and "new account" in text_of(post.embed)


def test_render_member_leave_says_left_and_roles_unknown_when_no_snapshot_exists() -> None:
    payload = {"guild_id": GUILD, "user": load_json(KORD / "guildbanadd.json")["d"]["user"]}

    post = render(row_of("GUILD_MEMBER_REMOVE", payload))

    assert post is not None
    assert post.embed["title"] == "Member left" and "Roles: unknown" in text_of(post.embed)


def test_render_member_leave_says_kicked_by_the_moderator_when_details_carry_the_removal() -> None:
    payload = {"guild_id": GUILD, "user": load_json(KORD / "guildbanadd.json")["d"]["user"]}
    row = row_of("GUILD_MEMBER_REMOVE", payload)
    row["details"] = json.dumps({"removed_by": {"action": "kick", "actor_id": MODERATOR, "reason": "raid"}})
    row["changes"] = json.dumps({"roles": {"before": ["900000000000000020"], "after": []}})

    post = render(row)

    assert post is not None
    assert post.embed["title"] == "Member kicked"
    assert f"was kicked by <@{MODERATOR}>: raid" in post.embed["description"]
    assert "<@&900000000000000020>" in text_of(post.embed)


def test_render_posts_nothing_when_a_member_update_has_no_known_change() -> None:
    assert render(row_of("GUILD_MEMBER_UPDATE", accord("guild_member_update")["d"])) is None


def test_render_member_update_shows_before_and_after_when_changes_are_known() -> None:
    row = row_of("GUILD_MEMBER_UPDATE", accord("guild_member_update")["d"])
    row["changes"] = json.dumps(
        {"nick": {"before": "old", "after": "new"}, "roles": {"before": [], "after": ["900000000000000020"]}}
    )

    post = render(row)

    assert post is not None
    assert "**Nickname**: old → new" in post.embed["description"]
    assert "**Roles**: added <@&900000000000000020>" in post.embed["description"]


def test_render_member_update_says_before_unknown_when_the_previous_state_is_unknown() -> None:
    row = row_of("GUILD_MEMBER_UPDATE", accord("guild_member_update")["d"])
    row["changes"] = json.dumps({"nick": {"before": None, "after": "new"}, "unknown": ["nick"]})

    post = render(row)

    assert post is not None
    assert "**Nickname**: before: unknown → new" in post.embed["description"]


def test_render_member_timeout_names_the_moderator_when_the_audit_entry_is_known() -> None:
    payload = accord("guild_member_update")["d"]
    payload["communication_disabled_until"] = "2026-02-27T22:09:30.000000+00:00"
    row = row_of("GUILD_MEMBER_UPDATE", payload)

    post = render(row, RenderContext(audit={"actor_id": MODERATOR, "reason": "spam"}))

    assert post is not None and row["action"] == "timeout"
    assert post.embed["title"] == "Member timed out"
    assert f"Moderator: <@{MODERATOR}>" in text_of(post.embed) and "Reason: spam" in text_of(post.embed)


def test_render_ban_shows_moderator_and_reason_when_the_audit_entry_is_known() -> None:
    row = row_of("GUILD_BAN_ADD", load_json(KORD / "guildbanadd.json")["d"])

    post = render(row, RenderContext(audit={"actor_id": MODERATOR, "reason": "raid"}))

    assert post is not None
    assert post.embed["title"] == "Member banned"
    assert f"Moderator: <@{MODERATOR}>" in text_of(post.embed) and "Reason: raid" in text_of(post.embed)


def test_render_ban_says_moderator_unknown_when_the_audit_entry_is_missing() -> None:
    post = render(row_of("GUILD_BAN_ADD", load_json(KORD / "guildbanadd.json")["d"]))

    assert post is not None
    assert "Moderator: unknown (no audit-log entry)" in text_of(post.embed)


def test_render_unban_names_the_member_when_a_ban_is_lifted() -> None:
    row = row_of("GUILD_BAN_REMOVE", load_json(KORD / "guildbanremove.json")["d"])

    post = render(row)

    assert post is not None
    assert post.embed["title"] == "Member unbanned" and f"<@{row['user_id']}>" in post.embed["description"]


# ---------------------------------------------------------------- server


def test_render_channel_update_says_before_unknown_when_changes_are_absent() -> None:
    row = row_of("CHANNEL_UPDATE", load_json(KORD / "channelupdate.json")["d"])

    post = render(row)

    assert post is not None
    assert post.embed["title"] == "Channel updated"
    assert "before: unknown →" in post.embed["description"]


def test_render_channel_update_shows_before_and_after_when_changes_are_present() -> None:
    row = row_of("CHANNEL_UPDATE", load_json(KORD / "channelupdate.json")["d"])
    row["changes"] = json.dumps({"name": {"before": "general", "after": "chat"}})

    post = render(row)

    assert post is not None
    assert "**name**: general → chat" in post.embed["description"]


@pytest.mark.parametrize(
    ("name", "t", "title"),
    [("channelcreate", "CHANNEL_CREATE", "Channel created"), ("channeldelete", "CHANNEL_DELETE", "Channel deleted")],
)
def test_render_channel_names_the_action_when_a_channel_is_created_or_deleted(name: str, t: str, title: str) -> None:
    post = render(row_of(t, load_json(KORD / f"{name}.json")["d"]))

    assert post is not None and post.embed["title"] == title


def test_render_thread_create_names_the_thread_when_one_is_opened() -> None:
    frame = accord("thread_create")

    post = render(row_of("THREAD_CREATE", frame["d"]))

    assert post is not None
    assert post.embed["title"] == "Thread created" and f"<#{frame['d']['id']}>" in post.embed["description"]


def test_render_emoji_update_lists_the_emojis_when_the_previous_set_is_unknown() -> None:
    emojis = load_json(DOCS / "emoji.mdx.examples/03-custom-emoji-examples.json")
    emojis = emojis if isinstance(emojis, list) else [emojis]

    post = render(row_of("GUILD_EMOJIS_UPDATE", {"guild_id": GUILD, "emojis": emojis}))

    assert post is not None
    assert "before: unknown" in post.embed["description"] and "`LUL`" in post.embed["description"]


def test_render_invite_create_shows_code_and_creator_when_an_invite_is_made() -> None:
    invite = load_json(DOCS / "invite.mdx.examples/01-example-invite-object.json")
    payload = {**invite, "guild_id": GUILD, "channel_id": invite["channel"]["id"], "max_uses": 0}

    post = render(row_of("INVITE_CREATE", payload))

    assert post is not None
    assert post.embed["description"] == "`0vCdhLbwjZZTWZLD`"
    assert "By: <@115590097100865541>" in text_of(post.embed) and "Uses: unlimited" in text_of(post.embed)


def test_render_invite_delete_shows_the_code_when_an_invite_is_removed() -> None:
    invite = load_json(DOCS / "invite.mdx.examples/01-example-invite-object.json")
    payload = {"guild_id": GUILD, "channel_id": invite["channel"]["id"], "code": invite["code"]}

    post = render(row_of("INVITE_DELETE", payload))

    assert post is not None and post.embed["title"] == "Invite deleted"


# ---------------------------------------------------------------- voice


def test_render_voice_state_says_before_unknown_when_the_row_is_a_plain_state() -> None:
    frame = accord("voice_state_update")

    post = render(row_of("VOICE_STATE_UPDATE", frame["d"]))

    assert post is not None
    assert f"is in <#{frame['d']['channel_id']}>" in post.embed["description"]
    assert "before: unknown" in post.embed["description"]


def test_render_voice_move_shows_both_channels_when_the_previous_state_is_known() -> None:
    frame = accord("voice_state_update")
    row = row_of("VOICE_STATE_UPDATE", frame["d"], action="move")
    row["changes"] = json.dumps({"channel_id": {"before": "900000000000000022", "after": frame["d"]["channel_id"]}})

    post = render(row)

    assert post is not None
    assert f"moved <#900000000000000022> → <#{frame['d']['channel_id']}>" in post.embed["description"]


def test_render_voice_leave_names_the_channel_left_when_the_previous_state_is_known() -> None:
    frame = accord("voice_state_update", 3)  # the member's state with no channel: they left
    row = row_of("VOICE_STATE_UPDATE", frame["d"])
    row["changes"] = json.dumps({"channel_id": {"before": "900000000000000022", "after": None}})

    post = render(row)

    assert post is not None and row["action"] == "leave"
    assert "left <#900000000000000022>" in post.embed["description"]


# ---------------------------------------------------------------- audit-log only


def test_render_kick_names_moderator_and_target_when_the_audit_log_reports_one() -> None:
    entry = {
        "id": "1100000000000000001",
        "guild_id": GUILD,
        "action_type": 20,
        "target_id": "80351110224678912",
        "user_id": MODERATOR,
        "reason": "raid",
    }

    post = render(row_of("GUILD_AUDIT_LOG_ENTRY_CREATE", entry))

    assert post is not None
    assert post.embed["description"] == f"<@80351110224678912> was kicked by <@{MODERATOR}>: raid"


def test_render_posts_nothing_when_the_audit_entry_has_a_gateway_event_of_its_own() -> None:
    entries = load_json("kord/rest/src/commonTest/resources/json/auditlog.json")["audit_log_entries"]

    assert [render(row_of("GUILD_AUDIT_LOG_ENTRY_CREATE", {**e, "guild_id": GUILD})) for e in entries] == [None] * 3


def test_render_member_join_names_the_candidates_when_the_invite_is_ambiguous() -> None:
    row = row_of("GUILD_MEMBER_ADD", member_payload())
    row["details"] = json.dumps(
        {"invite": {"code": None, "inviter_id": None, "ambiguous": True, "candidates": ["abc", "xyz"]}}
    )

    post = render(row)

    assert post is not None
    assert "Invite: one of `abc`, `xyz`" in text_of(post.embed)


def test_render_posts_nothing_for_the_leave_when_it_was_a_ban() -> None:
    payload = {"guild_id": GUILD, "user": load_json(KORD / "guildbanadd.json")["d"]["user"]}
    row = row_of("GUILD_MEMBER_REMOVE", payload)
    row["details"] = json.dumps({"removed_by": {"action": "ban", "actor_id": MODERATOR, "reason": "raid"}})

    # GUILD_BAN_ADD posts it, with the moderator: one line, not a leave and a ban.
    assert render(row) is None
