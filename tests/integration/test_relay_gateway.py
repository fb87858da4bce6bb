"""The live relay against a fake Discord (websockets, zlib-stream, loopback) ingesting into the
embedded local stack: a normal session and every fault the gateway can throw at it.

After every run the invariant is checked on what the stack stored: per session, the sequence
numbers in the raw archive plus the ranges named by GUILDLOG_GAP records cover 1..N (N = the last
seq the fake assigned in that session), a gap claims nothing the archive has, and DynamoDB holds
each logical item once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from guildlog.adapters.signatures import Signer
from guildlog.services.directory import dir_pk, snapshot_sk
from guildlog_relay.batcher import Batcher
from guildlog_relay.discovery import GatewayInfo, fetch_gateway_bot
from guildlog_relay.live import LiveRelay, LiveSettings, RelayExit
from guildlog_relay.pipeline import Pipeline
from guildlog_relay.poster import Poster, RetryPolicy
from guildlog_relay.shard import Tuning
from guildlog_relay.spool import Spool
from guildlog_tools.local.stack import LocalStack
from tests.fakes.discord_gateway import FakeDiscord

pytestmark = pytest.mark.integration

TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Gfake0.token-never-to-be-seen-anywhere"
GUILD = "900000000000000001"
CHANNEL = "900000000000000010"
PATIENCE_S = 120.0  # an upper bound for things that take milliseconds; never asserted on
# Heartbeats in scenarios that are not about them: an ACK that comes later than the next beat makes
# the relay close a zombie and resume, which a loaded machine must never cause where a test counts
# resumes. Scenarios about heartbeats use short intervals and expect late ACKs.
QUIET_HEARTBEAT_MS = 10_000
DISCORD_EPOCH_MS = 1_420_070_400_000


# -- the stack and what it stored ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("stack") / "dev.json") as running:
        yield running


@pytest.fixture
def stack(shared_stack: LocalStack) -> LocalStack:
    """The module's stack with empty storage: one stack start per module, a clean table per test."""
    empty_stack(shared_stack)
    return shared_stack


def empty_stack(stack: LocalStack) -> None:
    """Delete every item and object (moto slows down as its table grows; tests read only their own)."""
    ddb, s3 = stack.client("dynamodb"), stack.client("s3")
    keys = [{"PK": item["PK"], "SK": item["SK"]} for item in all_items(stack)]
    for start in range(0, len(keys), 25):
        chunk = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        ddb.batch_write_item(RequestItems={stack.table: chunk})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=stack.bucket, Delete={"Objects": keys})


def raw_lines(stack: LocalStack) -> list[dict[str, Any]]:
    """Every line of every raw/ object, once ArchiveFunction has written what ingest queued."""
    assert stack.drain(PATIENCE_S)
    s3 = stack.client("s3")
    lines: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="raw/"):
        for obj in page.get("Contents", []):
            blob = s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read()
            lines += [json.loads(line) for line in gzip.decompress(blob).decode().splitlines()]
    return lines


