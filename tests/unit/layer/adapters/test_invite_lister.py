"""guildlog.adapters.invite_lister against the fake Discord: the invites a join is attributed from,
and never a held-up batch or a second refused request when the bot may not list them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog.adapters.discord_rest import DiscordRest
from guildlog.adapters.invite_lister import REFUSED_FOR_SECONDS, RestInviteLister
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, Scripted
from tests.fakes.memory_directory import MemoryDirectoryStore
from tests.unit.layer.services.test_directory import GUILD, MOD, TEXT, join, resolve

INVITES = rf"GET /guilds/{GUILD}/invites"


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    with FakeDiscordRest(limits={}, global_limit=10_000) as server:
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lister(discord: FakeDiscordRest, clock: Clock | None = None) -> RestInviteLister:
    def rest() -> DiscordRest:
        return DiscordRest(discord.api_base, lambda: BOT_TOKEN, sleep=lambda s: None, timeout=2, attempts=2)

    return RestInviteLister(rest, clock=clock or Clock())


def invite(code: str, uses: int) -> dict[str, Any]:
    return {"code": code, "uses": uses, "channel_id": TEXT, "inviter": {"id": MOD, "username": "mod"}}


def invite_requests(discord: FakeDiscordRest) -> int:
    return sum(1 for r in discord.requests if r.method == "GET" and r.path.endswith("/invites"))


def test_list_invites_gives_the_guilds_invites_with_their_counts_when_the_bot_may_list_them(
    discord: FakeDiscordRest,
) -> None:
    discord.invites[GUILD] = [invite("abc", 3)]

    assert lister(discord).list_invites(GUILD) == [invite("abc", 3)]


def test_list_invites_asks_once_an_hour_when_discord_refuses_with_403(discord: FakeDiscordRest) -> None:
    clock = Clock()
    invites = lister(discord, clock)
    discord.script(Scripted(INVITES, 403, {"message": "Missing Permissions", "code": 50013}))

    first = invites.list_invites(GUILD)
    clock.now += REFUSED_FOR_SECONDS / 2
    second = invites.list_invites(GUILD)
    clock.now += REFUSED_FOR_SECONDS
    discord.invites[GUILD] = [invite("abc", 1)]
    third = invites.list_invites(GUILD)

    assert (first, second, third) == (None, None, [invite("abc", 1)])
    assert invite_requests(discord) == 2


def test_list_invites_gives_none_without_raising_when_discord_keeps_failing(discord: FakeDiscordRest) -> None:
    discord.script(Scripted(INVITES, 502, {"message": "Bad Gateway"}, times=5))

    assert lister(discord).list_invites(GUILD) is None


def test_directory_attributes_a_live_join_to_the_invite_discord_counted_when_listed_through_rest(
    discord: FakeDiscordRest,
) -> None:
    store = MemoryDirectoryStore()
    invites = lister(discord)
    discord.invites[GUILD] = [invite("abc", 1), invite("xyz", 7)]
    resolve(store, join(2, "2026-03-08T00:01:00Z"), invites=invites)  # the first join: counts become known
    discord.invites[GUILD] = [invite("abc", 2), invite("xyz", 7)]

    (row,) = resolve(store, join(3, "2026-03-08T00:02:00Z"), invites=invites)

    assert json.loads(row.details)["invite"] == {"code": "abc", "inviter_id": MOD, "ambiguous": False}


def test_directory_logs_the_join_without_an_invite_when_discord_refuses_the_listing(
    discord: FakeDiscordRest,
) -> None:
    discord.script(Scripted(INVITES, 403, {"message": "Missing Permissions", "code": 50013}))

    (row,) = resolve(MemoryDirectoryStore(), join(2, "2026-03-08T00:01:00Z"), invites=lister(discord))

    assert "invite" not in json.loads(row.details)
