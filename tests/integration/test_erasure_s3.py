"""A member's erasure on moto: the hot table, every archive dataset (compacted and not), exports and
attachment copies, then a late event after the tombstone; and a run killed before its deletes, run again."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from datetime import date
from typing import Any

import pytest

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.erasure_store import ErasureStore
from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_compaction import S3CompactionStore
from guildlog.adapters.s3_rewrite import S3VersionedObjects
from guildlog.models.envelope import Envelope
from guildlog.services.compaction import Compactor
from guildlog.services.directory import Directory
from guildlog.services.erasure.job import ErasureJob, ErasureRequest
from guildlog.services.erasure.tombstones import TombstoneFilter
from guildlog.services.ingest import Ingestor
from guildlog.services.partition import DATASETS
from tests.fakes import archive_data as data

ALICE_TEXTS = ("old news", "hello, world", "line one", "line two", "cat.png", "imported secret", "late secret")
IMPORTED = data.snowflake("2026-11-19T21:00:00.000Z", 9)
LATE = data.snowflake("2026-11-21T10:00:00.000Z", 9)
ATTACHMENT_OF_ALICE = f"attachments/guild={data.GUILD}/{data.M3}/700000000000000500-cat.png"
ATTACHMENT_OF_BOB = f"attachments/guild={data.GUILD}/{data.M2}/700000000000000501-dog.png"


def _envelope(batch_id: str, events: list[dict[str, Any]]) -> tuple[Envelope, list[dict[str, Any]]]:
    body = {"v": 1, "batch_id": batch_id, "relay": {"session_id": data.SESSION, "shard": [0, 1]}, "events": events}
    return Envelope.model_validate(body), events


def _import_batch() -> tuple[Envelope, list[dict[str, Any]]]:
    _, d, at = data.message_create(
        IMPORTED, data.GENERAL, data.ALICE, "alice", "2026-11-19T21:00:00.000Z", "imported secret"
    )
    return _envelope(
        "import-0001", [{"t": "MESSAGE_CREATE", "received_at": at, "source": "import", "id": f"dce:{IMPORTED}", "d": d}]
    )


def _late_batch() -> tuple[Envelope, list[dict[str, Any]]]:
    _, d, at = data.message_create(LATE, data.GENERAL, data.ALICE, "alice", "2026-11-21T10:00:00.000Z", "late secret")
    return _envelope("late-0001", [{"t": "MESSAGE_CREATE", "seq": 999, "received_at": at, "source": "gateway", "d": d}])


def _ingestor(aws: dict[str, Any]) -> Ingestor:
    store = DynamoStore(aws["table"], aws["dynamodb"])
    return Ingestor(
        S3Archive(aws["bucket"], aws["s3"]),
        store,
        clock=lambda: data.moment("2026-11-22T00:00:00Z"),
        directory=Directory(store),
        tombstones=TombstoneFilter(ErasureStore(aws["table"], aws["dynamodb"])),
    )


def _seed(aws: dict[str, Any]) -> None:
    aws["s3"].put_bucket_versioning(Bucket=aws["bucket"], VersioningConfiguration={"Status": "Enabled"})
    ingestor = _ingestor(aws)
    for envelope, raw in [*data.export_envelopes(), _import_batch()]:
        ingestor.ingest(envelope, raw)
    # The 19th compacted (its batch objects now old versions), the 20th and 21st not.
    Compactor(S3CompactionStore(aws["bucket"], aws["s3"])).compact_day(date(2026, 11, 19), DATASETS)
    s3 = aws["s3"]
    s3.put_object(
        Bucket=aws["bucket"],
        Key=f"exports/{data.GUILD}/e1/general.json",
        Body=f'{{"author":"{data.ALICE}","content":"hello, world"}}'.encode(),
    )
    s3.put_object(
        Bucket=aws["bucket"], Key=f"exports/{data.GUILD}/e2/random.json", Body=f'{{"author":"{data.BOB}"}}'.encode()
    )
    s3.put_object(Bucket=aws["bucket"], Key=ATTACHMENT_OF_ALICE, Body=b"cat.png bytes")
    s3.put_object(Bucket=aws["bucket"], Key=ATTACHMENT_OF_BOB, Body=b"dog bytes")


def _job(aws: dict[str, Any], objects: Any = None) -> ErasureJob:
    return ErasureJob(
        ErasureStore(aws["table"], aws["dynamodb"]),
        objects or S3VersionedObjects(aws["bucket"], aws["s3"]),
        clock=lambda: data.moment("2026-11-22T01:00:00Z"),
    )


REQUEST = ErasureRequest(data.GUILD, data.ALICE, "job-1", data.MOD, "2026-11-22T00:30:00.000Z")


def _all_versions(aws: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    s3, out = aws["s3"], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=aws["bucket"]):
        for v in page.get("Versions", []):
            body = s3.get_object(Bucket=aws["bucket"], Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
            if v["Key"].endswith(".gz"):
                body = gzip.decompress(body)
            out.append((v["Key"], v["VersionId"], body))
    return out


def _current_lines(aws: dict[str, Any], dataset: str) -> list[str]:
    s3, lines = aws["s3"], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aws["bucket"], Prefix=f"{dataset}/"):
        for entry in page.get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=aws["bucket"], Key=entry["Key"])["Body"].read()).decode()
            lines.extend(line for line in body.split("\n") if line and not line.startswith('"event_id"'))
    return lines


def _items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for page in aws["dynamodb"].get_paginator("scan").paginate(TableName=aws["table"]):  # the test's own check
        items.extend(page["Items"])
    return items


def _alice_mids() -> set[str]:
    return {data.M0, data.M1, data.M3, IMPORTED, LATE}


def _others_rows(aws: dict[str, Any]) -> dict[str, str]:
    """Checksums of the rows that are nobody's business but their own members'."""
    out = {}
    for line in _current_lines(aws, "events"):
        row = json.loads(line)
        if row.get("guild_id") == data.GUILD and (
            row.get("user_id") == data.ALICE
            or row.get("target_id") == data.ALICE
            or row.get("message_id") in _alice_mids()
        ):
            continue
        out[row["event_id"]] = hashlib.sha256(line.encode()).hexdigest()
    return out


def _others_items(aws: dict[str, Any]) -> dict[str, str]:
    out = {}
    for item in _items(aws):
        user = item.get("user_id", {}).get("S")
        if user in (data.BOB, data.CAROL) and item.get("message_id", {}).get("S") not in _alice_mids():
            out[item["PK"]["S"] + "|" + item["SK"]["S"]] = hashlib.sha256(
                json.dumps(item, sort_keys=True).encode()
            ).hexdigest()
    return out


def _alice_in_guild_lines(aws: dict[str, Any]) -> list[str]:
    """Every place alice's texts, names or attachment keys still show, in any version of any object or item."""
    found = []
    for key, version, body in _all_versions(aws):
        if key in (ATTACHMENT_OF_ALICE,):
            found.append(key)
        for line in body.decode("utf-8", "replace").split("\n"):
            if data.GUILD not in line and not key.startswith(("exports/", "attachments/")):
                continue
            for text in (*ALICE_TEXTS, '"Alice"', '"username":"alice"', ',"alice",'):
                if text in line:
                    found.append(f"{key}@{version}: {text}")
    for item in _items(aws):
        text = json.dumps(item)
        if data.OTHER_GUILD in text and data.GUILD not in text:
            continue
        for needle in (*ALICE_TEXTS, '"Alice"', '\\"username\\":\\"alice\\"', '{"S": "alice"}'):
            if needle in text:
                found.append(f"item {item['PK']['S']}|{item['SK']['S']}: {needle}")
    return found