def all_items(stack: LocalStack) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items, start = [], None
    while True:
        page = ddb.scan(TableName=stack.table, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def gaps_of(lines: list[dict[str, Any]], sessions: set[str]) -> list[dict[str, Any]]:
    found = {}
    for line in lines:
        event = line["event"]
        if event["t"] == "GUILDLOG_GAP" and event["d"].get("session_id") in sessions:
            found[line["event_id"]] = event["d"]
    return list(found.values())


def check_invariant(stack: LocalStack, discord: FakeDiscord) -> dict[str, Any]:
    """Coverage of 1..N per session by the raw archive plus the gaps; exact gaps; no duplicate
    raw lines or hot items. Returns what it read, for the test's own assertions."""
    sessions = set(discord.sessions)
    lines = raw_lines(stack)
    gateway = Counter(
        (line["event"]["session_id"], line["event"]["seq"])
        for line in lines
        if line["event"]["source"] == "gateway" and line["event"]["session_id"] in sessions
    )
    assert all(n == 1 for n in gateway.values()), [k for k, n in gateway.items() if n > 1]
    gaps = gaps_of(lines, sessions)
    for session_id, last in discord.seqs().items():
        archived = {seq for (sid, seq) in gateway if sid == session_id}
        covered = set(archived)
        for gap in (g for g in gaps if g["session_id"] == session_id):
            covered |= set(range(gap["from_seq"], (gap["to_seq"] or last) + 1))
            if gap["to_seq"] is None:
                # Exact: everything before the gap is archived, nothing after it is.
                assert archived == set(range(1, gap["from_seq"])), (session_id, gap)
        assert covered >= set(range(1, last + 1)), (session_id, sorted(set(range(1, last + 1)) - covered))
    dispatched = {
        line["event_id"]
        for line in lines
        if line["event"]["source"] == "gateway" and line["event"]["session_id"] in sessions
    }
    ours = dispatched | {line["event_id"] for line in lines if line["event"]["source"] == "relay"}
    items = all_items(stack)

    def kind(item: dict[str, Any]) -> str | None:
        return item.get("kind", {}).get("S")

    feed = Counter(i["event_id"]["S"] for i in items if kind(i) == "event" and i["event_id"]["S"] in ours)
    contacts = Counter(
        i["SK"]["S"].split("#", 2)[-1]
        for i in items
        if kind(i) == "relay_contact" and i["SK"]["S"].split("#", 2)[-1] in ours
    )
    # Every event is in the hot table too: in its guild's feed, or (READY, RESUMED: no guild) as a contact.
    assert dispatched <= set(feed) | set(contacts)
    assert all(n == 1 for n in feed.values()), [k for k, n in feed.items() if n > 1]
    assert all(n == 1 for n in contacts.values()), [k for k, n in contacts.items() if n > 1]
    relay_types = Counter(
        line["event"]["t"]
        for line in lines
        if line["event"]["source"] == "relay" and line["event"]["d"].get("session_id") in sessions
    )
    return {"lines": lines, "gaps": gaps, "gateway": gateway, "feed": feed, "relay_types": relay_types}


# -- the relay under test -----------------------------------------------------------------------


def message(n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    snowflake = str(((int(now.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + n % 4096)
    return {
        "id": snowflake,
        "channel_id": CHANNEL,
        "guild_id": GUILD,
        "author": {"id": "900000000000000100", "username": "ada"},
        "content": f"message {n}",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "edited_timestamp": None,
    }


async def messages(discord: FakeDiscord, count: int, *, shard: int = 0) -> None:
    for n in range(count):
        await discord.dispatch("MESSAGE_CREATE", message(n), shard=shard)


def settings(state_dir: Path, **overrides: Any) -> LiveSettings:
    values: dict[str, Any] = {
        "state_dir": state_dir,
        "status_interval": 0.0,
        "drain_timeout": 10.0,
        "reconnect_base": 0.01,
        "reconnect_cap": 0.1,
        "identify_interval": 0.05,
        "tuning": Tuning(invalid_session_wait=(0.01, 0.05), hello_timeout=60.0),
        **overrides,
    }
    return LiveSettings(**values)


def pipelines(endpoint: str, private_key: str, *, batch_size: int = 20) -> Callable[[Path], Pipeline]:
    def make(folder: Path) -> Pipeline:
        poster = Poster(
            endpoint,
            Signer(private_key),
            policy=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05),
            timeout=10.0,
        )
        return Pipeline(spool=Spool(folder), poster=poster, batcher=Batcher(max_events=batch_size, max_age_ms=50))

    return make


@asynccontextmanager
async def running(
    discord: FakeDiscord,
    stack_or_url: LocalStack | str,
    state_dir: Path,
    *,
    key: str | None = None,
    result: list[RelayExit] | None = None,
    gateway: GatewayInfo | None = None,
    **overrides: Any,
) -> AsyncIterator[LiveRelay]:
    """A LiveRelay on `discord`, forwarding to the stack (or a URL), stopped (drained) on exit."""
    if isinstance(stack_or_url, LocalStack):
        assert stack_or_url.keys is not None
        endpoint, key = stack_or_url.gateway_events_url, stack_or_url.keys.relay_private_key
    else:
        endpoint = stack_or_url
    assert key is not None
    relay = LiveRelay(
        settings(state_dir, **overrides),
        token=TOKEN,
        gateway=gateway or GatewayInfo(url=discord.gateway_url, shards=discord.shards),
        make_pipeline=pipelines(endpoint, key),
        first_pause_s=0.05,
    )
    task = asyncio.create_task(relay.run(handle_signals=False))
    try:
        yield relay
    finally:
        relay.request_stop()
        exit_ = await asyncio.wait_for(task, PATIENCE_S)
        if result is not None:
            result.append(exit_)


def idle(relay: LiveRelay) -> bool:
    return all(
        s.queue.empty() and not len(s.pipeline.core.batcher) and not len(s.pipeline.core.spool) for s in relay.shards
    )


async def delivered(discord: FakeDiscord, relay: LiveRelay, shard: int = 0) -> None:
    """Wait until the webhook acknowledged everything of the shard's current session."""

    def done() -> bool:
        ours = [s for s in relay.shards if s.shard[0] == shard]
        return (
            bool(ours)
            and ours[0].checkpointer.state.session_id == discord.current[shard].session_id
            and ours[0].checkpointer.state.seq == discord.current[shard].seq
            and idle(relay)
        )

    await discord.wait_for(done, PATIENCE_S)


async def connected(discord: FakeDiscord, shard: int = 0, *, after: int = 0) -> None:
    """Wait for a live connection that is newer than the first `after` connections."""
    await discord.wait_for(
        lambda: discord.live(shard) is not None and discord.connections.index(discord.live(shard)) >= after,
        PATIENCE_S,
    )


# -- a normal session ---------------------------------------------------------------------------


def test_live_relay_archives_every_event_once_and_never_the_token_when_the_session_is_normal(
    stack: LocalStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="guildlog")

    async def scenario() -> dict[str, Any]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=50) as discord:
            gateway = await asyncio.to_thread(fetch_gateway_bot, discord.api_base, TOKEN)
            async with running(discord, stack, tmp_path / "state", gateway=gateway, status_interval=0.1) as relay:
                await connected(discord)
                await discord.dispatch("GUILD_CREATE", {"id": GUILD, "name": "test guild", "members": []})
                await messages(discord, 30)
                await discord.dispatch("TYPING_START", {"channel_id": CHANNEL, "user_id": "900000000000000100"})
                # Status events come every 0.1 s, so on a loaded machine the relay may never be idle:
                # wait for what the test needs instead. The checkpoint reaches Discord's seq only once
                # the webhook acknowledged every gateway event; beyond them the webhook took
                # GUILDLOG_CONNECT and a GUILDLOG_HEARTBEAT; a few heartbeats went by. Leaving
                # `running` drains the rest.
                shard = relay.shards[0]

                def archived() -> bool:
                    session = discord.current[0]
                    return (
                        shard.checkpointer.state.session_id == session.session_id
                        and shard.checkpointer.state.seq == session.seq
                        and shard.pipeline.core.stats.accepted >= session.seq + 2
                        and sum(f.op == 1 for f in discord.client_frames()) >= 2
                    )

                await discord.wait_for(archived, PATIENCE_S)
            return {"discord": discord, "stored": check_invariant(stack, discord)}

    out = asyncio.run(scenario())
    discord, stored = out["discord"], out["stored"]
    assert len(discord.sessions) == 1 and not stored["gaps"]
    [(session_id, last)] = discord.seqs().items()
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, last + 1))
    # What Discord sent, each once: READY, ours, and a RESUMED for each resume. With 50 ms heartbeats
    # a loaded machine may see an ACK come late; the relay then closes the zombie and resumes, which
    # loses nothing and is what Discord's RESUMED dispatches account for.
    [session] = discord.sessions.values()
    sent = Counter(session.types[seq] for (_, seq) in stored["gateway"])
    expected = {"READY": 1, "GUILD_CREATE": 1, "MESSAGE_CREATE": 30, "TYPING_START": 1}
    assert sent == Counter(expected | ({"RESUMED": len(discord.resumes)} if discord.resumes else {}))
    assert discord.identifies[0]["token_ok"] and discord.identifies[0]["shard"] == [0, 1]
    assert discord.identifies[0]["intents"] & (1 << 15)  # MESSAGE_CONTENT among the defaults
    assert stored["relay_types"]["GUILDLOG_CONNECT"] == 1 and stored["relay_types"]["GUILDLOG_HEARTBEAT"] >= 1
    assert stored["relay_types"]["GUILDLOG_DISCONNECT"] >= 1  # the shutdown
    beats = [f for f in discord.client_frames() if f.op == 1]
    assert len(beats) >= 2 and discord.rate_limited == 0
    # The token: not in the logs, the state dir, the archive or the hot table.
    assert TOKEN not in caplog.text and "token-never" not in caplog.text
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in json.dumps(stored["lines"])
    assert TOKEN not in json.dumps(all_items(stack))


def test_live_relay_archives_events_when_every_payload_is_split_across_websocket_messages(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS, split_frames=4) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 25)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, 27)) and not stored["gaps"]


