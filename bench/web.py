"""Web viewer figures: each page's answer time (p50/p95/p99) through the local stack's HTTP API, beside the
issue's 300 ms target, and the cold import of `functions/web/app.py` beside `import boto3`.

The stack is the embedded one (moto in process, the handler in process behind the loopback API
Gateway), seeded with two guilds through the ingest webhook; the viewer is signed in through the fake
Discord's OAuth endpoints. The time is measured at the client, so it includes the loopback hop.
"""

from __future__ import annotations

import http.cookiejar
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.imports import function_snippet, import_times

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 300
RUNS = 20


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report() -> None:
    from guildlog_tools.fakes.discord_oauth import FakeGuild, FakeUser
    from guildlog_tools.local.stack import LocalStack
    from tests.fakes.web_guild import ALICE, GENERAL, GUILD_A, MODERATOR, seed

    with tempfile.TemporaryDirectory() as state, LocalStack(dev_file=Path(state) / "dev.json") as stack:
        seeded = seed(stack, datetime.now(UTC), extra_messages=150)
        assert stack.discord is not None
        stack.discord.oauth.sign_in_as(FakeUser(MODERATOR, "moderator", (FakeGuild(GUILD_A, "Lantern Guild"),)))
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        opener.open(f"{stack.web_url}/auth/login?next=/app/g/{GUILD_A}/", timeout=60).read()
        pages = {
            "overview": f"/g/{GUILD_A}/",
            "feed": f"/g/{GUILD_A}/feed",
            "feed, filtered": f"/g/{GUILD_A}/feed?category=message&kind=create",
            "search": f"/g/{GUILD_A}/search?q=lanterns",
            "transcript": f"/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}",
            "member": f"/g/{GUILD_A}/member/{ALICE}",
        }
        times: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(RUNS):
            for name, path in pages.items():
                started = time.perf_counter()
                with opener.open(stack.web_url + path, timeout=60) as answer:
                    answer.read()
                    assert answer.status == 200, (name, answer.status)
                times[name].append((time.perf_counter() - started) * 1000)
    print(f"web viewer: answer time per page through the local stack, {RUNS} runs each, {seeded.messages} messages")
    print(f"  {'page':<16} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   target: p50 under {TARGET_MS} ms")
    for name, values in times.items():
        p50, p95, p99 = statistics.median(values), _percentile(values, 0.95), _percentile(values, 0.99)
        print(f"  {name:<16} {p50:8.1f} {p95:8.1f} {p99:8.1f}   {'ok' if p50 <= TARGET_MS else 'over'}")
    imports = import_times(
        {"functions/web/app.py": function_snippet(str(REPO / "functions/web/app.py")), "import boto3": "import boto3"}
    )
    print("web viewer: cold import (median of 7 fresh interpreters)")
    for name, seconds in imports.items():
        print(f"  {name:<22} {seconds * 1000:8.1f} ms")
    ratio = imports["functions/web/app.py"] / imports["import boto3"]
    print(f"  the function's import is {ratio:.2f}x `import boto3`")