def _expected_event_counts(lines: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in lines:
        row = json.loads(line)
        if row.get("guild_id") == data.GUILD and (
            row.get("user_id") == data.ALICE
            or row.get("target_id") == data.ALICE
            or row.get("message_id") in _alice_mids()
        ):
            counts[row["occurred_at"][:10]] += 1
    return counts


def test_erasure_leaves_nothing_of_the_member_when_the_stack_holds_compacted_days_imports_exports_and_copies(
    aws: dict[str, Any],
) -> None:
    _seed(aws)
    others_rows, others_items = _others_rows(aws), _others_items(aws)
    assert _alice_in_guild_lines(aws), "the seeded stack must hold the member's data, or this test proves nothing"

    receipt = _job(aws).run(REQUEST)
    _ingestor(aws).ingest(*_late_batch())

    left = _alice_in_guild_lines(aws)
    assert left == [], "\n".join(left)
    assert _others_rows(aws) == others_rows
    assert _others_items(aws) == others_items
    assert receipt.verification.clean
    assert receipt.exports_deleted == 1 and receipt.attachments_deleted == 1
    keys = {k for k, _, _ in _all_versions(aws)}
    assert f"exports/{data.GUILD}/e2/random.json" in keys and ATTACHMENT_OF_BOB in keys


def test_erasure_receipt_counts_the_members_event_rows_per_day_when_it_finishes(aws: dict[str, Any]) -> None:
    _seed(aws)
    expected = _expected_event_counts(_current_lines(aws, "events"))

    receipt = _job(aws).run(REQUEST)

    assert {day: n for day, n in receipt.archive["events"].items() if n} == dict(expected)
    assert receipt.archive["events_csv"] == receipt.archive["events"]
    stored = ErasureStore(aws["table"], aws["dynamodb"]).receipts(data.GUILD)
    assert [r.job_id for r in stored] == ["job-1"] and "hello" not in stored[0].to_json()


class CrashBeforeDeletes(S3VersionedObjects):
    """Dies at the first delete of an old version: after the rewritten version is written."""

    def delete_version(self, key: str, version_id: str) -> None:
        raise KeyboardInterrupt("killed between the rewrite and the delete")


def test_erasure_ends_as_an_uninterrupted_run_when_killed_between_rewrite_and_delete_and_run_again(
    aws: dict[str, Any],
) -> None:
    _seed(aws)
    before = {
        d: Counter(json.loads(x)["event_id"] if d != "events_csv" else x.split(",")[0] for x in _current_lines(aws, d))
        for d in ("raw", "events", "events_csv")
    }
    expected = _expected_event_counts(_current_lines(aws, "events"))

    with pytest.raises(KeyboardInterrupt):
        _job(aws, CrashBeforeDeletes(aws["bucket"], aws["s3"])).run(REQUEST)
    receipt = _job(aws).run(REQUEST)

    after = {
        d: Counter(json.loads(x)["event_id"] if d != "events_csv" else x.split(",")[0] for x in _current_lines(aws, d))
        for d in ("raw", "events", "events_csv")
    }
    assert after == before  # no line lost, none twice
    assert _alice_in_guild_lines(aws) == []
    assert {day: n for day, n in receipt.archive["events"].items() if n} == dict(expected)


def _guild_event(t: str, d: dict[str, Any], seq: int) -> tuple[Envelope, list[dict[str, Any]]]:
    return _envelope(f"guild-{seq}", [{"t": t, "seq": seq, "received_at": "2026-11-21T12:00:00.000Z", "d": d}])


def test_guild_removal_becomes_due_after_the_grace_period_when_the_bot_stays_out(aws: dict[str, Any]) -> None:
    from guildlog.handlers.due_deletions import hand_over_due_deletions

    ingestor = _ingestor(aws)
    ingestor.tombstones = TombstoneFilter(
        ErasureStore(aws["table"], aws["dynamodb"]), grace_days=30, clock=lambda: data.moment("2026-11-21T12:00:00Z")
    )
    ingestor.ingest(*_guild_event("GUILD_DELETE", {"id": data.GUILD}, 1001))
    queued: list[Any] = []

    class Queue:
        def send(self, job: Any, delay: int) -> None:
            queued.append(job)

    store = ErasureStore(aws["table"], aws["dynamodb"])
    early = hand_over_due_deletions({"time": "2026-12-20T01:30:00Z"}, store, Queue())
    due = hand_over_due_deletions({"time": "2026-12-22T01:30:00Z"}, store, Queue())

    assert (early, due) == (0, 1)
    assert [(j.kind, j.guild_id) for j in queued] == [("guild", data.GUILD)]


def test_guild_removal_is_cancelled_when_the_bot_comes_back(aws: dict[str, Any]) -> None:
    ingestor = _ingestor(aws)
    ingestor.ingest(*_guild_event("GUILD_DELETE", {"id": data.GUILD}, 1001))
    store = ErasureStore(aws["table"], aws["dynamodb"])
    assert store.scheduled_deletions([data.GUILD]) == {data.GUILD}

    ingestor.ingest(*_guild_event("GUILD_CREATE", {"id": data.GUILD, "name": "back again"}, 1002))

    assert store.scheduled_deletions([data.GUILD]) == set()
    assert store.due_deletions("2100-01-01T00:00:00.000Z") == []