def test_live_relay_archives_a_1_mb_guild_create_byte_for_byte_when_it_arrives(
    stack: LocalStack, tmp_path: Path
) -> None:
    members = [
        {"user": {"id": str(800000000000000000 + i), "username": f"member-{i:06d}"}, "roles": [], "nick": None}
        for i in range(12_000)
    ]
    guild = {"id": GUILD, "name": "a big guild", "member_count": len(members), "members": members}
    size = len(json.dumps(guild, separators=(",", ":")))
    assert size > 1_000_000

    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 3)
                await discord.dispatch("GUILD_CREATE", guild)
                await messages(discord, 3)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    [created] = [
        line["event"]
        for line in stored["lines"]
        if line["event"]["t"] == "GUILD_CREATE" and line["event"]["session_id"] in discord.sessions
    ]
    assert created["d"] == guild


def test_live_relay_requests_the_members_a_guild_create_left_out_and_the_directory_takes_them_in(
    stack: LocalStack, tmp_path: Path
) -> None:
    members = [
        {"user": {"id": str(800000000000000000 + i), "username": f"member-{i:04d}"}, "roles": [], "nick": f"n{i}"}
        for i in range(1_200)
    ]
    # A large guild arrives with its online members only; the rest come in GUILD_MEMBERS_CHUNKs.
    guild = {"id": GUILD, "name": "a large guild", "member_count": len(members), "members": members[:250]}

    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            discord.guild_members[GUILD] = members
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await discord.dispatch("GUILD_CREATE", guild)
                session = discord.current[0]
                await discord.wait_for(lambda: list(session.types.values()).count("GUILD_MEMBERS_CHUNK") == 2)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    assert discord.member_requests == [{"guild_id": GUILD, "query": "", "limit": 0}]
    chunks = [line["event"]["d"] for line in stored["lines"] if line["event"]["t"] == "GUILD_MEMBERS_CHUNK"]
    assert sorted(len(c["members"]) for c in chunks) == [200, 1000]
    last = members[-1]["user"]["id"]  # only in the second chunk
    [snapshot] = [
        item
        for item in all_items(stack)
        if item["PK"]["S"] == dir_pk(GUILD) and item["SK"]["S"] == snapshot_sk("member", last)
    ]
    assert json.loads(snapshot["state"]["S"])["nick"] == "n1199"


