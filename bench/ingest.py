"""Ingest figures: AWS write calls per 1,000 events beside the floor, write units per event,
events/s in process under moto, and the import time of the ingest module beside `import boto3`."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.imports import function_snippet, import_times
from bench.synthetic import gateway_events

REPO = Path(__file__).resolve().parents[1]
WRITE_OPERATIONS = {"BatchWriteItem", "PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem", "PutObject"}


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers ~1 byte per 2 digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, bool):
            size += 1
        elif isinstance(value, int):
            size += 1 + math.ceil(len(str(abs(value))) / 2)
        else:
            size += len(str(value).encode())
    return size


def _write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(_item_size(item) / 1024))


class CallCounter:
    """Counts AWS API calls through botocore's event hooks on the injected clients."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

        self.transact_keys: list[tuple[str, str]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._count)
        client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", self._transaction)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _transaction(self, params: Any, **_: Any) -> None:
        for action in params["TransactItems"]:
            op = action.get("Update") or action.get("Put")
            key = op.get("Key") or op.get("Item")
            self.transact_keys.append((key["PK"]["S"], key["SK"]["S"]))

    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)


def _stack() -> tuple[Any, Any, CallCounter]:
    import boto3

    from guildlog_tools.local.template import load_template, table_definition

    counter = CallCounter()
    ddb = counter.attach(boto3.client("dynamodb", region_name="us-east-1"))
    s3 = counter.attach(boto3.client("s3", region_name="us-east-1"))
    ddb.create_table(**{**table_definition(load_template()), "TableName": "bench"})
    s3.create_bucket(Bucket="bench-archive")
    counter.calls.clear()
    return ddb, s3, counter


def _envelopes(events: list[dict[str, Any]], batch_size: int, tag: str) -> list[tuple[Any, list[dict[str, Any]]]]:
    from guildlog.models.envelope import Envelope

    out = []
    for start in range(0, len(events), batch_size):
        chunk = events[start : start + batch_size]
        body = {
            "v": 1,
            "batch_id": f"{tag}-{start}",
            "relay": {"shard": [0, 1], "session_id": "bench"},
            "events": chunk,
        }
        out.append((Envelope.model_validate(body), chunk))
    return out


def _floor(envelopes: list[tuple[Any, list[dict[str, Any]]]]) -> tuple[int, list[dict[str, Any]], int]:
    """⌈items/25⌉ BatchWriteItem + one PutObject per dataset per partition per batch, and the items."""
    from guildlog.services import hot_items
    from guildlog.services.event_ids import event_id
    from guildlog.services.normalize import normalize
    from guildlog.services.partition import partition_day

    calls, all_items, events_with_rows = 0, [], 0
    for envelope, _ in envelopes:
        items: dict[tuple[str, str], dict[str, Any]] = {}
        days: set[Any] = set()
        for event in envelope.events:
            row = normalize(event, event_id=event_id(event, envelope), batch_id=envelope.batch_id)
            events_with_rows += 1
            days.add(partition_day(row.occurred_at))
            ttl = hot_items.expires_at(row, 30)
            for item in [
                hot_items.feed_item(row, ttl),
                *hot_items.message_items(row, ttl),
                *hot_items.relay_items(row),
            ]:
                items[(item["PK"], item["SK"])] = item
        calls += math.ceil(len(items) / 25) + 3 * len(days)  # raw, events, events_csv
        all_items.extend(items.values())
    return calls, all_items, events_with_rows


def write_calls(batch_size: int, events: int = 1000) -> dict[str, float]:
    from moto import mock_aws

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.ingest import Ingestor

    batch = gateway_events(events, seed=batch_size)
    with mock_aws():
        ddb, s3, counter = _stack()
        ingestor = Ingestor(S3Archive("bench-archive", s3), DynamoStore("bench", ddb))
        envelopes = _envelopes(batch, batch_size, f"w{batch_size}")
        floor, items, _ = _floor(envelopes)
        for envelope, raw in envelopes:
            ingestor.ingest(envelope, raw)
        writes = counter.writes()
        counters = counter.calls["TransactWriteItems"]
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer()
        # A transactional write costs twice the item's units (DynamoDB pricing); sized as finally stored.
        counter_units = 0
        for pk, sk in counter.transact_keys:
            stored = ddb.get_item(TableName="bench", Key={"PK": {"S": pk}, "SK": {"S": sk}})["Item"]
            counter_units += 2 * _write_units({k: plain.deserialize(v) for k, v in stored.items()})
    base_units = sum(_write_units(i) for i in items)
    gsi_units = sum(_write_units(i) * sum(1 for g in (1, 2, 3) if f"GSI{g}PK" in i) for i in items)
    touched = sum(1 + sum(1 for g in (1, 2, 3) if f"GSI{g}PK" in i) for i in items)
    return {
        "batch_size": batch_size,
        "writes": writes * 1000 / events,
        "floor": floor * 1000 / events,
        "counter_txns": counters * 1000 / events,
        "item_units": (base_units + gsi_units) / events,
        "counter_units": counter_units / events,
        "target_per_event": touched / events,
    }


