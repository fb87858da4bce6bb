"""The local stack runs the archive hand-off: ingest queues, the SQS poller runs ArchiveFunction, drain() waits."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from guildlog_tools.local.stack import LocalStack
from tests.integration.test_local_stack import AUTHOR, CHANNEL, GUILD, MOMENT, post, signed_headers

pytestmark = pytest.mark.integration

BATCHES = 12
DRAIN_S = 120.0  # an upper bound on a busy machine, never a wait


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "state" / "dev.json") as running:
        yield running


def message_id(n: int) -> str:
    return str(((int(MOMENT.timestamp() * 1000) - 1_420_070_400_000) << 22) + 100 + n)


def batch(n: int) -> bytes:
    when = MOMENT.isoformat().replace("+00:00", "Z")
    data = {"id": message_id(n), "channel_id": CHANNEL, "guild_id": GUILD, "author": {"id": AUTHOR, "username": "ada"}}
    envelope = {
        "v": 1,
        "batch_id": f"drain-{n}",
        "relay": {"name": "test", "shard": [0, 1], "session_id": "sess-drain"},
        "events": [
            {"t": "MESSAGE_CREATE", "seq": n, "received_at": when, "d": {**data, "content": f"n{n}", "timestamp": when}}
        ],
    }
    return gzip.compress(json.dumps(envelope).encode("utf-8"))


def archived_ids(stack: LocalStack, dataset: str) -> list[str]:
    s3 = stack.client("s3")
    ids = []
    for obj in s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"{dataset}/").get("Contents", []):
        text = gzip.decompress(s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read()).decode()
        ids += [json.loads(line)["event_id"] for line in text.splitlines()]
    return sorted(ids)


def test_local_stack_archive_holds_every_accepted_event_once_when_drained(stack: LocalStack) -> None:
    assert stack.keys is not None
    for n in range(1, BATCHES + 1):
        body = batch(n)
        status, _ = post(stack.gateway_events_url, body, signed_headers(stack.keys.relay_private_key, body))
        assert status == 200

    assert stack.drain(DRAIN_S)

    expected = sorted(f"msg:{message_id(n)}" for n in range(1, BATCHES + 1))
    assert archived_ids(stack, "raw") == expected
    assert archived_ids(stack, "events") == expected
    csv_keys = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="events_csv/").get("Contents", [])
    assert {o["Key"].rsplit("/", 1)[1].split(".")[0] for o in csv_keys} == {
        o["Key"].rsplit("/", 1)[1].split(".")[0]
        for o in stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="events/").get("Contents", [])
    }
