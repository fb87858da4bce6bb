"""The fake Discord REST API: Discord's answers, limits and faults, as the client and the stack meet them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, rate_limited

CHANNEL = "1300000000000000200"
POST = {"embeds": [{"title": "member joined"}], "allowed_mentions": {"parse": []}}


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest() as server:
        yield server


def send(
    discord: FakeDiscordRest, method: str, path: str, body: Any = None, *, bot: bool = True
) -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bot {BOT_TOKEN}"} if bot else {}
    if data is not None:
        headers["Content-Type"] = "application/json"
    # A loopback http URL: the fake, never a file: or remote one.
    request = urllib.request.Request(discord.api_base + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read()), answer.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def test_fake_answers_429_with_the_buckets_headers_when_a_channel_posts_past_its_limit(
    discord: FakeDiscordRest,
) -> None:
    discord.limits = {"POST /channels/{channels}/messages": (2, 60.0)}

    statuses = [send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)[0] for _ in range(3)]
    status, body, headers = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)

    assert statuses == [200, 200, 429] and status == 429
    assert headers["X-RateLimit-Scope"] == "user" and headers["X-RateLimit-Remaining"] == "0"
    assert body["global"] is False and body["retry_after"] > 0
    assert len(discord.messages) == 2


def test_fake_keeps_one_bucket_per_channel_when_two_channels_post(discord: FakeDiscordRest) -> None:
    discord.limits = {"POST /channels/{channels}/messages": (1, 60.0)}

    first = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)[0]
    other = send(discord, "POST", "/channels/1300000000000000201/messages", POST)[0]

    assert (first, other) == (200, 200)


def test_fake_answers_a_global_429_when_the_global_limit_is_spent(discord: FakeDiscordRest) -> None:
    discord.global_limit = 2

    statuses = [send(discord, "GET", "/applications/@me")[0] for _ in range(3)]
    _, body, headers = send(discord, "GET", "/applications/@me")

    assert statuses[-1] == 429
    assert body["global"] is True and headers["X-RateLimit-Scope"] == "global"


def test_fake_serves_a_scripted_shared_429_when_asked(discord: FakeDiscordRest) -> None:
    discord.script(rate_limited(r"POST /channels/\d+/messages", "shared", retry_after=0.5))

    status, body, headers = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)

    assert status == 429 and headers["X-RateLimit-Scope"] == "shared" and body["retry_after"] == 0.5
    assert discord.messages == []


def test_fake_returns_the_first_message_when_a_nonce_is_enforced_twice(discord: FakeDiscordRest) -> None:
    body = {**POST, "nonce": "n-1", "enforce_nonce": True}

    first = send(discord, "POST", f"/channels/{CHANNEL}/messages", body)[1]
    second = send(discord, "POST", f"/channels/{CHANNEL}/messages", body)[1]

    assert first["id"] == second["id"]
    assert len(discord.messages) == 1


def test_fake_waits_for_embeds_across_messages_when_posts_were_grouped_differently(discord: FakeDiscordRest) -> None:
    two = {"embeds": [{"title": "member joined"}, {"title": "member left"}], "allowed_mentions": {"parse": []}}
    send(discord, "POST", f"/channels/{CHANNEL}/messages", two)
    send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)

    messages = discord.wait_for_embeds(3, timeout=120)

    assert [len(m.body["embeds"]) for m in messages] == [2, 1]


def test_fake_refuses_a_post_when_the_embeds_pass_discords_limits(discord: FakeDiscordRest) -> None:
    status, body, _ = send(discord, "POST", f"/channels/{CHANNEL}/messages", {"embeds": [{"description": "x" * 6001}]})

    assert status == 400 and "6000" in body["errors"]


def test_fake_posts_through_a_webhook_it_created_without_a_bot_token(discord: FakeDiscordRest) -> None:
    hook = send(discord, "POST", f"/channels/{CHANNEL}/webhooks", {"name": "guildlog"})[1]

    status, _, _ = send(discord, "POST", f"/webhooks/{hook['id']}/{hook['token']}?wait=true", POST, bot=False)

    assert status == 200
    assert [(m.channel_id, m.via) for m in discord.messages] == [(CHANNEL, "webhook")]


def test_fake_answers_403_then_404_when_a_channel_is_forbidden_then_deleted(discord: FakeDiscordRest) -> None:
    discord.forbid(CHANNEL)
    forbidden = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)
    discord.delete_channel(CHANNEL)
    deleted = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST)

    assert (forbidden[0], forbidden[1]["code"]) == (403, 50013)
    assert (deleted[0], deleted[1]["code"]) == (404, 10003)


def test_fake_refuses_a_channel_post_when_the_bot_token_is_wrong(discord: FakeDiscordRest) -> None:
    status, _, _ = send(discord, "POST", f"/channels/{CHANNEL}/messages", POST, bot=False)

    assert status == 401
    assert discord.requests[-1].authorized is False


def test_fake_accepts_any_interaction_token_when_not_strict() -> None:
    with FakeDiscordRest(application_id=None, strict_interactions=False) as server:
        status, _, _ = send(
            server, "PATCH", "/webhooks/1300000000000000001/anything/messages/@original", {"content": "x"}
        )

        assert status == 200
        assert [e.body for e in server.wait_for_edits(1)] == [{"content": "x"}]
