"""guildlog.services.directory: snapshots, before → after, voice actions, removals and invites."""

from __future__ import annotations

import json
from typing import Any

from guildlog.models.envelope import EnvelopeEvent
from guildlog.models.row import EventRow
from guildlog.services.directory import Directory, attribute_join, diff, dir_pk, voice_action
from guildlog.services.normalize import normalize
from tests.fakes.memory_directory import MemoryDirectoryStore, ScriptedInvites

GUILD = "100000000000000001"
TEXT = "100000000000000002"
VOICE_A = "100000000000000004"
VOICE_B = "100000000000000005"
USER = "100000000000000003"
MOD = "100000000000000006"
ROLE = "100000000000000007"
RETENTION = {GUILD: 30}


def event(seq: int, t: str, at: str, d: dict[str, Any]) -> tuple[EventRow, Any]:
    envelope_event = EnvelopeEvent(t=t, seq=seq, received_at=at, d=d)
    return normalize(envelope_event, event_id=f"gw:s1:{seq:04d}", batch_id="b1"), d


def user(name: str = "alice") -> dict[str, Any]:
    return {"id": USER, "username": name, "global_name": name.title()}


def member_update(seq: int, at: str, nick: str | None, roles: list[str] | None = None) -> tuple[EventRow, Any]:
    d = {"guild_id": GUILD, "user": user(), "nick": nick, "roles": roles or []}
    return event(seq, "GUILD_MEMBER_UPDATE", at, d)


def guild_create(seq: int, at: str, *, nick: str | None = "old", voice: list[dict[str, Any]] | None = None):
    d = {
        "id": GUILD,
        "name": "Guildlog Demo",
        "channels": [{"id": TEXT, "name": "general", "type": 0}, {"id": VOICE_A, "name": "Lounge", "type": 2}],
        "roles": [{"id": ROLE, "name": "Mods", "color": 1}],
        "members": [{"user": user(), "nick": nick, "roles": [ROLE]}],
        "voice_states": voice or [],
    }
    return event(seq, "GUILD_CREATE", at, d)


def voice(seq: int, at: str, channel: str | None, **flags: bool) -> tuple[EventRow, Any]:
    return event(seq, "VOICE_STATE_UPDATE", at, {"guild_id": GUILD, "user_id": USER, "channel_id": channel, **flags})


def resolve(store: MemoryDirectoryStore, *events: tuple[EventRow, Any], invites: Any = None) -> list[EventRow]:
    directory = Directory(store, invites)
    resolution = directory.resolve(list(events), RETENTION)
    store.put_items(resolution.versions + resolution.new_snapshots)
    store.put_snapshots(resolution.snapshots)
    return resolution.rows


def changes(row: EventRow) -> dict[str, Any]:
    return json.loads(row.changes or "null")


# --- diff and voice_action ------------------------------------------------------------------------


def test_diff_lists_only_the_fields_that_differ_when_the_before_is_known() -> None:
    assert diff({"nick": "a", "roles": ["1"]}, {"nick": "b", "roles": ["1"]}) == {"nick": {"before": "a", "after": "b"}}


def test_diff_names_every_field_unknown_when_there_is_no_before() -> None:
    assert diff(None, {"nick": "b", "avatar": None}) == {"nick": {"before": None, "after": "b"}, "unknown": ["nick"]}


def test_diff_calls_a_field_unknown_when_the_known_state_never_had_it() -> None:
    assert diff({"username": "a"}, {"username": "a", "nick": "b"}) == {
        "nick": {"before": None, "after": "b"},
        "unknown": ["nick"],
    }


def test_voice_action_reads_each_transition_when_the_before_is_known() -> None:
    out, a, b = {"channel_id": None}, {"channel_id": VOICE_A}, {"channel_id": VOICE_B}
    assert voice_action(out, a) == "join"
    assert voice_action(a, b) == "move"
    assert voice_action(a, {"channel_id": None}) == "leave"
    assert voice_action(a, {**a, "self_mute": True}) == "mute"
    assert voice_action({**a, "mute": True}, a) == "unmute"
    assert voice_action(a, {**a, "self_deaf": True, "self_mute": True}) == "deafen"
    assert voice_action({**a, "deaf": True}, a) == "undeafen"


