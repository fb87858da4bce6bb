"""Request Guild Members (op 8) after a GUILD_CREATE that left members out, against the fake Discord
in memory on a virtual clock (minutes of rate-limit windows run in milliseconds)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from guildlog_relay.members import MemberRequests, members_left_out
from guildlog_relay.protocol import SEND_LIMIT, SEND_WINDOW_S, Intent
from guildlog_relay.ratelimit import IdentifyGate
from tests.fakes.discord_gateway import FakeDiscord
from tests.unit.relay.test_shard import HEARTBEAT_MS, TOKEN, Harness, live, run_virtual

WITH_MEMBERS = int(Intent.GUILDS | Intent.GUILD_MEMBERS | Intent.GUILD_MESSAGES)
WITHOUT_MEMBERS = int(Intent.GUILDS | Intent.GUILD_MESSAGES)


def guild(guild_id: str, member_count: int, listed: int) -> dict[str, Any]:
    members = [{"user": {"id": f"{guild_id}{n:04d}", "username": f"m{n}"}, "roles": []} for n in range(listed)]
    return {"id": guild_id, "name": "G", "member_count": member_count, "members": members, "large": True}


def gid(n: int) -> str:
    return str(910_000_000_000_000_000 + n)


async def scenario_of(discord: FakeDiscord, harness: Harness, *guilds: dict[str, Any]) -> None:
    harness.start()
    await live(discord)
    for d in guilds:
        await discord.dispatch("GUILD_CREATE", d)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        pytest.param(guild(gid(1), 500, 250), gid(1), id="listed-in-part"),
        pytest.param(guild(gid(1), 3, 3), None, id="listed-whole"),
        pytest.param({"id": gid(1), "unavailable": True}, None, id="unavailable"),
        pytest.param({"id": gid(1), "member_count": True, "members": []}, None, id="count-not-a-number"),
        pytest.param(b'{"id":"910000000000000001","member_count":2,"members":[]}', gid(1), id="discords-bytes"),
        pytest.param(b"{not json", None, id="not-json"),
    ],
)
def test_members_left_out_names_the_guild_only_when_its_guild_create_lists_fewer_than_its_count(
    d: Any, expected: str | None
) -> None:
    assert members_left_out(d) == expected


def test_member_requests_ask_once_per_session_when_a_guild_is_created_again() -> None:
    requests = MemberRequests(WITH_MEMBERS)

    queued = [requests.note_guild_create(guild(gid(1), 500, 250)) for _ in range(2)]
    requests.reset()
    again = requests.note_guild_create(guild(gid(1), 500, 250))

    assert (queued, again) == ([True, False], True)


def test_shard_session_requests_every_member_and_forwards_the_chunks_when_a_guild_create_lists_some() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        discord.guild_members[gid(1)] = guild(gid(1), 1500, 1500)["members"]
        harness = Harness(discord, intents=WITH_MEMBERS)
        await scenario_of(discord, harness, guild(gid(1), 1500, 250))
        await discord.wait_for(lambda: harness.types().count("GUILD_MEMBERS_CHUNK") == 2)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    assert discord.member_requests == [{"guild_id": gid(1), "query": "", "limit": 0}]
    chunks = [e for e in harness.events if e.t == "GUILD_MEMBERS_CHUNK"]
    assert [len(json.loads(e.raw_d)["members"]) for e in chunks] == [1000, 500]
    assert harness.session.stats.member_requests == 1


def test_shard_session_requests_no_members_when_the_guild_create_lists_them_all() -> None:
    async def scenario() -> FakeDiscord:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord, intents=WITH_MEMBERS)
        await scenario_of(discord, harness, guild(gid(1), 3, 3), guild(gid(2), 500, 250))
        await discord.wait_for(lambda: len(discord.member_requests) == 1)  # the second guild's
        await harness.stop()
        return discord

    discord = run_virtual(scenario)
    assert [r["guild_id"] for r in discord.member_requests] == [gid(2)]


def test_shard_session_requests_no_members_when_it_lacks_the_guild_members_intent() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord, intents=WITHOUT_MEMBERS)
        await scenario_of(discord, harness, guild(gid(1), 500, 250))
        await discord.dispatch("MESSAGE_CREATE", {"id": "1"})
        await discord.wait_for(lambda: "MESSAGE_CREATE" in harness.types())
        await asyncio.sleep(600)  # ten virtual minutes: time enough for any request
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    assert discord.member_requests == [] and "GUILD_CREATE" in harness.types()
    assert [f.op for f in discord.client_frames()].count(8) == 0


def test_shard_session_keeps_member_requests_within_the_send_limit_when_many_guilds_arrive_at_once() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord, intents=WITH_MEMBERS, identify_gate=IdentifyGate(interval=0.0))
        await scenario_of(discord, harness, *(guild(gid(n), 500, 250) for n in range(300)))
        await discord.wait_for(lambda: len(discord.member_requests) == 300, 3600)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    frames = discord.client_frames()
    times = sorted(f.at for f in frames)
    busiest = max(sum(1 for t in times[i:] if t < start + SEND_WINDOW_S) for i, start in enumerate(times))
    assert busiest <= SEND_LIMIT and discord.rate_limited == 0
    assert sorted(r["guild_id"] for r in discord.member_requests) == sorted(gid(n) for n in range(300))
    assert times[-1] - times[0] >= 2 * SEND_WINDOW_S  # 300 requests took at least three windows
    beats = [f.at for f in frames if f.op == 1]
    assert beats and max(b - a for a, b in zip(beats, beats[1:], strict=False)) <= HEARTBEAT_MS / 1000 + 1


def test_shard_session_sends_a_request_after_resuming_when_the_connection_dropped_before_it_went_out() -> None:
    async def scenario() -> tuple[FakeDiscord, Harness]:
        discord = FakeDiscord(TOKEN, heartbeat_interval_ms=HEARTBEAT_MS)
        harness = Harness(discord, intents=WITH_MEMBERS, identify_gate=IdentifyGate(interval=0.0))
        # 120 guilds use up the first window's share; the rest wait in the limiter when the connection drops.
        await scenario_of(discord, harness, *(guild(gid(n), 500, 250) for n in range(120)))
        await discord.wait_for(lambda: len(discord.member_requests) >= 100, 3600)
        await discord.close(4000)
        await discord.wait_for(lambda: len(discord.resumes) == 1, 3600)
        await discord.wait_for(lambda: len({r["guild_id"] for r in discord.member_requests}) == 120, 3600)
        await harness.stop()
        return discord, harness

    discord, harness = run_virtual(scenario)
    assert len(discord.sessions) == 1  # resumed, not identified again
    assert {r["guild_id"] for r in discord.member_requests} == {gid(n) for n in range(120)}
