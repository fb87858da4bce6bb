"""Two guilds' worth of gateway events, dated around now, posted to a local stack as the relay would.

Guild A ("Lantern Guild") has channels, members, an edited and a deleted message, a join, a leave, a
ban with its audit-log entry, reactions, and one hostile message (`HOSTILE`); guild B holds one
message (`B_SECRET`) that no member of A may ever see.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.adapters.signatures import Signer
from guildlog.services.timefmt import DISCORD_EPOCH_MS

GUILD_A = "910000000000000001"
GUILD_B = "920000000000000001"
GENERAL = "910000000000000010"
MODLOG = "910000000000000011"
B_CHANNEL = "920000000000000010"
ALICE = "910000000000000101"
BOB = "910000000000000102"
MALLORY = "910000000000000103"
MODERATOR = "910000000000000199"
B_SECRET = "guild B's secret plans"
LONG_LINE = "W" * 4000
HOSTILE = (
    "<script>document.title='pwned'</script> <img src=x onerror=\"document.title='pwned'\"> "
    '[click me](javascript:alert(1)) <a href="javascript:alert(2)">x</a> **bold <i>not italic</i>** '
    "\u202eevil-rtl\u202c zero\u200bwidth ||spoiler|| ```\n</code><script>alert(3)</script>\n``` " + LONG_LINE
)


def snowflake(moment: datetime, low: int = 0) -> str:
    return str(((int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + low)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Seeded:
    today: str
    hostile_message_id: str
    edited_message_id: str
    deleted_message_id: str
    messages: int


def guild_events(now: datetime, *, extra_messages: int = 0) -> tuple[list[dict[str, Any]], Seeded]:
    """(dispatches as (t, d) dicts, what was seeded) for both guilds, the newest an hour before `now`."""
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    events: list[dict[str, Any]] = []

    def add(t: str, d: dict[str, Any]) -> None:
        events.append({"t": t, "d": d})

    def user(uid: str, name: str) -> dict[str, Any]:
        return {"id": uid, "username": name, "global_name": name.title()}

    def message(
        at: datetime, low: int, channel: str, author: tuple[str, str], content: str, guild: str = GUILD_A
    ) -> str:
        mid = snowflake(at, low)
        add(
            "MESSAGE_CREATE",
            {"id": mid, "channel_id": channel, "guild_id": guild, "author": user(*author), "content": content,
             "timestamp": iso(at), "edited_timestamp": None, "attachments": [], "type": 0},
        )  # fmt: skip
        return mid

    start = base - timedelta(days=3)
    add("GUILD_CREATE", {"id": GUILD_A, "name": "Lantern Guild", "member_count": 4})
    for channel, name in ((GENERAL, "general"), (MODLOG, "mod-log")):
        add("CHANNEL_CREATE", {"id": channel, "guild_id": GUILD_A, "name": name, "type": 0})
    add("GUILD_MEMBER_ADD", {"guild_id": GUILD_A, "user": user(BOB, "bob"), "joined_at": iso(start)})
    count = 0
    for day in range(4):
        for n in range(3):
            at = start + timedelta(days=day, hours=n * 2)
            who = (ALICE, "alice") if n % 2 == 0 else (BOB, "bob")
            message(at, n, GENERAL, who, f"message {day}-{n} about **lanterns** in <#{MODLOG}> for <@{BOB}>")
            count += 1
    for n in range(extra_messages):
        message(base - timedelta(minutes=n + 5), 100 + n % 1000, GENERAL, (ALICE, "alice"), f"filler message {n}")
        count += 1
    edited_at = base - timedelta(minutes=50)
    edited = message(edited_at, 7, GENERAL, (ALICE, "alice"), "the first text of an edited message")
    add(
        "MESSAGE_UPDATE",
        {"id": edited, "channel_id": GENERAL, "guild_id": GUILD_A, "author": user(ALICE, "alice"),
         "content": "the second text of an edited message", "timestamp": iso(edited_at),
         "edited_timestamp": iso(edited_at + timedelta(minutes=3))},
    )  # fmt: skip
    deleted = message(base - timedelta(minutes=40), 8, GENERAL, (BOB, "bob"), "a message that will be deleted")
    add("MESSAGE_DELETE", {"id": deleted, "channel_id": GENERAL, "guild_id": GUILD_A})
    add(
        "MESSAGE_REACTION_ADD",
        {"user_id": ALICE, "channel_id": GENERAL, "message_id": edited, "guild_id": GUILD_A,
         "emoji": {"id": None, "name": "🔥"}},
    )  # fmt: skip
    hostile = message(base - timedelta(minutes=30), 9, GENERAL, (MALLORY, "mallory<b>x</b>"), HOSTILE)
    add("GUILD_MEMBER_REMOVE", {"guild_id": GUILD_A, "user": user(MALLORY, "mallory")})
    ban_at = base - timedelta(minutes=20)
    add("GUILD_BAN_ADD", {"guild_id": GUILD_A, "user": user(MALLORY, "mallory")})
    add(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        {"id": snowflake(ban_at, 1), "guild_id": GUILD_A, "action_type": 22, "user_id": MODERATOR,
         "target_id": MALLORY, "reason": "spam <script>alert(4)</script>"},
    )  # fmt: skip
    message(base - timedelta(minutes=10), 1, B_CHANNEL, ("920000000000000101", "bea"), B_SECRET, guild=GUILD_B)
    seeded = Seeded(base.date().isoformat(), hostile, edited, deleted, count + 3)
    return events, seeded


def post_events(ingest_url: str, private_key: str, events: list[dict[str, Any]], received_at: datetime) -> None:
    """Sign and post the events in batches of 200, as the relay would (protocol v1)."""
    signer = Signer(private_key)
    for first in range(0, len(events), 200):
        chunk = events[first : first + 200]
        envelope = {
            "v": 1,
            "batch_id": f"web-seed-{int(received_at.timestamp())}-{first}",
            "relay": {"name": "web-seed", "shard": [0, 1], "session_id": "web-seed"},
            "events": [
                {"t": e["t"], "seq": first + n + 1, "received_at": iso(received_at), "session_id": "web-seed",
                 "shard": [0, 1], "d": e["d"]}
                for n, e in enumerate(chunk)
            ],
        }  # fmt: skip
        body = gzip.compress(json.dumps(envelope).encode("utf-8"))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **signer.headers(body)}
        request = urllib.request.Request(ingest_url, data=body, headers=headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the local stack
            result = json.loads(answer.read())
        if result.get("quarantined"):
            raise AssertionError(f"the seed batch had quarantined events: {result}")


def seed(stack: Any, now: datetime | None = None, *, extra_messages: int = 0) -> Seeded:
    """Both guilds into a running LocalStack."""
    moment = now or datetime.now(UTC)
    events, seeded = guild_events(moment, extra_messages=extra_messages)
    assert stack.keys is not None
    post_events(stack.gateway_events_url, stack.keys.relay_private_key, events, moment)
    return seeded