# -- faults -------------------------------------------------------------------------------------

RESUMED_CODES = [4000, 4001, 4002, 4003, 4005, 4008, 1000, 1001, 3000]
FATAL_CODES = {
    4004: "refused the bot token",
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "Developer Portal",
}


@pytest.mark.parametrize("code", RESUMED_CODES)
def test_live_relay_resumes_without_a_gap_when_discord_closes_with_a_resumable_code(
    stack: LocalStack, tmp_path: Path, code: int
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                await discord.close(code)
                await messages(discord, 5)  # sent while the relay is away: replayed on RESUME
                await connected(discord, after=1)
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    [session] = discord.sessions.values()
    assert len(discord.identifies) == 1 and not stored["gaps"]
    assert discord.resumes[-1]["session_id"] == session.session_id and discord.resumes[-1]["path"].startswith("/resume")
    assert stored["relay_types"]["GUILDLOG_RESUME"] == 1


def test_live_relay_resumes_without_a_gap_when_the_connection_drops_without_a_close_frame(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                discord.live().ws.transport.abort()  # type: ignore[union-attr]
                await messages(discord, 5)
                await connected(discord, after=1)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    assert len(discord.identifies) == 1 and len(discord.resumes) == 1 and not stored["gaps"]


@pytest.mark.parametrize(("code", "reason"), [(4007, "invalid_seq"), (4009, "session_timed_out")])
def test_live_relay_records_a_gap_and_identifies_again_when_discord_closes_with_a_session_ending_code(
    stack: LocalStack, tmp_path: Path, code: int, reason: str
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                first = discord.current[0]
                first.resumable = False
                await discord.close(code)
                await messages(discord, 4)  # to the dead session: lost, and inside the gap
                await connected(discord, after=1)
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    old, new = list(discord.sessions)
    [gap] = stored["gaps"]
    assert gap["session_id"] == old and gap["reason"] == reason and gap["from_seq"] == 7 and gap["last_seq"] == 6
    assert discord.sessions[old].seq == 10  # seqs 7..10 never reached the relay; the gap names them
    assert len(discord.identifies) == 2 and stored["gateway"][(new, 1)] == 1
    assert gap["since"] <= gap["until"]


@pytest.mark.parametrize("code", sorted(FATAL_CODES))
def test_live_relay_exits_78_saying_why_and_keeps_what_it_received_when_discord_closes_with_a_fatal_code(
    stack: LocalStack, tmp_path: Path, code: int
) -> None:
    result: list[RelayExit] = []

    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state", result=result) as relay:
                await connected(discord)
                await messages(discord, 5)
                await discord.close(code)
                await discord.wait_for(lambda: relay.stopping, PATIENCE_S)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    [exit_] = result
    assert exit_.code == 78 and str(code) in exit_.message and FATAL_CODES[code] in exit_.message
    assert len(discord.connections) == 1 and not stored["gaps"]
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, 7))


def test_live_relay_exits_78_naming_the_portal_setting_when_a_privileged_intent_is_not_enabled(
    stack: LocalStack, tmp_path: Path
) -> None:
    result: list[RelayExit] = []

    async def scenario() -> None:
        no_message_content = (1 << 25) - 1 - (1 << 15)
        async with (
            FakeDiscord(TOKEN, allowed_intents=no_message_content) as discord,
            running(discord, stack, tmp_path / "state", result=result) as relay,
        ):
            await discord.wait_for(lambda: relay.stopping, PATIENCE_S)

    asyncio.run(scenario())
    assert result[0].code == 78 and "4014" in result[0].message and "Privileged Gateway Intents" in result[0].message


def test_live_relay_resumes_at_once_without_a_gap_when_discord_sends_reconnect(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any], LiveRelay]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state", reconnect_base=5.0, reconnect_cap=5.0) as relay:
                await connected(discord)
                await messages(discord, 5)
                await discord.send_op(7)
                await messages(discord, 5)
                await connected(discord, after=1)  # no 2.5-5 s backoff: op 7 reconnects at once
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord), relay

    discord, stored, relay = asyncio.run(scenario())
    assert len(discord.identifies) == 1 and len(discord.resumes) == 1 and not stored["gaps"]
    assert discord.connections[0].client_close == 4000  # a resumable close: Discord keeps the session
    assert relay.shards[0].stats.resumes == 1


