"""Moderation log figures, side by side in one run:

- Discord requests per 1,000 notable events beside the floor (⌈events / 10⌉ per channel and burst),
  bursts being SQS batches of 1–10 rows spread over two log channels;
- 429s received per 1,000 posts against a fake with Discord's kind of limits (per-channel buckets,
  the global limit) and some scripted shared 429s — the goal being only those a shared or global
  limit forces;
- time from ingest to post, p50 and p99, on the local stack (signed relay batch → IngestFunction →
  SQS FIFO → NotifyFunction → fake Discord);
- duplicate posts when batches are retried and redelivered under faults (goal 0).

The delivery runs use the real Deliverer and DiscordRest against the fake Discord on loopback, with
the hot table in memory (tests/fakes); the latency run uses the whole local stack.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

GUILD = "1300000000000000100"
MEMBER_LOG = "1300000000000000200"
MOD_LOG = "1300000000000000201"
EVENTS = 1000
LATENCY_SAMPLES = 60


def _row(n: int) -> dict[str, Any]:
    user = str(1300000000000100000 + n)
    moderation = n % 3 == 0
    return {
        "event_id": f"gw:bench:{n}",
        "batch_id": "bench",
        "source": "gateway",
        "event_type": "GUILD_BAN_ADD" if moderation else "GUILD_MEMBER_ADD",
        "category": "moderation" if moderation else "member",
        "action": "ban" if moderation else "join",
        "occurred_at": "2026-03-01T10:00:00.000Z",
        "received_at": "2026-03-01T10:00:00.000Z",
        "guild_id": GUILD,
        "user_id": user,
        "target_id": user,
        "user_name": f"member {n}",
        "details": "{}",
    }


def _setup(discord: Any) -> tuple[Any, Any, Any]:
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.services.modlog.delivery import Deliverer
    from tests.fakes.memory_table import MemoryTable
    from tests.fakes.modlog_store import MemoryLogStore

    table = MemoryTable()
    table.update_config(GUILD, actor_id="1", at="t", set_fields={"log_channel_id": MEMBER_LOG})
    table.update_config(GUILD, actor_id="1", at="t", set_fields={"route#moderation": MOD_LOG})
    store = MemoryLogStore(table)
    token = discord.bot_token or "bench"
    rest = DiscordRest(discord.api_base, lambda: token, attempts=6, timeout=2.0)
    return Deliverer(rest, store, table), store, rest


def _bursts(rng: random.Random, count: int) -> list[list[int]]:
    bursts, n = [], 0
    while n < count:
        size = min(rng.randint(1, 10), count - n)
        bursts.append(list(range(n, n + size)))
        n += size
    return bursts


def requests_per_events() -> tuple[int, int]:
    """(requests sent, floor) for EVENTS events in SQS-sized bursts over two channels."""
    from guildlog.services.modlog.delivery import Job
    from guildlog_tools.fakes.discord_rest import FakeDiscordRest

    rng = random.Random(7)
    with FakeDiscordRest(limits={}, global_limit=100_000) as discord:
        deliverer, _, _ = _setup(discord)
        floor = 0
        for burst in _bursts(rng, EVENTS):
            rows = [_row(n) for n in burst]
            per_channel = Counter(MOD_LOG if r["category"] == "moderation" else MEMBER_LOG for r in rows)
            floor += sum(-(-c // 10) for c in per_channel.values())
            report = deliverer.deliver([Job(r["event_id"], GUILD, r) for r in rows])
            assert not report.failed
        return len(discord.requests), floor


def rate_limited_posts(posts: int = 300) -> dict[str, int]:
    """429s by scope for `posts` single-event posts against per-channel buckets and a few shared 429s."""
    from guildlog.services.modlog.delivery import Job
    from guildlog_tools.fakes.discord_rest import FakeDiscordRest, rate_limited

    # Discord's shape (5 per window per channel, 50/s global), the window shortened so the run takes seconds.
    limits = {"POST /channels/{channels}/messages": (5, 0.25)}
    with FakeDiscordRest(limits=limits, global_limit=50) as discord:
        deliverer, _, rest = _setup(discord)
        shared = posts // 100
        for n in range(posts):
            if n % 100 == 50:
                discord.script(rate_limited(r"POST /channels/\d+/messages", "shared", retry_after=0.05))
            row = _row(n)
            report = deliverer.deliver([Job(row["event_id"], GUILD, row)])
            assert not report.failed
        statuses = Counter(r.status for r in discord.requests)
        stats = rest.limiter.stats
        return {
            "posts": len(discord.messages),
            "429": statuses[429],
            "shared_forced": shared,
            "client_waits": stats.waits,
            "invalid": stats.invalid,
        }


def duplicates_under_faults(rounds: int = 3) -> tuple[int, int]:
    """(events posted more than once, events posted) when batches fail, are retried and redelivered."""
    from guildlog.services.modlog.delivery import Job
    from guildlog_tools.fakes.discord_rest import FakeDiscordRest, Scripted

    rng = random.Random(11)
    with FakeDiscordRest(limits={}, global_limit=100_000) as discord:
        deliverer, store, _ = _setup(discord)
        for burst in _bursts(rng, 300):
            jobs = [Job(f"m{n}", GUILD, _row(n)) for n in burst]
            fault = rng.random()
            if fault < 0.2:
                discord.script(Scripted(r"POST /channels/\d+/messages", 503, times=6))
            elif fault < 0.4:
                store.fail_marks = 1  # the post went out, its marker did not: SQS redelivers
            pending = jobs
            for _ in range(rounds * 4):
                report = deliverer.deliver(pending)
                pending = [j for j in jobs if j.record_id in report.failed]
                if not pending:
                    break
            deliverer.deliver(jobs)  # the relay retried the whole batch: ingest hands it over again
        seen = Counter(e["footer"]["text"] for m in discord.messages for e in m.body["embeds"])
        return sum(1 for c in seen.values() if c > 1), len(seen)


def ingest_to_post_latency() -> tuple[list[float], int]:
    """Seconds from POST /gateway/events to the post on the fake Discord, and duplicates after resends."""
    from guildlog.adapters.signatures import Signer
    from guildlog_tools.local.stack import LocalStack
    from tests.integration.test_local_stack import post

    samples: list[float] = []
    with TemporaryDirectory() as temp, LocalStack(dev_file=Path(temp) / "dev.json") as stack:
        assert stack.keys is not None and stack.discord is not None
        stack.client("dynamodb").put_item(
            TableName=stack.table,
            Item={"PK": {"S": f"G#{GUILD}"}, "SK": {"S": "CONFIG"}, "log_channel_id": {"S": MEMBER_LOG}},
        )
        signer = Signer(stack.keys.relay_private_key)
        start = datetime.now(UTC) - timedelta(minutes=30)
        for n in range(LATENCY_SAMPLES):
            at = (start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
            event = {
                "t": "GUILD_MEMBER_ADD",
                "seq": n + 1,
                "received_at": at,
                "d": {
                    "guild_id": GUILD,
                    "joined_at": at,
                    "user": {"id": str(1300000000000200000 + n), "username": f"u{n}"},
                },
            }
            envelope = {
                "v": 1,
                "batch_id": f"bench-{n}",
                "relay": {"shard": [0, 1], "session_id": "bench"},
                "events": [event],
            }
            raw = gzip.compress(json.dumps(envelope).encode())
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signer.headers(raw)}
            began = time.monotonic()
            status, _ = post(stack.gateway_events_url, raw, headers)
            assert status == 200
            stack.discord.wait_for_messages(n + 1, timeout=60)
            samples.append(time.monotonic() - began)
            if n % 5 == 0:  # the relay's retry of a batch it did not see acknowledged
                headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signer.headers(raw)}
                post(stack.gateway_events_url, raw, headers)
        assert stack.sqs_poller is not None
        stack.sqs_poller.wait_idle(60)
        seen = Counter(e["footer"]["text"] for m in stack.discord.messages for e in m.body["embeds"])
        return samples, sum(c - 1 for c in seen.values() if c > 1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report() -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    print("== modlog ==")
    sent, floor = requests_per_events()
    print(
        f"Discord requests for {EVENTS:,} notable events in SQS bursts of 1-10 over 2 log channels: "
        f"{sent} (floor {floor}: ⌈events / 10⌉ per channel and burst; {sent / floor:.2f}× the floor)"
    )
    limited = rate_limited_posts()
    per_thousand = 1000 * limited["429"] / limited["posts"]
    forced = 1000 * limited["shared_forced"] / limited["posts"]
    print(
        f"429s per 1,000 posts against per-channel buckets (5 per window) and the global 50/s, with "
        f"{limited['shared_forced']} scripted shared 429s: {per_thousand:.1f} received, {forced:.1f} forced by a "
        f"shared limit (ratio {per_thousand / forced if forced else 0:.2f}); the client waited out a bucket "
        f"{limited['client_waits']} times; invalid requests counted: {limited['invalid']}"
    )
    duplicated, posted = duplicates_under_faults()
    print(
        f"Duplicate posts when batches fail (503s, a lost marker write) and are redelivered and retried: "
        f"{duplicated} of {posted} events (goal 0)"
    )
    samples, resent_duplicates = ingest_to_post_latency()
    p50, p99 = _percentile(samples, 0.5) * 1000, _percentile(samples, 0.99) * 1000
    print(
        f"Ingest to post on the local stack ({LATENCY_SAMPLES} one-event batches, every 5th sent twice): "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (p99 / p50 {p99 / p50:.2f}); duplicate posts: {resent_duplicates}"
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"(measured {stamp} on {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    report()
