"""guildlog.services.modlog.delivery against the fake Discord: order, coalescing, never twice, faults, ignores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.adapters.discord_rest import DiscordRest
from guildlog.models.row import EventRow
from guildlog.services.modlog.delivery import Deliverer, Job
from guildlog_tools.fakes.discord_rest import BOT_TOKEN, FakeDiscordRest, Posted, Scripted, rate_limited
from tests.fakes.memory_table import MemoryTable
from tests.fakes.modlog_store import MemoryLogStore

GUILD = "1300000000000000100"
LOG = "1300000000000000200"
MOD_LOG = "1300000000000000201"
CHAT = "1300000000000000300"
MEMBER = "1300000000000000400"
ROLE = "1300000000000000500"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def discord() -> Iterator[FakeDiscordRest]:
    # Buckets out of the way unless a test sets them: the fake's windows run on real time.
    with FakeDiscordRest(limits={}, global_limit=10_000) as server:
        yield server


@pytest.fixture
def table() -> MemoryTable:
    table = MemoryTable()
    table.update_config(GUILD, actor_id=MEMBER, at="2026-01-01T00:00:00Z", set_fields={"log_channel_id": LOG})
    return table


def deliverer(
    discord: FakeDiscordRest, table: MemoryTable, store: MemoryLogStore | None = None, now: datetime | None = None
) -> Deliverer:
    clock = Clock()
    rest = DiscordRest(discord.api_base, lambda: BOT_TOKEN, sleep=clock.sleep, monotonic=clock, attempts=3, timeout=2)
    if now is None:
        return Deliverer(rest, store or MemoryLogStore(table), table)
    return Deliverer(rest, store or MemoryLogStore(table), table, clock=lambda: now)


def join_row(n: int, **extra: Any) -> dict[str, Any]:
    user = str(int(MEMBER) + n)
    return {
        "event_id": f"gw:s:{n}",
        "batch_id": "b",
        "source": "gateway",
        "event_type": "GUILD_MEMBER_ADD",
        "category": "member",
        "action": "join",
        "occurred_at": f"2026-03-01T10:00:{n % 60:02d}.000Z",
        "received_at": "2026-03-01T10:00:00.000Z",
        "guild_id": GUILD,
        "user_id": user,
        "target_id": user,
        "user_name": f"member {n}",
        "details": "{}",
        **extra,
    }


def ban_row(n: int) -> dict[str, Any]:
    return {**join_row(n), "event_type": "GUILD_BAN_ADD", "category": "moderation", "action": "ban"}


def jobs(rows: list[dict[str, Any]]) -> list[Job]:
    return [Job(f"m-{row['event_id']}", GUILD, row) for row in rows]


def users_posted(messages: list[Posted]) -> list[str]:
    return [e["footer"]["text"].split()[1] for m in messages for e in m.body["embeds"]]


def test_deliver_coalesces_posts_in_order_when_twelve_events_arrive_together(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    rows = [join_row(n) for n in range(12)]

    report = deliverer(discord, table).deliver(jobs(rows))

    assert report.failed == [] and report.messages == 2
    assert [len(m.body["embeds"]) for m in discord.messages] == [10, 2]
    assert users_posted(discord.messages) == [r["user_id"] for r in rows]


def test_deliver_sends_no_mentions_when_posting(discord: FakeDiscordRest, table: MemoryTable) -> None:
    deliverer(discord, table).deliver(jobs([join_row(1)]))

    assert [m.body["allowed_mentions"] for m in discord.messages] == [{"parse": []}]


def test_deliver_posts_nothing_twice_when_a_batch_is_delivered_again(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    batch = jobs([join_row(n) for n in range(3)])
    log = deliverer(discord, table)

    log.deliver(batch)
    report = log.deliver(batch)

    assert len(discord.messages) == 1 and report.skipped == 3


def test_deliver_posts_once_when_the_marker_write_failed_after_the_post(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    store = MemoryLogStore(table)
    store.fail_marks = 1
    batch = jobs([join_row(n) for n in range(3)])
    log = deliverer(discord, table, store)

    first = log.deliver(batch)
    log.deliver(batch)

    assert len(first.failed) == 3
    assert len(discord.messages) == 1  # the resend carried the same nonce: Discord returned the first message
    assert len(discord.wait_for("POST", 2)) == 2


def test_deliver_stops_the_channel_and_records_why_when_discord_answers_403(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    discord.forbid(LOG)
    log = deliverer(discord, table)

    report = log.deliver(jobs([join_row(1)]))
    later = log.deliver(jobs([join_row(2)]))

    assert report.failed == [] and report.stopped_channels == [LOG]
    assert "no access (403)" in table.items[(f"G#{GUILD}", "CONFIG")][f"error#{LOG}"]
    assert later.skipped == 1 and len(discord.requests) == 1


def test_deliver_stops_the_channel_when_it_was_deleted(discord: FakeDiscordRest, table: MemoryTable) -> None:
    discord.delete_channel(LOG)

    deliverer(discord, table).deliver(jobs([join_row(1)]))

    assert "not found (404)" in table.items[(f"G#{GUILD}", "CONFIG")][f"error#{LOG}"]


def test_deliver_fails_the_job_and_every_later_one_when_discord_keeps_failing(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    rows = [join_row(n) for n in range(3)]
    discord.script(Scripted(r"POST /channels/\d+/messages", 503, times=3))
    log = deliverer(discord, table)

    report = log.deliver(jobs(rows))
    again = log.deliver([j for j in jobs(rows) if j.record_id in report.failed])

    assert report.failed == [f"m-{r['event_id']}" for r in rows]
    assert again.failed == [] and users_posted(discord.messages) == [r["user_id"] for r in rows]


@pytest.mark.parametrize("scope", ["user", "global", "shared"])
def test_deliver_posts_every_event_once_in_order_when_discord_answers_429(
    discord: FakeDiscordRest, table: MemoryTable, scope: str
) -> None:
    rows = [join_row(n) for n in range(25)]
    discord.script(rate_limited(r"POST /channels/\d+/messages", scope, retry_after=0.5, times=2))

    report = deliverer(discord, table).deliver(jobs(rows))

    assert report.failed == []
    assert users_posted(discord.messages) == [r["user_id"] for r in rows]


def test_deliver_posts_nothing_when_the_request_times_out_until_retried(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    # Five times the client's timeout: the slow answer never comes in time, however loaded the machine.
    discord.script(Scripted(r"POST /channels/\d+/messages", 200, {"id": "1"}, delay=10.0))

    report = deliverer(discord, table).deliver(jobs([join_row(1)]))

    # The slow answer never counted (the client gave up on it); the retry posted the one message.
    assert report.failed == [] and len(discord.messages) == 1


def test_deliver_sends_each_kind_to_its_route_when_routes_are_set(discord: FakeDiscordRest, table: MemoryTable) -> None:
    table.update_config(GUILD, actor_id=MEMBER, at="t", set_fields={"route#moderation": MOD_LOG})

    deliverer(discord, table).deliver(jobs([join_row(1), ban_row(2)]))

    assert sorted((m.channel_id, m.body["embeds"][0]["title"]) for m in discord.messages) == [
        (LOG, "Member joined"),
        (MOD_LOG, "Member banned"),
    ]


def test_deliver_posts_nothing_when_the_kind_is_routed_off(discord: FakeDiscordRest, table: MemoryTable) -> None:
    table.update_config(GUILD, actor_id=MEMBER, at="t", set_fields={"route#member_join": "off"})

    report = deliverer(discord, table).deliver(jobs([join_row(1)]))

    assert discord.messages == [] and report.skipped == 1


@pytest.mark.parametrize(
    ("setting", "row"),
    [
        ("log_ignored_users", join_row(1)),
        ("log_ignored_roles", join_row(1, details=json.dumps({"roles": [ROLE]}))),
        (
            "log_ignored_channels",
            {
                **join_row(1),
                "event_type": "CHANNEL_UPDATE",
                "category": "server",
                "action": "channel_update",
                "channel_id": CHAT,
            },
        ),
    ],
)
def test_deliver_posts_nothing_when_the_channel_user_or_role_is_ignored(
    discord: FakeDiscordRest, table: MemoryTable, setting: str, row: dict[str, Any]
) -> None:
    member = str(int(MEMBER) + 1)
    value = {"log_ignored_users": member, "log_ignored_roles": ROLE, "log_ignored_channels": CHAT}[setting]
    table.update_config(GUILD, actor_id=MEMBER, at="t", add_to_sets={setting: value})

    report = deliverer(discord, table).deliver(jobs([row]))

    assert discord.messages == [] and report.skipped == 1


def deleted_row(n: int) -> dict[str, Any]:
    return {
        **join_row(n),
        "event_type": "MESSAGE_DELETE",
        "category": "message",
        "action": "delete",
        "channel_id": CHAT,
        "message_id": str(1300000000000009000 + n),
        "user_id": None,
    }


def test_deliver_posts_nothing_when_a_bots_message_is_deleted_and_bots_are_ignored(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    row = deleted_row(1)
    table.put(
        {
            "PK": f"M#{row['message_id']}",
            "SK": "V#2026-03-01T09:00:00.000Z",
            "guild_id": GUILD,
            "channel_id": CHAT,
            "user_id": MEMBER,
            "content": "beep",
            "bot": True,
            "occurred_at": "2026-03-01T09:00:00.000Z",
        }
    )

    skipped = deliverer(discord, table).deliver(jobs([row]))
    table.update_config(GUILD, actor_id=MEMBER, at="t", set_fields={"log_bots": True})
    posted = deliverer(discord, table).deliver(jobs([{**row, "event_id": "gw:s:99"}]))

    assert skipped.skipped == 1 and posted.messages == 1
    assert discord.messages[0].body["embeds"][0]["description"] == "beep"


def test_deliver_posts_through_a_webhook_it_creates_when_the_guild_chose_webhooks(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    table.update_config(GUILD, actor_id=MEMBER, at="t", set_fields={"delivery": "webhook"})
    log = deliverer(discord, table)

    log.deliver(jobs([join_row(1)]))
    log.deliver(jobs([join_row(2)]))

    assert [m.via for m in discord.messages] == ["webhook", "webhook"]
    assert len([r for r in discord.requests if r.path.endswith("/webhooks")]) == 1


def test_deliver_falls_back_to_bot_messages_when_the_bot_may_not_create_webhooks(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    table.update_config(GUILD, actor_id=MEMBER, at="t", set_fields={"delivery": "webhook"})
    discord.script(Scripted(r"POST /channels/\d+/webhooks", 403, {"message": "Missing Permissions", "code": 50013}))
    log = deliverer(discord, table)

    log.deliver(jobs([join_row(1)]))
    log.deliver(jobs([join_row(2)]))

    assert [m.via for m in discord.messages] == ["bot", "bot"]
    assert len([r for r in discord.requests if r.path.endswith("/webhooks")]) == 1


def test_deliver_attaches_the_transcript_when_messages_are_bulk_deleted(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    ids = ["1300000000000009001", "1300000000000009002"]
    table.put(
        {
            "PK": f"M#{ids[0]}",
            "SK": "V#2026-03-01T09:00:00.000Z",
            "guild_id": GUILD,
            "channel_id": CHAT,
            "user_id": MEMBER,
            "user_name": "ann",
            "content": "first words",
            "occurred_at": "2026-03-01T09:00:00.000Z",
        }
    )
    row = {
        **join_row(1),
        "event_type": "MESSAGE_DELETE_BULK",
        "category": "message",
        "action": "bulk_delete",
        "channel_id": CHAT,
        "user_id": None,
        "details": json.dumps({"ids": ids, "count": 2}),
    }

    deliverer(discord, table).deliver(jobs([row]))

    [message] = discord.messages
    [(name, text)] = message.body["files"].items()
    assert "first words" in text and f"[{ids[1]}] (not logged)" in text


def kick_entry(n: int) -> dict[str, Any]:
    target = str(int(MEMBER) + n)
    return {
        **join_row(n),
        "event_type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
        "category": "moderation",
        "action": "member_kick",
        "user_id": None,
        "target_id": target,
        "actor_id": MEMBER,
        "reason": "raid",
    }


def test_deliver_posts_the_kick_entry_when_the_leave_said_only_left(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    leave = EventRow.model_validate({**join_row(1), "event_type": "GUILD_MEMBER_REMOVE", "action": "leave"})
    table.add_rows([leave])

    deliverer(discord, table).deliver(jobs([kick_entry(1)]))

    assert [m.body["embeds"][0]["title"] for m in discord.messages] == ["Member kicked"]


def test_deliver_posts_nothing_for_the_kick_entry_when_the_leave_already_said_kicked(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    removed = json.dumps({"removed_by": {"action": "kick", "actor_id": MEMBER, "reason": "raid"}})
    leave = EventRow.model_validate(
        {**join_row(1), "event_type": "GUILD_MEMBER_REMOVE", "action": "leave", "details": removed}
    )
    table.add_rows([leave])

    report = deliverer(discord, table).deliver(jobs([kick_entry(1)]))

    assert discord.messages == [] and report.skipped == 1


# --- waiting for the audit entry of a ban -------------------------------------------------------
# ban_row(n) happened at 10:00:<n>; this is a few seconds later, while its audit entry may still come.
JUST_AFTER = datetime(2026, 3, 1, 10, 0, 9, tzinfo=UTC)


def ban_entry(n: int) -> EventRow:
    target = str(int(MEMBER) + n)
    return EventRow.model_validate(
        {
            **kick_entry(n),
            "event_id": f"gw:s:audit{n}",
            "action": "member_ban_add",
            "target_id": target,
            "actor_id": MOD,
            "reason": "spam",
        }
    )


MOD = "1300000000000000999"


def test_deliver_holds_a_fresh_ban_and_the_guilds_later_jobs_when_its_audit_entry_has_not_arrived(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    batch = jobs([join_row(1), ban_row(2), join_row(3)])

    report = deliverer(discord, table, now=JUST_AFTER).deliver(batch)

    assert users_posted(discord.messages) == [join_row(1)["user_id"]]
    assert report.failed == report.waiting == [batch[1].record_id, batch[2].record_id]


def test_deliver_names_the_moderator_when_the_ban_comes_round_again_after_its_entry(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    log = deliverer(discord, table, now=JUST_AFTER)
    [held] = jobs([ban_row(2)])
    log.deliver([held])
    table.add_rows([ban_entry(2)])

    report = log.deliver([Job(held.record_id, GUILD, held.row, receive_count=2)])

    [message] = discord.messages
    assert report.failed == [] and MOD in json.dumps(message.body["embeds"]) and "spam" in json.dumps(message.body)


def test_deliver_posts_the_ban_without_its_entry_when_it_has_waited_its_last_try(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    [held] = jobs([ban_row(2)])

    report = deliverer(discord, table, now=JUST_AFTER).deliver([Job(held.record_id, GUILD, held.row, receive_count=3)])

    assert report.failed == [] and report.waiting == [] and len(discord.messages) == 1


def test_deliver_posts_a_ban_at_once_when_its_audit_entry_is_already_stored(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    table.add_rows([ban_entry(2)])

    report = deliverer(discord, table, now=JUST_AFTER).deliver(jobs([ban_row(2)]))

    assert report.failed == [] and MOD in json.dumps(discord.messages[0].body["embeds"])


def test_deliver_posts_an_old_ban_at_once_when_its_entry_is_missing(
    discord: FakeDiscordRest, table: MemoryTable
) -> None:
    much_later = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)

    report = deliverer(discord, table, now=much_later).deliver(jobs([ban_row(2)]))

    assert report.failed == [] and len(discord.messages) == 1