class _MemoryArchive:
    def put(self, key: str, text: str) -> None:
        from guildlog.adapters.s3_archive import gzip_bytes

        gzip_bytes(text)  # the compression is part of ingest's own cost


class _MemoryStore:
    """The HotStore protocol in memory: measures guildlog's own work without any AWS emulation."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def put_items(self, items: list[dict[str, Any]]) -> int:
        for item in items:
            self.items[(item["PK"], item["SK"])] = item
        return 0

    def apply_counters(self, batch_id: str, updates: list[Any]) -> int:
        return 0

    def existing_keys(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return {k for k in keys if k in self.items}

    def guild_configs(self, guild_ids: list[str]) -> dict[str, Any]:
        return {}


def throughput(events: int, batch_size: int = 500, *, under_moto: bool) -> float:
    """Events/s through Ingestor.ingest (validation, normalization, CSV, gzip, items), timed alone."""
    from guildlog.services.ingest import Ingestor

    batch = gateway_events(events, seed=1)
    envelopes = _envelopes(batch, batch_size, "tp")
    if not under_moto:
        ingestor = Ingestor(_MemoryArchive(), _MemoryStore())
        started = time.perf_counter()
        for envelope, raw in envelopes:
            ingestor.ingest(envelope, raw)
        return events / (time.perf_counter() - started)

    from moto import mock_aws

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive

    with mock_aws():
        ddb, s3, _ = _stack()
        ingestor = Ingestor(S3Archive("bench-archive", s3), DynamoStore("bench", ddb))
        started = time.perf_counter()
        for envelope, raw in envelopes:
            ingestor.ingest(envelope, raw)
        return events / (time.perf_counter() - started)


_IMPORT_SNIPPETS = {
    "import boto3": "import boto3",
    "ingest module (functions/ingest/app.py)": function_snippet("functions/ingest/app.py"),
}


def report() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print("== ingest ==")
    print(
        "AWS write calls per 1,000 events (botocore hook) beside the floor"
        " ⌈items/25⌉ + PutObject per dataset/partition/batch"
    )
    print(f"{'batch size':>10} {'calls':>8} {'floor':>8} {'ratio':>6} {'of which counter txns':>22}   target ≤ 1.10×")
    results = []
    for size in (100, 250, 500):
        r = write_calls(size)
        results.append(r)
        print(
            f"{size:>10} {r['writes']:>8.1f} {r['floor']:>8.1f} {r['writes'] / r['floor']:>5.2f}×"
            f" {r['counter_txns']:>22.1f}"
        )
    print("DynamoDB write units per event, from the stored items' sizes (1 unit per KB, per item and per GSI entry,")
    print("transactional counter writes at 2×), beside the target 1 + indexes touched:")
    print(f"{'batch size':>10} {'items+GSIs':>11} {'counters':>9} {'total':>7} {'target':>7} {'ratio':>6}")
    for r in results:
        total = r["item_units"] + r["counter_units"]
        print(
            f"{r['batch_size']:>10} {r['item_units']:>11.2f} {r['counter_units']:>9.2f} {total:>7.2f}"
            f" {r['target_per_event']:>7.2f} {total / r['target_per_event']:>5.2f}×"
        )
    own = throughput(20_000, under_moto=False)
    moto = throughput(1_000, under_moto=True)
    print(f"Ingest throughput in process, in-memory stores (guildlog's own work): {own:,.0f} events/s (20,000 events)")
    print(
        f"Ingest throughput in process under moto: {moto:,.0f} events/s (1,000 events; moto copies the whole table"
        " for every TransactWriteItems action, so this falls as the table grows)"
    )
    times = import_times(_IMPORT_SNIPPETS)
    boto = times["import boto3"]
    for name, seconds in times.items():
        print(
            f"import time, median of 7 fresh interpreters: {name:<42} {seconds * 1000:7.1f} ms"
            f"  ({seconds / boto:.2f}× boto3)"
        )
