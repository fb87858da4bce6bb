"""services/erasure/scrub.py: what of a payload or a row is the member's, and its redaction."""

from __future__ import annotations

import json

from guildlog.services.erasure import scrub
from tests.fakes import archive_data as data

ALICE = {"id": data.ALICE, "username": "alice", "global_name": "Alice", "avatar": "abc123"}
BOB = {"id": data.BOB, "username": "bob", "global_name": "Bob"}


def message(author: dict[str, object], content: str, **extra: object) -> dict[str, object]:
    return {
        "id": data.M1,
        "guild_id": data.GUILD,
        "author": author,
        "content": content,
        "attachments": [{"id": "1"}],
        **extra,
    }


def test_scrub_payload_blanks_content_names_and_avatar_when_the_member_wrote_the_message() -> None:
    scrubbed = scrub.scrub_payload(message(ALICE, "my secret"), data.ALICE)

    assert scrubbed["content"] == "" and scrubbed["attachments"] == []
    assert scrubbed["author"] == {
        "id": data.ALICE,
        "username": scrub.ERASED,
        "global_name": scrub.ERASED,
        "avatar": None,
    }


def test_scrub_payload_keeps_anothers_words_when_they_mention_the_member() -> None:
    payload = message(BOB, "hi alice", mentions=[ALICE])

    scrubbed = scrub.scrub_payload(payload, data.ALICE)

    assert scrubbed["content"] == "hi alice" and scrubbed["author"] == BOB
    assert scrubbed["mentions"][0]["username"] == scrub.ERASED


def test_scrub_payload_blanks_the_members_message_when_an_update_lacks_its_author() -> None:
    payload = {"id": data.M1, "guild_id": data.GUILD, "content": "edited secret"}

    assert scrub.scrub_payload(payload, data.ALICE, frozenset({data.M1}))["content"] == ""


def test_involves_finds_the_member_when_their_payload_was_already_scrubbed() -> None:
    payload = message(ALICE, "my secret")

    assert scrub.involves(payload, data.ALICE)
    assert scrub.involves(scrub.scrub_payload(payload, data.ALICE), data.ALICE)
    assert not scrub.involves(message(BOB, "x"), data.ALICE)


def test_scrub_event_leaves_the_event_unchanged_when_it_belongs_to_another_guild() -> None:
    event = {"t": "MESSAGE_CREATE", "d": message(ALICE, "elsewhere", guild_id=data.OTHER_GUILD)}

    assert scrub.scrub_event(event, data.GUILD, data.ALICE) == event


def test_scrub_row_blanks_only_the_messages_content_when_another_member_deleted_it() -> None:
    row = {"guild_id": data.GUILD, "user_id": None, "message_id": data.M1, "content": "cached text", "user_name": None}

    scrubbed = scrub.scrub_row(row, data.GUILD, data.ALICE, frozenset({data.M1}))

    assert scrubbed["content"] is None


def test_scrub_row_leaves_anothers_reaction_unchanged_when_it_is_on_the_members_message() -> None:
    row = {"guild_id": data.GUILD, "user_id": data.BOB, "message_id": data.M1, "user_name": "bob", "content": None}

    assert scrub.scrub_row(row, data.GUILD, data.ALICE, frozenset({data.M1})) == row


def test_scrub_row_replaces_the_members_names_in_details_when_the_row_is_theirs() -> None:
    row = {
        "guild_id": data.GUILD,
        "user_id": data.ALICE,
        "user_name": "alice",
        "content": "hi",
        "details": json.dumps({"nick": "ally", "note": "Alice"}),
    }

    scrubbed = scrub.scrub_row(row, data.GUILD, data.ALICE, names=frozenset({"Alice"}))

    assert scrubbed["user_name"] is None and scrubbed["content"] is None
    assert json.loads(scrubbed["details"]) == {"nick": scrub.ERASED, "note": scrub.ERASED}
