"""InteractionsFunction and WorkerFunction end to end under moto, with a fake Discord for follow-ups.

The hot table is filled through the real ingest code; interactions are signed like Discord signs
them and go through `functions/interactions/app.py`; the worker's async invokes are queued and run
through `functions/worker/app.py` after the answer, as Lambda would.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.handlers import interactions as interactions_handler
from guildlog.handlers import worker as worker_handler
from guildlog.models.envelope import Envelope
from guildlog.models.worker_job import WorkerJob
from guildlog.services import keys
from guildlog.services.commands import protocol as p
from guildlog.services.commands.cursor import HmacCursorCodec, derive_key
from guildlog.services.commands.definitions import all_leaves
from guildlog.services.commands.stats import day_counters
from guildlog.services.ingest import Ingestor
from guildlog.services.timefmt import DISCORD_EPOCH_MS, iso
from guildlog_tools.fakes.discord_rest import FakeDiscordRest
from tests.fakes import interactions as fx
from tests.integration.conftest import LambdaContext, load_function

pytestmark = pytest.mark.integration

DISCORD = generate_keypair()
SIGNER = Signer(DISCORD.private_key)
BOT_TOKEN = "integration-bot-token"  # noqa: S105 - a fake, in moto's Secrets Manager
BASE = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
AUTHOR = fx.MEMBER


def at(minutes: float) -> str:
    return iso(BASE + timedelta(minutes=minutes))


def snowflake(minutes: float, low: int = 0) -> str:
    millis = int((BASE + timedelta(minutes=minutes)).timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((millis << 22) + low)


DELETED = snowflake(1, 1)


def history() -> list[dict[str, Any]]:
    """A message posted, edited and deleted by a moderator (with the audit-log entry), plus chatter."""
    author = {"id": AUTHOR, "username": "member"}
    events: list[dict[str, Any]] = [
        {
            "t": "MESSAGE_CREATE",
            "d": {"id": snowflake(n, 7), "channel_id": fx.CHANNEL, "guild_id": fx.GUILD, "author": author,
                  "content": f"chatter {n}", "timestamp": at(n)},
        }
        for n in range(2, 16)
    ]  # fmt: skip
    events += [
        {
            "t": "MESSAGE_CREATE",
            "d": {"id": DELETED, "channel_id": fx.CHANNEL, "guild_id": fx.GUILD, "author": author,
                  "content": "what I first said", "timestamp": at(1)},
        },
        {
            "t": "MESSAGE_UPDATE",
            "d": {"id": DELETED, "channel_id": fx.CHANNEL, "guild_id": fx.GUILD, "author": author,
                  "content": "what I said after", "timestamp": at(1), "edited_timestamp": at(1.5)},
        },
        {"t": "MESSAGE_DELETE", "d": {"id": DELETED, "channel_id": fx.CHANNEL, "guild_id": fx.GUILD}},
        {
            "t": "GUILD_AUDIT_LOG_ENTRY_CREATE",
            "d": {"id": snowflake(20.02), "guild_id": fx.GUILD, "action_type": 72, "user_id": fx.MODERATOR,
                  "target_id": AUTHOR, "options": {"channel_id": fx.CHANNEL, "count": "1"}, "reason": "off-topic"},
        },
    ]  # fmt: skip
    received = [at(n) for n in range(2, 16)] + [at(1), at(1.5), at(20), at(20.02)]
    return [
        {"seq": n + 1, "received_at": when, "source": "gateway", **event}
        for n, (event, when) in enumerate(zip(events, received, strict=True))
    ]


class QueuedInvoker:
    """Lambda's async invoke, in order: jobs wait until `run_all()` hands them to the worker function."""

    def __init__(self, worker: ModuleType) -> None:
        self.worker = worker
        self.jobs: list[dict[str, Any]] = []
        self.results: list[Any] = []

    def invoke(self, job: WorkerJob) -> None:
        self.jobs.append(json.loads(job.model_dump_json()))

    def run_all(self) -> list[Any]:
        while self.jobs:
            self.results.append(self.worker.lambda_handler(self.jobs.pop(0), LambdaContext()))
        return self.results