def test_voice_action_says_state_when_the_before_is_unknown_and_the_member_is_in_a_channel() -> None:
    assert voice_action(None, {"channel_id": VOICE_A}) == "state"


# --- resolving batches ----------------------------------------------------------------------------


def test_directory_records_the_nick_before_and_after_when_a_seeded_member_is_updated() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))

    (row,) = resolve(store, member_update(2, "2026-03-08T00:01:00Z", "new", [ROLE]))

    assert changes(row) == {"nick": {"before": "old", "after": "new"}}


def test_directory_records_the_nick_before_and_after_when_a_member_chunk_seeded_the_member() -> None:
    store = MemoryDirectoryStore()
    chunk = {"guild_id": GUILD, "members": [{"user": user(), "nick": "old", "roles": [ROLE]}], "chunk_index": 0}
    resolve(store, event(1, "GUILD_MEMBERS_CHUNK", "2026-03-08T00:00:00Z", chunk))

    (row,) = resolve(store, member_update(2, "2026-03-08T00:01:00Z", "new", [ROLE]))

    assert changes(row) == {"nick": {"before": "old", "after": "new"}}


def test_directory_says_the_before_is_unknown_when_the_member_was_never_seen() -> None:
    (row,) = resolve(MemoryDirectoryStore(), member_update(2, "2026-03-08T00:01:00Z", "new"))

    assert changes(row)["unknown"] == ["global_name", "nick", "roles", "username"]


def test_directory_names_voice_actions_when_a_seeded_member_joins_mutes_moves_and_leaves() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))

    rows = resolve(
        store,
        voice(2, "2026-03-08T00:01:00Z", VOICE_A),
        voice(3, "2026-03-08T00:02:00Z", VOICE_A, self_mute=True),
        voice(4, "2026-03-08T00:03:00Z", VOICE_B, self_mute=True),
        voice(5, "2026-03-08T00:04:00Z", None),
    )

    assert [r.action for r in rows] == ["join", "mute", "move", "leave"]
    assert changes(rows[2])["channel_id"] == {"before": VOICE_A, "after": VOICE_B}


def test_directory_keeps_the_voice_action_state_when_nothing_was_seeded() -> None:
    (row,) = resolve(MemoryDirectoryStore(), voice(2, "2026-03-08T00:01:00Z", VOICE_A))

    assert row.action == "state"
    assert "channel_id" in changes(row)["unknown"]


def test_directory_keeps_the_newer_snapshot_when_an_older_update_arrives_later() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))
    resolve(store, member_update(3, "2026-03-08T00:03:00Z", "third", [ROLE]))

    (late,) = resolve(store, member_update(2, "2026-03-08T00:02:00Z", "second", [ROLE]))

    snapshot = store.items[(dir_pk(GUILD), f"M#{USER}")]
    assert json.loads(snapshot["state"])["nick"] == "third"
    assert changes(late) == {"nick": {"before": "old", "after": "second"}}


def test_directory_gives_the_same_changes_when_a_batch_is_delivered_again() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))
    batch = [member_update(2, "2026-03-08T00:01:00Z", "mid", [ROLE]), voice(3, "2026-03-08T00:01:30Z", VOICE_A)]

    first = resolve(store, *batch)
    again = resolve(store, *batch)

    assert [(r.changes, r.action) for r in again] == [(r.changes, r.action) for r in first]
    assert changes(first[0]) == {"nick": {"before": "old", "after": "mid"}}


