"""guildlog.adapters.discord_rest against the fake Discord: rate limits, retries, deadlines, no token leaks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from guildlog.adapters.discord_rest import DiscordRest, redact, route_key
from guildlog.errors import DiscordApiError, DiscordTargetGoneError
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, Scripted, rate_limited

APP = "1300000000000000001"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0"


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest(application_id=APP) as server:
        server.open_interaction(INTERACTION_TOKEN)
        yield server


class Clock:
    """A monotonic clock that moves only when the client sleeps: waits are exact, and none is real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def client(
    discord: FakeDiscordRest, token: str | None = BOT_TOKEN, **kwargs: object
) -> tuple[DiscordRest, list[float]]:
    clock = Clock()
    rest = DiscordRest(
        discord.api_base,
        (lambda: token) if token else None,
        sleep=clock.sleep,
        monotonic=clock,
        **kwargs,  # type: ignore[arg-type]
    )
    return rest, clock.waits


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


CHANNEL = "1300000000000000200"
OTHER_CHANNEL = "1300000000000000201"
POST = {"content": "", "embeds": [{"title": "t"}], "allowed_mentions": {"parse": []}}


def test_route_key_keeps_the_major_parameter_when_ids_vary() -> None:
    assert route_key("POST", f"/channels/{CHANNEL}/messages") == ("POST /channels/{channels}/messages", CHANNEL)
    assert route_key("PATCH", "/webhooks/1300000000000000001/tok/messages/@original") == (
        "PATCH /webhooks/{webhooks}/{token}/messages/@original",
        "1300000000000000001/tok",
    )
    assert route_key("GET", "/applications/1300000000000000001/commands") == ("GET /applications/{id}/commands", "")


def test_request_waits_for_the_bucket_reset_when_the_last_answer_left_none(discord: FakeDiscordRest) -> None:
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2.5", "X-RateLimit-Bucket": "abc"}
    discord.script(Scripted(r"POST /channels/\d+/messages", 200, {"id": "1"}, spent))
    rest, waits = client(discord)

    rest.create_message(CHANNEL, POST)
    rest.create_message(CHANNEL, POST)

    assert waits == [2.5]
    assert 429 not in discord.statuses()


def test_request_does_not_wait_when_the_spent_bucket_is_another_channels(discord: FakeDiscordRest) -> None:
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2.5", "X-RateLimit-Bucket": "abc"}
    discord.script(Scripted(r"POST /channels/\d+/messages", 200, {"id": "1"}, spent))
    rest, waits = client(discord)

    rest.create_message(CHANNEL, POST)
    rest.create_message(OTHER_CHANNEL, POST)

    assert waits == []


def test_request_holds_every_route_when_a_429_is_global(discord: FakeDiscordRest) -> None:
    discord.script(rate_limited(r"POST /channels/\d+/messages", "global", retry_after=3.0))
    rest, waits = client(discord)

    rest.create_message(CHANNEL, POST)  # waits 3 s, then posts
    rest.get_application()

    assert waits == [3.0]
    assert rest.limiter.stats.rate_limited_global == 1


def test_request_holds_only_its_bucket_when_a_429_is_the_users(discord: FakeDiscordRest) -> None:
    discord.script(rate_limited(r"POST /channels/\d+/messages", "user", retry_after=3.0))
    rest, waits = client(discord)

    rest.create_message(CHANNEL, POST)
    rest.create_message(OTHER_CHANNEL, POST)

    assert waits == [3.0]
    assert rest.limiter.stats.invalid == 1


def test_request_does_not_count_an_invalid_request_when_the_429_is_shared(discord: FakeDiscordRest) -> None:
    discord.script(rate_limited(r"POST /channels/\d+/messages", "shared", retry_after=1.0))
    rest, _ = client(discord)

    rest.create_message(CHANNEL, POST)

    assert rest.limiter.stats.rate_limited_shared == 1
    assert rest.limiter.stats.invalid == 0


def test_create_message_raises_target_gone_at_once_when_the_channel_is_forbidden(discord: FakeDiscordRest) -> None:
    discord.forbid(CHANNEL)
    rest, waits = client(discord)

    with pytest.raises(DiscordTargetGoneError) as caught:
        rest.create_message(CHANNEL, POST)

    assert caught.value.fields["status"] == 403
    assert len(discord.requests) == 1 and waits == []


def test_create_message_raises_target_gone_when_the_channel_was_deleted(discord: FakeDiscordRest) -> None:
    discord.delete_channel(CHANNEL)
    rest, _ = client(discord)

    with pytest.raises(DiscordTargetGoneError) as caught:
        rest.create_message(CHANNEL, POST)

    assert caught.value.fields["status"] == 404


def test_request_refuses_to_send_when_invalid_requests_reach_the_ceiling(discord: FakeDiscordRest) -> None:
    discord.forbid(CHANNEL)
    rest, _ = client(discord, limiter=None)
    rest.limiter.invalid_ceiling = 3
    for _ in range(3):
        with pytest.raises(DiscordTargetGoneError):
            rest.create_message(CHANNEL, POST)

    with pytest.raises(DiscordApiError, match="too many invalid requests"):
        rest.create_message(OTHER_CHANNEL, POST)
    assert len(discord.requests) == 3


def test_request_waits_for_the_global_window_when_fifty_went_out_in_a_second(discord: FakeDiscordRest) -> None:
    # The fake's own limits out of the way (its clock is real): only the client's global window is tested.
    discord.limits, discord.global_limit = {"GET /applications/@me": (1000, 1.0)}, 1000
    rest, waits = client(discord)
    for _ in range(50):
        rest.get_application()
    assert waits == []

    rest.get_application()

    assert waits == [pytest.approx(1.0)]


def test_execute_webhook_sends_no_bot_token_and_hides_its_token_when_it_fails(discord: FakeDiscordRest) -> None:
    rest, _ = client(discord)
    hook = rest.create_webhook(CHANNEL, "guildlog")
    discord.delete_channel(CHANNEL)

    with pytest.raises(DiscordTargetGoneError) as caught:
        rest.execute_webhook(hook["id"], hook["token"], POST)

    assert hook["token"] not in caught.value.message
    assert discord.requests[-1].authorized is False


def test_request_retries_when_an_answer_times_out(discord: FakeDiscordRest) -> None:
    # The slow answer outlasts the timeout however loaded the machine; the retry's answer comes well within it.
    discord.script(Scripted(r"GET /applications/@me", 200, {"id": "slow"}, delay=10.0))
    rest, waits = client(discord, timeout=2.0)

    assert rest.get_application()["id"] == APP
    assert len(waits) == 1