def test_live_relay_resumes_without_a_gap_when_discord_invalidates_the_session_as_resumable(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                await discord.send_op(9, True)
                await connected(discord, after=1)
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    assert len(discord.sessions) == 1 and len(discord.resumes) == 1 and not stored["gaps"]


def test_live_relay_records_a_gap_and_identifies_again_when_discord_invalidates_the_session_for_good(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                await discord.send_op(9, False)
                await messages(discord, 3)  # lost with the session
                await connected(discord, after=1)
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    discord, stored = asyncio.run(scenario())
    old, new = list(discord.sessions)
    [gap] = stored["gaps"]
    assert (gap["session_id"], gap["from_seq"], gap["reason"]) == (old, 7, "invalid_session")
    assert len(discord.identifies) == 2 and discord.connections[0].client_close == 1000


def test_live_relay_closes_the_zombie_and_resumes_without_a_gap_when_heartbeats_are_not_acknowledged(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any], LiveRelay]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=50) as discord:
            async with running(discord, stack, tmp_path / "state") as relay:
                await connected(discord)
                await messages(discord, 5)
                discord.withhold_acks = True
                await discord.wait_for(lambda: discord.connections[0].client_close is not None, PATIENCE_S)
                discord.withhold_acks = False
                await messages(discord, 5)
                await connected(discord, after=1)
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord), relay

    discord, stored, relay = asyncio.run(scenario())
    assert discord.connections[0].client_close == 4000 and relay.shards[0].stats.zombies >= 1
    assert len(discord.sessions) == 1 and not stored["gaps"]