def test_directory_writes_no_names_again_when_a_known_author_writes_again_within_the_hour() -> None:
    store = MemoryDirectoryStore()
    message = {"id": "200000000000000001", "channel_id": TEXT, "guild_id": GUILD, "author": user(), "content": "hi"}
    resolve(store, event(2, "MESSAGE_CREATE", "2026-03-08T00:01:00Z", message))
    puts = store.snapshot_puts

    resolve(store, event(3, "MESSAGE_CREATE", "2026-03-08T00:31:00Z", {**message, "id": "200000000000000002"}))

    assert store.snapshot_puts == puts
    assert json.loads(store.items[(dir_pk(GUILD), f"N#{USER}")]["state"])["username"] == "alice"


def test_directory_keeps_the_newest_hours_names_when_authors_arrive_out_of_order() -> None:
    store = MemoryDirectoryStore()
    message = {"id": "200000000000000001", "channel_id": TEXT, "guild_id": GUILD, "content": "hi"}
    resolve(store, event(3, "MESSAGE_CREATE", "2026-03-08T02:00:00Z", {**message, "author": user("renamed")}))

    resolve(store, event(2, "MESSAGE_CREATE", "2026-03-08T00:01:00Z", {**message, "author": user("alice")}))

    assert json.loads(store.items[(dir_pk(GUILD), f"N#{USER}")]["state"])["username"] == "renamed"


def test_directory_reports_the_deleted_roles_last_name_when_a_role_is_deleted() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))

    (row,) = resolve(store, event(2, "GUILD_ROLE_DELETE", "2026-03-08T00:01:00Z", {"guild_id": GUILD, "role_id": ROLE}))

    assert changes(row)["name"] == {"before": "Mods", "after": None}
    assert json.loads(store.items[(dir_pk(GUILD), f"R#{ROLE}")]["state"])["name"] == "Mods"


def test_directory_says_who_removed_a_member_when_the_kick_entry_came_first() -> None:
    store = MemoryDirectoryStore()
    entry = {"id": "1213547418759593990", "guild_id": GUILD, "action_type": 20, "target_id": USER, "user_id": MOD}
    audit = event(2, "GUILD_AUDIT_LOG_ENTRY_CREATE", "2026-03-08T00:01:00Z", {**entry, "reason": "spam"})
    remove_at = audit[0].occurred_at

    (_, removed) = resolve(
        store, audit, event(3, "GUILD_MEMBER_REMOVE", remove_at, {"guild_id": GUILD, "user": user()})
    )

    assert json.loads(removed.details)["removed_by"] == {"action": "kick", "actor_id": MOD, "reason": "spam"}


def test_directory_takes_back_the_leave_when_the_ban_entry_comes_after_the_remove() -> None:
    store = MemoryDirectoryStore()
    entry = {"id": "1213547418759593990", "guild_id": GUILD, "action_type": 22, "target_id": USER, "user_id": MOD}
    audit_row, audit_d = event(3, "GUILD_AUDIT_LOG_ENTRY_CREATE", "2026-03-08T00:01:00Z", entry)
    (removed,) = resolve(
        store, event(2, "GUILD_MEMBER_REMOVE", audit_row.occurred_at, {"guild_id": GUILD, "user": user()})
    )

    resolution = Directory(store).resolve([(audit_row, audit_d)], RETENTION)

    assert "removed_by" not in json.loads(removed.details)
    assert resolution.leave_corrections == {audit_row.event_id: (GUILD, audit_row.occurred_at[:10])}


def test_directory_leaves_the_leave_alone_when_the_ban_entry_is_far_from_the_remove() -> None:
    store = MemoryDirectoryStore()
    entry = {"id": "1213547418759593990", "guild_id": GUILD, "action_type": 22, "target_id": USER, "user_id": MOD}
    audit_row, audit_d = event(3, "GUILD_AUDIT_LOG_ENTRY_CREATE", "2026-03-08T00:01:00Z", entry)
    resolve(store, event(2, "GUILD_MEMBER_REMOVE", "2020-01-01T00:00:00Z", {"guild_id": GUILD, "user": user()}))

    resolution = Directory(store).resolve([(audit_row, audit_d)], RETENTION)

    assert resolution.leave_corrections == {}