class Stack:
    def __init__(self, aws: dict[str, Any], discord: FakeDiscordRest, interactions: ModuleType, invoker: Any) -> None:
        self.aws = aws
        self.discord = discord
        self.interactions = interactions
        self.invoker = invoker

    def send(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.discord.open_interaction(payload["token"])
        answer = self.interactions.lambda_handler(fx.signed_event(payload, SIGNER), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"])

    def query(self, pk: str, index: str | None = None) -> list[dict[str, Any]]:
        name = f"{index}PK" if index else "PK"
        kwargs: dict[str, Any] = {"IndexName": index} if index else {}
        return self.aws["dynamodb"].query(
            TableName=self.aws["table"],
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": name},
            ExpressionAttributeValues={":pk": {"S": pk}},
            **kwargs,
        )["Items"]

    def day_counters(self, day: str) -> dict[str, int]:
        """The guild's counters for a day, folded from its items as `/stats` reads them."""
        return dict(day_counters(HotReader(self.aws["table"], self.aws["dynamodb"]), fx.GUILD, day))

    def ingest(self, events: list[dict[str, Any]], batch_id: str) -> None:
        body = {"v": 1, "batch_id": batch_id, "relay": {"shard": [0, 1], "session_id": "s1"}, "events": events}
        ingestor = Ingestor(
            S3Archive(self.aws["bucket"], self.aws["s3"]), DynamoStore(self.aws["table"], self.aws["dynamodb"])
        )
        ingestor.ingest(Envelope.model_validate(body), body["events"])


@pytest.fixture
def stack(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    import boto3

    secret = boto3.client("secretsmanager").create_secret(Name="guildlog-test-bot-token", SecretString=BOT_TOKEN)
    with FakeDiscordRest(application_id=fx.APPLICATION) as discord:
        for name, value in {
            "GUILDLOG_TABLE_NAME": aws["table"],
            "GUILDLOG_BUCKET_NAME": aws["bucket"],
            "GUILDLOG_DISCORD_PUBLIC_KEY": DISCORD.public_key,
            "GUILDLOG_BOT_TOKEN_SECRET_ARN": secret["ARN"],
            "GUILDLOG_WORKER_FUNCTION": "guildlog-test-WorkerFunction",
            "GUILDLOG_DISCORD_API_BASE": discord.api_base,
        }.items():
            monkeypatch.setenv(name, value)
        interactions_handler.default_app.cache_clear()
        worker_handler.default_worker.cache_clear()
        interactions = load_function("interactions")
        invoker = QueuedInvoker(load_function("worker"))
        interactions_handler.default_app().invoker = invoker  # Lambda's async invoke, run by the test
        # Moto on a loaded machine can take longer than the app's 0.8 s to answer a quick command;
        # only the test about slow reads asks for a short deferral.
        interactions_handler.default_app().defer_after = 120.0
        running = Stack(aws, discord, interactions, invoker)
        running.ingest(history(), "history-1")
        yield running
    interactions_handler.default_app.cache_clear()
    worker_handler.default_worker.cache_clear()


def content(answer: dict[str, Any]) -> str:
    return str(answer["data"]["content"])


def test_logs_message_recovers_a_deleted_message_and_its_deleter_when_asked_by_link(stack: Stack) -> None:
    link = f"https://discord.com/channels/{fx.GUILD}/{fx.CHANNEL}/{DELETED}"

    status, answer = stack.send(fx.command("logs", "message", options={"message": link}))

    assert (status, answer["type"], answer["data"]["flags"]) == (200, p.CHANNEL_MESSAGE_WITH_SOURCE, p.EPHEMERAL)
    text = content(answer)
    assert text.index("what I first said") < text.index("what I said after")
    assert f"by <@{AUTHOR}> (member)" in text  # the name the message was sent under
    # Nothing this server sent names the moderator or the channel: the answer says so.
    assert f'**deleted** by <@{fx.MODERATOR}> (no name logged) (audit log, reason "off-topic")' in text
    assert f"in <#{fx.CHANNEL}> (no name logged)" in text


def test_logs_search_pages_with_signed_buttons_when_there_are_more_events(stack: Stack) -> None:
    _, first = stack.send(fx.command("logs", "search", options={"user": AUTHOR}))
    older = first["data"]["components"][0]["components"][1]

    status, second = stack.send(fx.click(older["custom_id"]))

    assert "chatter 15" in content(first) and "chatter 6" in content(first)
    assert status == 200 and second["type"] == p.UPDATE_MESSAGE
    assert "chatter 5" in content(second) and "chatter 15" not in content(second)
    codec = HmacCursorCodec(derive_key(BOT_TOKEN))  # the key comes from the bot token secret
    assert codec.decode(older["custom_id"], fx.GUILD, fx.MODERATOR).page == 1


def test_every_command_is_logged_as_a_command_event_without_its_token_when_the_worker_runs(stack: Stack) -> None:
    payload = fx.command("logs", "status")
    stack.send(payload)

    stack.invoker.run_all()

    [item] = stack.query(keys.category_index_pk(fx.GUILD, "command"), index="GSI3")
    assert item["event_id"]["S"] == f"interaction:{payload['id']}"
    assert item["action"]["S"] == "command"
    assert json.loads(item["details"]["S"])["command"] == "/logs status"
    day = item["occurred_at"]["S"][:10]
    assert stack.day_counters(day)["cmd#/logs status"] == 1
    raw = [
        json.loads(line)
        for obj in stack.aws["s3"].list_objects_v2(Bucket=stack.aws["bucket"], Prefix="raw/")["Contents"]
        if f"interaction-{payload['id']}" in obj["Key"]
        for line in gzip.decompress(
            stack.aws["s3"].get_object(Bucket=stack.aws["bucket"], Key=obj["Key"])["Body"].read()
        ).splitlines()
    ]
    assert [r["event"]["source"] for r in raw] == ["interaction"]
    assert "token" not in raw[0]["event"]["d"] and payload["token"] not in json.dumps(raw)


def test_redelivered_interaction_has_its_side_effects_once_when_sent_twice(stack: Stack) -> None:
    payload = fx.command("logs", "config", "retention", options={"days": 90})

    first = stack.send(payload)
    again = stack.send(payload)
    handed_over = list(stack.invoker.jobs)
    stack.invoker.run_all()
    stack.invoker.jobs.extend(handed_over)  # Lambda retrying the same log job
    stack.invoker.run_all()

    assert "90 days" in content(first[1]) and "already answered" in content(again[1])
    config = stack.query(keys.guild_pk(fx.GUILD))
    assert [i["retention_days"]["N"] for i in config if i["SK"]["S"] == keys.CONFIG_SK] == ["90"]
    logged = stack.query(keys.category_index_pk(fx.GUILD, "command"), index="GSI3")
    assert len(logged) == 1
    day = logged[0]["occurred_at"]["S"][:10]
    assert stack.day_counters(day)["commands"] == 1


def test_stats_over_thirty_days_is_deferred_and_finished_through_discords_webhook_when_asked(stack: Stack) -> None:
    payload = fx.command("stats", options={"period": "30d"})

    status, answer = stack.send(payload)
    assert (status, answer) == (200, {"type": p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": p.EPHEMERAL}})
    assert stack.discord.originals == {}

    [result] = stack.invoker.run_all()

    assert result == {"followup": "sent", "logged": True}
    body = stack.discord.originals[payload["token"]]
    assert "Activity · 30d" in body["content"] and "**Messages** 15" in body["content"]
    [patch] = [r for r in stack.discord.requests if r.method == "PATCH"]
    assert patch.path == f"/webhooks/{fx.APPLICATION}/{payload['token']}/messages/@original"
    assert patch.authorized is False  # the interaction token is the credential, not the bot token


def test_slow_downstream_gets_a_deferred_answer_then_the_followup_when_reads_stall(stack: Stack) -> None:
    app = interactions_handler.default_app()
    release = threading.Event()
    reader = app.ports.reader
    original = reader.query

    def stalled(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=120)
        return original(*args, **kwargs)

    app.defer_after = 0.05
    reader.query = stalled  # type: ignore[method-assign]
    payload = fx.command("logs", "search")
    try:
        status, answer = stack.send(payload)
    finally:
        release.set()
        reader.query = original  # type: ignore[method-assign]

    assert (status, answer["type"]) == (200, p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE)
    stack.invoker.run_all()
    assert "chatter 15" in stack.discord.originals[payload["token"]]["content"]


def test_ignored_channel_is_archived_but_not_indexed_when_configured_before_ingest(stack: Stack) -> None:
    stack.send(fx.command("logs", "config", "ignore", options={"channel": fx.OTHER_CHANNEL}))
    quiet = {
        "id": snowflake(30),
        "channel_id": fx.OTHER_CHANNEL,
        "guild_id": fx.GUILD,
        "author": {"id": AUTHOR, "username": "member"},
        "content": "in the ignored channel",
        "timestamp": at(30),
    }

    stack.ingest([{"seq": 99, "received_at": at(30), "t": "MESSAGE_CREATE", "d": quiet}], "after-config")

    assert stack.query(keys.channel_index_pk(fx.GUILD, fx.OTHER_CHANNEL), index="GSI2") == []
    assert stack.query(keys.message_pk(quiet["id"])) == []
    objects = [o["Key"] for o in stack.aws["s3"].list_objects_v2(Bucket=stack.aws["bucket"])["Contents"]]
    assert any(k.startswith("raw/") and k.endswith("after-config.jsonl.gz") for k in objects)
    assert any(k.startswith("events/") and k.endswith("after-config.jsonl.gz") for k in objects)


def test_worker_sends_nothing_after_the_token_life_when_the_job_comes_late(stack: Stack) -> None:
    old = fx.command("stats", options={"period": "30d"}, at=datetime.now(UTC) - timedelta(minutes=16))
    job = WorkerJob(
        interaction={k: v for k, v in old.items() if k != "token"}, token=old["token"], followup=True,
        received_at=datetime.now(UTC) - timedelta(minutes=16),
    )  # fmt: skip
    stack.discord.open_interaction(old["token"])
    stack.invoker.jobs.append(json.loads(job.model_dump_json()))

    [result] = stack.invoker.run_all()

    assert result == {"followup": "expired", "logged": True}
    assert [r for r in stack.discord.requests if r.method == "PATCH"] == []


# --- hostile and unprivileged callers: every command leaf ---------------------------------------

# As a member without Manage Server (STRANGER, who wrote nothing): (options, refused).
UNPRIVILEGED: list[tuple[tuple[str, ...], dict[str, Any], bool]] = [
    (("logs", "search"), {}, False),  # their own events only
    (("logs", "search"), {"user": AUTHOR}, True),
    (("logs", "message"), {"message": DELETED}, True),
    (("logs", "status"), {}, True),
    (("logs", "export"), {}, True),
    (("logs", "config", "show"), {}, True),
    (("logs", "config", "channel"), {"channel": fx.CHANNEL}, True),
    (("logs", "config", "events"), {"category": "message", "enabled": False}, True),
    (("logs", "config", "ignore"), {"channel": fx.CHANNEL}, True),
    (("logs", "config", "retention"), {"days": 1}, True),
    (("logs", "config", "log-ignore"), {"channel": fx.CHANNEL}, True),
    (("logs", "config", "bots"), {"logged": True}, True),
    (("logs", "config", "delivery"), {"mode": "webhook"}, True),
    (("logs", "config", "test"), {}, True),
    (("logs", "config", "attachments"), {"copy": "off"}, True),
    (("logs", "config", "privacy"), {"channel": fx.CHANNEL, "record": False}, True),
    (("logs", "config", "viewers"), {"role": "1300000000000000150"}, True),
    (("logs", "forget", "user"), {"member": AUTHOR}, True),
    (("forget-me",), {}, False),  # themselves only
    (("logs", "forget", "receipts"), {}, False),  # their own receipts only
    (("stats",), {}, False),  # the server's counters are open to everyone
    (("stats",), {"user": AUTHOR}, True),
]


def answered(stack: Stack, payload: dict[str, Any]) -> str:
    """What the member reads: the answer, or the worker's edit of it when it was deferred."""
    status, answer = stack.send(payload)
    assert status == 200, answer
    stack.invoker.run_all()
    if answer["type"] == p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
        return str(stack.discord.originals[payload["token"]]["content"])
    return content(answer)


def config_items(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in stack.query(f"G#{fx.GUILD}") if i["SK"]["S"] == "CONFIG"]


def test_unprivileged_table_names_every_command_leaf_when_commands_are_defined() -> None:
    assert {path for path, _, _ in UNPRIVILEGED} == {path for path, _ in all_leaves()}


@pytest.mark.parametrize(("path", "options", "refused"), UNPRIVILEGED, ids=lambda v: str(v))
def test_command_refuses_or_answers_only_their_own_when_a_member_lacks_manage_server(
    stack: Stack, path: tuple[str, ...], options: dict[str, Any], refused: bool
) -> None:
    payload = fx.command(*path, options=options, by=fx.STRANGER, permissions=fx.EVERYONE)

    text = answered(stack, payload)

    assert ("needs the Manage Server permission" in text) is refused, text
    assert "chatter" not in text and "what I" not in text
    assert config_items(stack) == []


@pytest.mark.parametrize(("path", "options", "refused"), UNPRIVILEGED, ids=lambda v: str(v))
def test_command_refuses_when_an_interaction_from_a_server_carries_no_member(
    stack: Stack, path: tuple[str, ...], options: dict[str, Any], refused: bool
) -> None:
    # A DM's shape inside a server (the unit tests also cover no user at all, and a member without one).
    payload = fx.command(*path, options=options, by=fx.MODERATOR, permissions=fx.MANAGER)
    payload["user"] = payload.pop("member")["user"]

    text = answered(stack, payload)

    assert "did not say which member" in text, text
    assert config_items(stack) == []


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("0001-01-01T00:00:00+01:00", "chatter 15"),  # as far back as the lookback limit reaches
        ("0001-01-01T00:00:00+14:00", "chatter 15"),
        ("9999-12-31T23:59:59-01:00", "`since` is in the future"),
        ("７d", "`since` takes 30m"),
    ],
)
def test_logs_search_answers_without_failing_when_since_is_off_the_calendar_or_not_ascii(
    stack: Stack, since: str, expected: str
) -> None:
    text = answered(stack, fx.command("logs", "search", options={"since": since}))

    assert expected in text, text


@pytest.mark.parametrize("field", ["guild_id", "channel_id", "id"])
def test_interactions_answer_400_when_an_id_has_non_ascii_digits(stack: Stack, field: str) -> None:
    payload = fx.command("logs", "status")
    payload[field] = "１" * 19

    status, _ = stack.send(payload)

    assert status == 400
    assert config_items(stack) == [] and stack.invoker.jobs == []