class SwitchableProxy:
    """Forwards POSTs to the stack, or answers 503 while `down` is set, or 413 for a body that
    inflates past `max_body` (the stack's own cap, lowered); logs the batch ids it forwarded."""

    def __init__(self, target: str, *, max_body: int | None = None) -> None:
        self.target = target
        self.max_body = max_body
        self.held = threading.Event()  # while set, requests wait for `release` and are never forwarded
        self.holding = threading.Event()  # a request is being held
        self.released = threading.Event()
        self.down = threading.Event()
        self.forwarded: list[str] = []
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if proxy.held.is_set():
                    proxy.holding.set()
                    proxy.released.wait(PATIENCE_S)
                    return self._answer(503, b'{"error":"held"}')
                if proxy.down.is_set():
                    proxy.refused += 1
                    return self._answer(503, b'{"error":"down"}')
                if proxy.max_body is not None and len(gzip.decompress(body)) > proxy.max_body:
                    return self._answer(413, b'{"error":"payload too large","limit":%d}' % proxy.max_body)
                keep = {k: v for k, v in self.headers.items() if k.lower().startswith(("content-", "x-signature"))}
                keep.pop("Content-Length", None)
                request = urllib.request.Request(proxy.target, data=body, headers=keep, method="POST")  # noqa: S310
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                if status == 200:
                    proxy.forwarded.append(json.loads(payload)["batch_id"])
                return self._answer(status, payload)

            def _answer(self, status: int, body: bytes) -> None:
                with contextlib.suppress(OSError):  # the relay may be gone (killed mid-request)
                    self._send(status, body)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gateway/events"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> SwitchableProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def test_live_relay_spools_to_disk_and_sends_in_order_when_the_webhook_is_down_then_back(
    stack: LocalStack, tmp_path: Path
) -> None:
    assert stack.keys is not None
    key = stack.keys.relay_private_key
    peak: list[int] = []

    async def scenario(proxy: SwitchableProxy) -> tuple[FakeDiscord, dict[str, Any]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, proxy.url, tmp_path / "state", key=key) as relay:
                await connected(discord)
                await messages(discord, 5)
                await delivered(discord, relay)
                proxy.down.set()
                await messages(discord, 100)
                spool = relay.shards[0].pipeline.core.spool
                await discord.wait_for(lambda: len(spool) >= 5 and proxy.refused >= 3, PATIENCE_S)
                peak.append(len(spool))
                # The events wait on disk, not in memory: nothing is left queued or buffered.
                await discord.wait_for(lambda: relay.shards[0].queue.empty(), PATIENCE_S)
                proxy.down.clear()
                await messages(discord, 5)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord)

    with SwitchableProxy(stack.gateway_events_url) as proxy:
        discord, stored = asyncio.run(scenario(proxy))
    assert peak[0] >= 5 and not stored["gaps"]
    [session_id] = discord.sessions
    firsts = [int(b.split("-")[-2]) for b in proxy.forwarded if b.startswith(session_id)]
    assert firsts == sorted(firsts)  # the spool drained oldest first
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, 112))