# --- invites --------------------------------------------------------------------------------------


def invite(code: str, uses: int, inviter: str = MOD) -> dict[str, Any]:
    return {"code": code, "uses": uses, "inviter": {"id": inviter, "username": "mod"}}


def join(seq: int, at: str, user_id: str = USER) -> tuple[EventRow, Any]:
    d = {"guild_id": GUILD, "user": {"id": user_id, "username": "newcomer"}, "roles": [], "joined_at": at}
    return event(seq, "GUILD_MEMBER_ADD", at, d)


def test_attribute_join_names_the_invite_whose_count_rose_when_only_one_did() -> None:
    found = attribute_join({"abc": {"uses": 1}, "xyz": {"uses": 4}}, [invite("abc", 2), invite("xyz", 4)])

    assert found == {"code": "abc", "inviter_id": MOD, "ambiguous": False}


def test_attribute_join_states_the_candidates_when_two_counts_rose() -> None:
    found = attribute_join({"abc": {"uses": 1}, "xyz": {"uses": 4}}, [invite("abc", 2), invite("xyz", 5)])

    assert found == {"code": None, "inviter_id": None, "ambiguous": True, "candidates": ["abc", "xyz"]}


def test_directory_attributes_a_join_to_the_invite_created_before_it_when_its_count_rose() -> None:
    store = MemoryDirectoryStore()
    created = {"guild_id": GUILD, "code": "abc", "uses": 0, "channel_id": TEXT, "inviter": {"id": MOD, "username": "m"}}
    resolve(store, event(1, "INVITE_CREATE", "2026-03-08T00:00:00Z", created))
    invites = ScriptedInvites([[invite("abc", 1)]])

    (row,) = resolve(store, join(2, "2026-03-08T00:01:00Z"), invites=invites)

    assert json.loads(row.details)["invite"] == {"code": "abc", "inviter_id": MOD, "ambiguous": False}


def test_directory_keeps_the_first_attribution_when_a_join_is_delivered_again() -> None:
    store = MemoryDirectoryStore()
    created = {"guild_id": GUILD, "code": "abc", "uses": 0, "channel_id": TEXT, "inviter": {"id": MOD, "username": "m"}}
    resolve(store, event(1, "INVITE_CREATE", "2026-03-08T00:00:00Z", created))
    invites = ScriptedInvites([[invite("abc", 1)], [invite("abc", 1)]])
    first = resolve(store, join(2, "2026-03-08T00:01:00Z"), invites=invites)

    again = resolve(store, join(2, "2026-03-08T00:01:00Z"), invites=invites)

    assert again[0].details == first[0].details
    assert invites.calls == 1


def test_directory_writes_nothing_when_a_second_guild_create_restates_the_known_guild() -> None:
    store = MemoryDirectoryStore()
    resolve(store, guild_create(1, "2026-03-08T00:00:00Z"))
    items = dict(store.items)

    resolve(store, guild_create(2, "2026-03-08T05:00:00Z"))

    changed = {k for k in store.items if store.items[k] != items.get(k)}
    assert changed == {(dir_pk(GUILD), "VSEED")}


def test_directory_seeds_at_most_the_cap_and_says_how_many_were_left_out_when_a_guild_create_lists_more() -> None:
    from guildlog.services.directory import MAX_SEEDED_MEMBERS

    store = MemoryDirectoryStore()
    members = [
        {"user": {"id": str(300000000000000000 + i), "username": f"m{i}"}} for i in range(MAX_SEEDED_MEMBERS + 3)
    ]

    (row,) = resolve(store, event(1, "GUILD_CREATE", "2026-03-08T00:00:00Z", {"id": GUILD, "members": members}))

    seeded = [k for k in store.items if k[1].startswith("M#")]
    assert len(seeded) == MAX_SEEDED_MEMBERS
    assert json.loads(row.details)["directory_members_left_out"] == 3
