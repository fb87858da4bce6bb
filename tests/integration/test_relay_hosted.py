"""The stack-hosted relay's state on moto: checkpoints in the table, the signing key from a secret.

A Fargate task loses its disk when it is replaced; these prove that its successor finds the session
to resume (and a pending gap) in the table, and that an older task cannot move it back.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.adapters.signatures import KeyPair, generate_keypair
from guildlog.errors import ConfigurationError
from guildlog_relay.checkpoint import Checkpoint, Checkpointer, PendingGap
from guildlog_relay.cli import resolve_target
from guildlog_relay.pipeline import Ack
from guildlog_relay.table_checkpoint import TableCheckpointStore
from guildlog_tools.cli import build_parser

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GAP = PendingGap(session_id="s0", last_seq=9, since="2026-03-01T11:00:00.000Z", reason="session_expired")


def store(aws: dict[str, Any], shard_id: int = 0) -> TableCheckpointStore:
    return TableCheckpointStore(aws["table"], shard_id, client=aws["dynamodb"])


def test_table_checkpoint_store_gives_the_next_task_the_session_to_resume_when_the_last_one_was_acked(aws) -> None:
    async def first_task() -> None:
        checkpointer = Checkpointer(store(aws), (0, 1), clock=lambda: NOW)
        await checkpointer.on_ready("s1", "wss://resume.example")
        await checkpointer.on_ack(
            Ack(session_id="s1", shard=(0, 1), seq=41, batch_id="s1-0-1-41", received_at="2026-03-01T11:59:59.000Z")
        )

    asyncio.run(first_task())
    saved = store(aws).load()

    assert saved is not None and saved.resumable
    assert (saved.session_id, saved.resume_url, saved.seq) == ("s1", "wss://resume.example", 41)


def test_table_checkpoint_store_keeps_a_pending_gap_when_the_task_is_replaced_before_reporting_it(aws) -> None:
    store(aws, 2).save(Checkpoint(shard=(2, 4), gap=GAP, saved_at="2026-03-01T12:00:00.000Z"))

    saved = store(aws, 2).load()

    assert saved is not None and saved.gap == GAP and saved.shard == (2, 4)


def test_table_checkpoint_store_keeps_the_newer_state_when_an_older_task_saves_after_it(aws) -> None:
    store(aws).save(Checkpoint(shard=(0, 1), session_id="new", seq=5, saved_at="2026-03-01T12:00:05.000Z"))
    store(aws).save(Checkpoint(shard=(0, 1), session_id="old", seq=900, saved_at="2026-03-01T12:00:01.000Z"))

    saved = store(aws).load()

    assert saved is not None and (saved.session_id, saved.seq) == ("new", 5)


def test_table_checkpoint_store_starts_afresh_when_the_item_is_unreadable(aws) -> None:
    aws["dynamodb"].put_item(
        TableName=aws["table"],
        Item={**store(aws).key, "checkpoint": {"S": '{"v": 99}'}, "saved_at": {"S": "x"}},
    )

    assert store(aws).load() is None


def test_table_checkpoint_store_never_writes_the_token_when_saving(aws) -> None:
    store(aws).save(Checkpoint(shard=(0, 1), session_id="s1", seq=3, saved_at="2026-03-01T12:00:00.000Z"))

    item = aws["dynamodb"].get_item(TableName=aws["table"], Key=store(aws).key)["Item"]

    assert set(item) == {"PK", "SK", "checkpoint", "saved_at"}
    # Exactly the fields of checkpoint.json (test_checkpoint.py holds that list).
    file_fields = json.loads(Checkpoint(shard=(0, 1), session_id="s1", seq=3).to_json())
    assert set(json.loads(item["checkpoint"]["S"])) == set(file_fields)


def test_table_checkpoint_store_names_the_table_when_it_does_not_exist(aws) -> None:
    missing = TableCheckpointStore("no-such-table", 0, client=aws["dynamodb"])

    with pytest.raises(ConfigurationError, match="no-such-table: ResourceNotFoundException"):
        missing.load()


@pytest.fixture(scope="module")
def keypair() -> KeyPair:
    return generate_keypair()


@pytest.fixture
def signing_secret(aws, keypair) -> str:
    import boto3

    client = boto3.client("secretsmanager")
    return client.create_secret(Name="guildlog/relay-signing-key", SecretString=keypair.private_key + "\n")["ARN"]


def test_relay_command_reads_the_signing_key_from_its_secret_when_hosted(signing_secret, keypair) -> None:
    args = build_parser().parse_args(["relay", "--replay", "r.jsonl", "--endpoint", "https://x.example/gateway/events"])

    endpoint, key, source = resolve_target(args, {"GUILDLOG_SIGNING_KEY_SECRET_ARN": signing_secret})

    assert key == keypair.private_key and endpoint == "https://x.example/gateway/events"
    assert source == f"the signing key secret {signing_secret}"


def test_relay_command_refuses_two_signing_keys_when_both_a_file_and_a_secret_are_given(signing_secret, tmp_path):
    argv = ["relay", "--replay", "r.jsonl", "--endpoint", "https://x.example/gateway/events"]
    args = build_parser().parse_args(
        [*argv, "--signing-key-file", str(tmp_path / "k"), "--signing-key-secret-arn", signing_secret]
    )

    with pytest.raises(ConfigurationError, match="one way"):
        resolve_target(args, {})