def test_live_relay_records_a_gap_naming_the_event_when_one_event_is_over_the_webhook_size_cap(
    stack: LocalStack, tmp_path: Path
) -> None:
    assert stack.keys is not None
    huge = {"id": GUILD, "name": "huge", "members": [{"user": {"id": str(i)}} for i in range(40_000)]}

    async def scenario(proxy: SwitchableProxy) -> tuple[FakeDiscord, dict[str, Any], LiveRelay]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(discord, proxy.url, tmp_path / "state", key=stack.keys.relay_private_key) as relay:
                await connected(discord)
                await messages(discord, 3)
                await discord.dispatch("GUILD_CREATE", huge)
                await messages(discord, 3)
                await delivered(discord, relay)
            return discord, check_invariant(stack, discord), relay

    # The stack's caps, lowered to 200 KB: the ~1 MB GUILD_CREATE is over it, every batch of messages under.
    with SwitchableProxy(stack.gateway_events_url, max_body=200_000) as proxy:
        discord, stored, relay = asyncio.run(scenario(proxy))
    [session_id] = discord.sessions
    [gap] = stored["gaps"]
    assert (gap["from_seq"], gap["to_seq"], gap["reason"], gap["t"]) == (5, 5, "too_large", "GUILD_CREATE")
    assert discord.sessions[session_id].types[5] == "GUILD_CREATE"
    assert {seq for (_, seq) in stored["gateway"]} == set(range(1, 9)) - {5}
    kept = tmp_path / "state" / "shard-0" / gap["kept_as"]
    # Kept as it was sent: gzipped.
    assert kept.name.endswith(".json.gz") and json.loads(gzip.decompress(kept.read_bytes()))["events"][0]["seq"] == 5
    assert relay.shards[0].checkpointer.state.seq == 8  # the checkpoint moved past it


# -- shards and shutdown ------------------------------------------------------------------------


def test_live_relays_split_the_shards_each_with_its_own_session_and_checkpoint_when_given_disjoint_ranges(
    stack: LocalStack, tmp_path: Path
) -> None:
    async def scenario() -> tuple[FakeDiscord, dict[str, Any], list[LiveRelay]]:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS, shards=3, max_concurrency=1) as discord:
            gateway = GatewayInfo(url=discord.gateway_url, shards=3)
            async with (
                running(discord, stack, tmp_path / "a", gateway=gateway, shard_ids=(0, 2), shard_count=3) as first,
                running(discord, stack, tmp_path / "b", gateway=gateway, shard_ids=(1,), shard_count=3) as second,
            ):
                for shard in (0, 1, 2):
                    await connected(discord, shard)
                    await messages(discord, 4, shard=shard)
                await delivered(discord, first, shard=0)
                await delivered(discord, first, shard=2)
                await delivered(discord, second, shard=1)
            return discord, check_invariant(stack, discord), [first, second]

    discord, stored, (first, second) = asyncio.run(scenario())
    assert sorted(tuple(i["shard"]) for i in discord.identifies) == [(0, 3), (1, 3), (2, 3)]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["shard-0", "shard-2"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["shard-1"]
    assert not stored["gaps"] and len(discord.sessions) == 3


def test_live_relay_leaves_the_rest_in_the_spool_and_closes_resumably_when_stopped_during_an_outage(
    stack: LocalStack, tmp_path: Path
) -> None:
    assert stack.keys is not None
    key = stack.keys.relay_private_key
    result: list[RelayExit] = []

    async def scenario(proxy: SwitchableProxy) -> FakeDiscord:
        async with FakeDiscord(TOKEN, heartbeat_interval_ms=QUIET_HEARTBEAT_MS) as discord:
            async with running(
                discord, proxy.url, tmp_path / "state", key=key, drain_timeout=0.5, result=result
            ) as relay:
                await connected(discord)
                await messages(discord, 3)
                await delivered(discord, relay)
                proxy.down.set()
                await messages(discord, 10)
                await discord.wait_for(lambda: relay.shards[0].queue.empty() and proxy.refused >= 1, PATIENCE_S)
            first_close = discord.connections[0].client_close
            proxy.down.clear()
            await messages(discord, 2)  # while no relay runs
            async with running(discord, proxy.url, tmp_path / "state", key=key) as relay:
                await connected(discord, after=1)
                await delivered(discord, relay)
            assert first_close == 4000
            return discord

    with SwitchableProxy(stack.gateway_events_url) as proxy:
        discord = asyncio.run(scenario(proxy))
    [stopped] = result
    assert stopped.code == 0 and stopped.spooled >= 1
    assert len(discord.identifies) == 1 and len(discord.resumes) == 1  # resumed across the restart
    stored = check_invariant(stack, discord)
    assert not stored["gaps"] and {seq for (_, seq) in stored["gateway"]} == set(range(1, discord.current[0].seq + 1))
