"""guildlog.services.erasure.rewriter: which lines an erasure passes over without parsing them."""

from __future__ import annotations

import json

from guildlog.services.erasure.rewriter import MemberEdits

GUILD = "700000000000000001"
ALICE = "700000000000000100"
BOB = "700000000000000101"
ALICES_MESSAGE = "700000000000000900"


def row(**fields: object) -> str:
    base = {"event_id": "e1", "batch_id": "b1", "source": "gateway", "event_type": "MESSAGE_CREATE"}
    base |= {"category": "message", "action": "create", "occurred_at": "2026-11-20T10:00:00.000Z"}
    base |= {"received_at": "2026-11-20T10:00:00.000Z", "guild_id": GUILD, "details": "{}"}
    return json.dumps({**base, **fields})


def test_edit_passes_a_line_over_unparsed_when_it_names_neither_the_member_nor_their_messages() -> None:
    edits = MemberEdits(GUILD, ALICE, frozenset({ALICES_MESSAGE}))
    not_json = f'{{"user_id":"{BOB}", broken'

    assert edits.edit_for("events")(not_json) is not_json
    assert edits.test_for("raw")(not_json) is False


def test_edit_redacts_another_members_line_about_the_members_message_when_only_its_id_names_it() -> None:
    edits = MemberEdits(GUILD, ALICE, frozenset({ALICES_MESSAGE}))
    line = row(event_type="MESSAGE_UPDATE", action="update", message_id=ALICES_MESSAGE, content="alice's words")

    edited = json.loads(edits.edit_for("events")(line))

    assert edited["content"] is None and edits.test_for("events")(line)


def test_edit_leaves_a_line_whose_id_only_contains_the_members_id_as_it_is() -> None:
    edits = MemberEdits(GUILD, ALICE)
    line = row(user_id=BOB, message_id="1" + ALICE[1:] + "7", content="bob's words")

    assert edits.edit_for("events")(line) == line and not edits.test_for("events")(line)
