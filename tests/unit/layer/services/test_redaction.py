"""guildlog.services.redaction: credentials replaced, the event otherwise untouched."""

from __future__ import annotations

from guildlog.services.redaction import REDACTED, redact


def test_redact_replaces_the_voice_token_when_a_voice_server_update_carries_one() -> None:
    event = {"t": "VOICE_SERVER_UPDATE", "d": {"token": "abc", "guild_id": "1", "endpoint": "x"}}

    cleaned, paths = redact(event)

    assert (cleaned["d"], paths) == ({"token": REDACTED, "guild_id": "1", "endpoint": "x"}, ["d.token"])
    assert event["d"]["token"] == "abc"  # the event as received is never changed in place


def test_redact_returns_the_event_itself_when_its_type_carries_no_secret() -> None:
    event = {"t": "MESSAGE_CREATE", "d": {"token": "a word someone typed", "content": "hi"}}

    assert redact(event) == (event, [])


def test_redact_keeps_the_key_order_when_a_token_is_replaced() -> None:
    event = {"t": "INTERACTION_CREATE", "d": {"id": "1", "token": "t", "type": 2}}

    assert list(redact(event)[0]["d"]) == ["id", "token", "type"]
