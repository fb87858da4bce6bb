"""guildlog.adapters.discord_rest against the fake Discord: rate limits, retries, deadlines, no token leaks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from guildlog.adapters.discord_rest import DiscordRest, redact
from guildlog.errors import DiscordApiError
from tests.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, Scripted

APP = "1300000000000000001"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0"


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest(application_id=APP) as server:
        server.open_interaction(INTERACTION_TOKEN)
        yield server


def client(
    discord: FakeDiscordRest, token: str | None = BOT_TOKEN, **kwargs: object
) -> tuple[DiscordRest, list[float]]:
    waits: list[float] = []
    rest = DiscordRest(discord.api_base, (lambda: token) if token else None, sleep=waits.append, **kwargs)  # type: ignore[arg-type]
    return rest, waits


def test_put_commands_overwrites_and_get_reads_them_back_when_authorised(discord: FakeDiscordRest) -> None:
    rest, _ = client(discord)

    rest.put_commands(APP, [{"name": "a", "description": "x"}])
    answer = rest.put_commands(APP, [{"name": "b", "description": "y"}], guild_id="1300000000000000100")

    assert [c["name"] for c in rest.get_commands(APP)] == ["a"]
    assert [c["name"] for c in answer] == ["b"]
    assert all(r.authorized for r in discord.requests)


def test_request_waits_out_a_rate_limit_then_succeeds_when_discord_answers_429(discord: FakeDiscordRest) -> None:
    discord.script(Scripted(r"GET /applications/\d+/commands", 429, {"retry_after": 1.5, "global": False}))
    rest, waits = client(discord)

    assert rest.get_commands(APP) == []
    assert waits == [1.5]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_request_retries_with_backoff_when_discord_fails_transiently(discord: FakeDiscordRest, status: int) -> None:
    discord.script(Scripted(r"GET /applications/@me", status), Scripted(r"GET /applications/@me", status))
    rest, waits = client(discord)

    assert rest.get_application()["id"] == APP
    assert len(waits) == 2


def test_request_gives_up_after_its_attempts_when_discord_keeps_failing(discord: FakeDiscordRest) -> None:
    discord.script(*[Scripted(r"GET /applications/@me", 503)] * 4)
    rest, waits = client(discord, attempts=4)

    with pytest.raises(DiscordApiError, match="failed after 4 attempts"):
        rest.get_application()
    assert len(waits) == 3


def test_request_fails_at_once_with_discords_message_when_refused(discord: FakeDiscordRest) -> None:
    rest, waits = client(discord, token="wrong-token")

    with pytest.raises(DiscordApiError) as caught:
        rest.get_commands(APP)
    assert caught.value.fields["status"] == 401
    assert "Unauthorized" in caught.value.message
    assert "wrong-token" not in caught.value.message and waits == []


def test_edit_original_sends_no_bot_token_and_hides_the_interaction_token_when_it_fails(
    discord: FakeDiscordRest,
) -> None:
    rest, _ = client(discord)

    with pytest.raises(DiscordApiError) as caught:
        rest.edit_original(APP, "expired-token-value", {"content": "late"})

    assert caught.value.fields["status"] == 404
    assert "expired-token-value" not in caught.value.message
    assert "/webhooks/1300000000000000001/***/messages/@original" in caught.value.message
    assert BOT_TOKEN not in repr(caught.value)
    assert discord.requests[-1].authorized is False


def test_edit_original_changes_the_answer_when_the_token_is_open(discord: FakeDiscordRest) -> None:
    rest, _ = client(discord, token=None)

    rest.edit_original(APP, INTERACTION_TOKEN, {"content": "done"})

    assert discord.originals[INTERACTION_TOKEN] == {"content": "done"}


def test_edit_original_does_not_wait_past_its_deadline_when_rate_limited(discord: FakeDiscordRest) -> None:
    discord.script(Scripted(r"PATCH /webhooks/.*", 429, {"retry_after": 30}))
    rest, waits = client(discord)

    with pytest.raises(DiscordApiError, match="after the deadline"):
        rest.edit_original(APP, INTERACTION_TOKEN, {"content": "x"}, deadline=datetime.now(UTC) + timedelta(seconds=5))
    assert waits == []
    assert INTERACTION_TOKEN not in discord.originals


def test_edit_original_sends_nothing_when_the_deadline_has_passed(discord: FakeDiscordRest) -> None:
    rest, _ = client(discord)

    with pytest.raises(DiscordApiError, match="out of time"):
        rest.edit_original(APP, INTERACTION_TOKEN, {"content": "x"}, deadline=datetime.now(UTC) - timedelta(seconds=1))
    assert discord.requests == []


def test_request_needs_a_token_when_the_route_is_the_bots(discord: FakeDiscordRest) -> None:
    rest, _ = client(discord, token=None)

    with pytest.raises(DiscordApiError, match="needs the bot token"):
        rest.get_commands(APP)


def test_request_retries_then_fails_when_nobody_listens() -> None:
    waits: list[float] = []
    rest = DiscordRest("http://127.0.0.1:9", lambda: "t", sleep=waits.append, attempts=2, timeout=1)

    with pytest.raises(DiscordApiError, match="unreachable"):
        rest.get_application()
    assert len(waits) == 1


def test_redact_hides_the_token_segment_when_the_path_is_a_webhook() -> None:
    assert redact("/webhooks/123/abc.def-ghi/messages/@original") == "/webhooks/123/***/messages/@original"
    assert redact("/applications/123/commands") == "/applications/123/commands"
