"""Ingest figures: AWS write calls per 1,000 events beside the floor, write units per event,
events/s in process under moto, and the import time of the ingest module beside `import boto3`."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import archive_hold
from bench.archive_hold import HoldDay
from bench.imports import function_snippet, import_times
from bench.synthetic import gateway_events
from guildlog.services.counter_windows import RIDE_MAX_ROWS

REPO = Path(__file__).resolve().parents[1]
WRITE_OPERATIONS = {
    "BatchWriteItem",
    "PutItem",
    "UpdateItem",
    "TransactWriteItems",
    "DeleteItem",
    "PutObject",
    "SendMessage",
}


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
    """Counts AWS API calls through botocore's event hooks on the injected clients, and keeps every
    item BatchWriteItem sends and the bytes of every PutObject, to size them as DynamoDB and S3 bill."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.written: list[dict[str, Any]] = []
        self.put_bytes = 0
        self.read_keys = 0
        self.message_bytes: list[int] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._count)
        client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", self._batch_write)
        client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", self._batch_get)
        client.meta.events.register("provide-client-params.s3.PutObject", self._put_object)
        client.meta.events.register("provide-client-params.sqs.SendMessage", self._send_message)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _batch_write(self, params: Any, **_: Any) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer()
        for requests in params["RequestItems"].values():
            for request in requests:
                item = request["PutRequest"]["Item"]
                self.written.append({k: plain.deserialize(v) for k, v in item.items()})

    def _batch_get(self, params: Any, **_: Any) -> None:
        self.read_keys += sum(len(spec["Keys"]) for spec in params["RequestItems"].values())

    def _put_object(self, params: Any, **_: Any) -> None:
        self.put_bytes += len(params.get("Body") or b"")

    def _send_message(self, params: Any, **_: Any) -> None:
        self.message_bytes.append(len(params["MessageBody"].encode("utf-8")))

    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)

    def reset(self) -> None:
        self.calls.clear()
        self.written.clear()
        self.put_bytes = 0
        self.read_keys = 0
        self.message_bytes.clear()


def _stack() -> tuple[Any, Any, CallCounter]:
    import boto3

    from guildlog_tools.local.template import load_template, table_definition

    counter = CallCounter()
    ddb = counter.attach(boto3.client("dynamodb", region_name="us-east-1"))
    s3 = counter.attach(boto3.client("s3", region_name="us-east-1"))
    ddb.create_table(**{**table_definition(load_template()), "TableName": "bench"})
    s3.create_bucket(Bucket="bench-archive")
    counter.reset()
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


def _gsi_entries(item: dict[str, Any]) -> int:
    return sum(1 for g in (1, 2, 3) if f"GSI{g}PK" in item)


def write_calls(
    batch_size: int, events: int = 1000, guilds: int = 3, window_messages: int | None = None
) -> dict[str, float]:
    """One run of `events` synthetic events in batches of `batch_size` through Ingestor under moto, with
    the archive hand-off (ArchiveQueue) and ArchiveFunction's writer reading every queued message as one
    invocation: write calls and their floor (every item in BatchWriteItem chunks of 25, one SendMessage or,
    for a batch too large to queue, one PutObject per dataset and partition day), write units (each item
    and each GSI entry, 1 per KB started) and their floor (1 each: the items and index entries of the
    documented access patterns), reads, the messages' sizes, the writer's PUTs and seconds, S3 bytes, and
    the counter windows it writes for small batches (services/counter_windows.py) when its invocations
    take `window_messages` messages each (all of them in one when None)."""
    import boto3
    from moto import mock_aws

    from guildlog.adapters.archive_queue import ArchiveQueue
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.archive_batches import ArchiveWriter
    from guildlog.services.ingest import Ingestor

    batch = gateway_events(events, seed=batch_size, guilds=guilds)
    floor_calls = 0
    with mock_aws():
        ddb, s3, counter = _stack()
        sqs = counter.attach(boto3.client("sqs", region_name="us-east-1"))
        queue_url = sqs.create_queue(QueueName="bench-archive")["QueueUrl"]
        counter.reset()
        ingestor = Ingestor(
            S3Archive("bench-archive", s3), DynamoStore("bench", ddb), archive_queue=ArchiveQueue(queue_url, sqs)
        )
        for envelope, raw in _envelopes(batch, batch_size, f"w{batch_size}"):
            before_items, before_puts = len(counter.written), counter.calls["PutObject"]
            before_sends = counter.calls["SendMessage"]
            ingestor.ingest(envelope, raw)
            floor_calls += math.ceil((len(counter.written) - before_items) / 25)
            floor_calls += counter.calls["PutObject"] - before_puts + counter.calls["SendMessage"] - before_sends
        writes = counter.writes()
        transactions = counter.calls["TransactWriteItems"]
        items = list(counter.written)
        read_calls, read_keys = counter.calls["BatchGetItem"], counter.read_keys
        direct_puts, ingest_bytes = counter.calls["PutObject"], counter.put_bytes
        sizes = list(counter.message_bytes)
        # ArchiveFunction: every queued message in one invocation, as one batching window delivers them.
        records = []
        while answer := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            records += [(m["MessageId"], m["Body"]) for m in answer]
        counter.reset()
        writer = ArchiveWriter(S3Archive("bench-archive", s3), counters=DynamoStore("bench", ddb).put_items)
        per_window = window_messages or max(1, len(records))
        windows = [records[start : start + per_window] for start in range(0, len(records), per_window)]
        started = time.process_time()
        for window in windows:
            writer.write(window)
        archive_cpu = time.process_time() - started
        archive_puts, archive_bytes = counter.calls["PutObject"] / len(windows), counter.put_bytes
        window_items = list(counter.written)
        window_calls = counter.calls["BatchWriteItem"]
    units = sum(_write_units(i) * (1 + _gsi_entries(i)) for i in items)
    floor_units = sum(1 + _gsi_entries(i) for i in items)
    counters = [i for i in items if i.get("kind") in ("counter_delta", "shard_activity", "shard_seen")]
    return {
        "batch_size": batch_size,
        "guilds": guilds,
        "writes": writes * 1000 / events,
        "floor": floor_calls * 1000 / events,
        "transactions": transactions * 1000 / events,
        "units": units / events,
        "floor_units": floor_units / events,
        "counter_units": sum(_write_units(i) for i in counters) / events,
        # ArchiveFunction's counter windows: their write units and BatchWriteItem calls, per event.
        "window_units": sum(_write_units(i) for i in window_items) / events,
        "window_calls": window_calls / events,
        "read_units": 0.5 * read_keys / events,  # eventually consistent, items under 4 KB
        "read_calls": read_calls * 1000 / events,
        "puts": direct_puts / events,
        "s3_bytes": (ingest_bytes + archive_bytes) / events,
        "batches": math.ceil(events / batch_size) / events,
        # The archive hand-off: messages per event, SQS requests billed per 64 KB started, mean bytes.
        "messages": len(sizes) / events,
        "send_requests": sum(math.ceil(n / 65_536) for n in sizes) / events,
        "message_bytes": sum(sizes) / len(sizes) if sizes else 0.0,
        "archive_puts_per_invocation": archive_puts,
        "archive_cpu_per_event": archive_cpu / events,
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

    def stored_batches(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {k: str(self.items[k].get("batch_id", "")) for k in keys if k in self.items}

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
    return throughput_with_stored([0], events, batch_size)[0]


def _preload(ddb: Any, upto: int, have: int, table: str = "bench") -> None:
    """Store events `have`…`upto` as ingest's items would be, straight through BatchWriteItem (faster
    than ingesting them, and ingest's own path is what is timed after)."""
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.models.envelope import Envelope
    from guildlog.services import hot_items
    from guildlog.services.event_ids import event_id
    from guildlog.services.normalize import normalize

    store = DynamoStore(table, ddb)
    events = gateway_events(upto - have, seed=upto)
    for start in range(0, len(events), 500):
        body = {"v": 1, "batch_id": f"pre-{have + start}", "relay": {"shard": [0, 1], "session_id": "pre"}}
        envelope = Envelope.model_validate({**body, "events": events[start : start + 500]})
        items = []
        for event in envelope.events:
            row = normalize(event, event_id=event_id(event, envelope), batch_id=envelope.batch_id)
            ttl = hot_items.expires_at(row, 30)
            items += [hot_items.feed_item(row, ttl), *hot_items.message_items(row, ttl)]
        store.put_items(items)


def throughput_with_stored(
    stored: list[int], events: int = 1000, batch_size: int = 500, rounds: int = 1
) -> list[float]:
    """Events/s through Ingestor under moto, `events` fresh events at a time into one table per count of
    `stored` events, the tables taking turns `rounds` times (so a machine that slows down or speeds up
    during the run weighs on every table alike): each table's median, in the order of `stored`."""
    import statistics

    from moto import mock_aws

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.ingest import Ingestor
    from guildlog_tools.local.template import load_template, table_definition

    rates: list[list[float]] = [[] for _ in stored]
    with mock_aws():
        ddb, s3, _ = _stack()
        ingestors = []
        for n, target in enumerate(stored):
            name = f"bench-{n}"
            ddb.create_table(**{**table_definition(load_template()), "TableName": name})
            if target:
                _preload(ddb, target, 0, table=name)
            ingestors.append(Ingestor(S3Archive("bench-archive", s3), DynamoStore(name, ddb)))
        for turn in range(rounds):
            for n, ingestor in enumerate(ingestors):
                envelopes = _envelopes(
                    gateway_events(events, seed=100 + turn * len(stored) + n), batch_size, f"tp{turn}"
                )
                started = time.perf_counter()
                for envelope, raw in envelopes:
                    ingestor.ingest(envelope, raw)
                rates[n].append(events / (time.perf_counter() - started))
    return [statistics.median(r) for r in rates]


# --- the cost model -------------------------------------------------------------------------------
# List prices, us-east-1, on-demand (USD): what the "$3.75 per million events" was priced at.
PRICE = {
    "ddb_write": 0.625 / 1e6,  # per write request unit
    "ddb_read": 0.125 / 1e6,  # per read request unit
    "s3_put": 0.005 / 1000,
    "s3_gb_month": 0.023,
    "lambda_gb_s": 0.0000133334,  # arm64
    "lambda_request": 0.20 / 1e6,
    # Not charged any more: IngestFunction is reached through its function URL (template.yaml), which costs
    # nothing beyond the Lambda request. Kept to price the HTTP API route it replaced.
    "apigw_request": 1.00 / 1e6,  # HTTP API, first 300 M a month, per 512 KB
    "athena_tb": 5.0,
    "sqs_request": 0.40 / 1e6,  # standard queue, per request and per 64 KB of its payload
}
INGEST_MEMORY_GB = 1.0  # template.yaml: IngestFunction MemorySize 1024
# Lambda bills wall time: each AWS call from ingest waits on the network. An assumption (a typical
# in-region DynamoDB/S3 round trip), stated so it can be changed; the local stack cannot measure it.
AWS_CALL_SECONDS = 0.010
ATHENA_MIN_BYTES = 10 * 1024**2  # Athena bills at least 10 MB per query
# ArchiveFunction's event source (template.yaml): a batch closes after the window, at BatchSize messages,
# or at Lambda's 6 MB synchronous payload, whichever comes first.
ARCHIVE_WINDOW_S = archive_hold.WINDOW_S
ARCHIVE_BATCH_SIZE = 10_000
ARCHIVE_PAYLOAD_BYTES = 6 * 1024 * 1024
ARCHIVE_MEMORY_GB = 1.0  # template.yaml: ArchiveFunction MemorySize 1024
SQS_CHUNK = archive_hold.SQS_CHUNK
# Lambda's pollers long-poll an idle queue (20 s): about 5 pollers x 3 requests a minute, a fixed monthly
# cost like the alarms and NotifyQueue's pollers, not a cost per event (an assumption: AWS does not
# publish the poller count).
IDLE_POLL_REQUESTS_PER_MONTH = 5 * 3 * 60 * 24 * 30
# Before archive batching (commit f81d2ac, the same benchmark): total USD per million events.
BEFORE_BATCHING = {"small": 20.84, "busy": 3.72, "largest": 2.09}
# Before the per-batch shard activity item went and the shard's day index became once per container
# and day (commit 7a2b2e1, the same benchmark): a 1-event batch's units.
PREVIOUS_ONE_EVENT_UNITS = 6.13
# At a8b23e3 (the HTTP API route, a relay flushing every batch after 1 s, ArchiveFunction writing every
# window; three guilds per server): total USD per million events, the same benchmark.
PREVIOUS = {"small": 5.24, "busy": 2.36, "largest": 2.05}
# At e1edb2c (every batch wrote its own counter delta item; the relay's heartbeat sealed what it held,
# 3 events a request): the same benchmark.
LAST = {"small": 2.72, "busy": 2.19, "largest": 2.05}
GOAL_PER_MILLION = 2.50
# At e1edb2c a heartbeat wrote a feed item under `G#-` (with its GSI3 entry) besides its relay contact.
HEARTBEAT_UNITS_BEFORE = 3.0
# Turns of the two tables (10,000 and 100,000 events stored) in the flat-throughput measurement.
STORED_ROUNDS = 5
# Servers by events per day, each one guild; the relay flushes a batch at 500 events or 1 s after an event
# the moderation log posts, and holds routine events up to its linger (60 s): a busy server's batch
# holds what it sends in a second, a quiet one's is measured by driving the relay's batcher
# (bench/relay.py, quiet_server_requests).
SERVERS = {"small": 10_000, "busy": 1_000_000, "largest": 50_000_000}
# template.yaml: ArchiveHoldMinutes' default.
HOLD_MINUTES = 60
# Measured with this benchmark at commit 2acfbcf (counters in TransactWriteItems, GSI3 on every
# event), before the write path changed: per 1,000 events, write calls; per event, write units
# (transactions at 2x) and read units; per batch size.
TODAY: dict[int, dict[str, float]] = {
    100: {"writes": 119.0, "units": 6.20},
    250: {"writes": 96.0, "units": 6.01},
    500: {"writes": 87.0, "units": 5.85},
}


@contextmanager
def _own_delta_items() -> Iterator[None]:
    """Every batch writes its own counter delta item, as before counter windows (for the side-by-side row)."""
    from guildlog.services import counter_windows

    saved = counter_windows.RIDE_MAX_ROWS
    counter_windows.RIDE_MAX_ROWS = 0
    try:
        yield
    finally:
        counter_windows.RIDE_MAX_ROWS = saved


def one_event_batches() -> tuple[list[list[dict[str, Any]]], list[Counter[str]]]:
    """Two 1-event batches (message creates through shard 0, one second apart) through Ingestor under
    moto with the archive hand-off, as a small server's relay sends them: each batch's items (as
    BatchWriteItem sent them) and its AWS calls by operation."""
    import boto3
    from moto import mock_aws

    from guildlog.adapters.archive_queue import ArchiveQueue
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.ingest import Ingestor

    events = [e for e in gateway_events(200, seed=11) if e["t"] == "MESSAGE_CREATE"][:2]
    written: list[list[dict[str, Any]]] = []
    calls: list[Counter[str]] = []
    with mock_aws():
        ddb, s3, counter = _stack()
        sqs = counter.attach(boto3.client("sqs", region_name="us-east-1"))
        queue_url = sqs.create_queue(QueueName="bench-archive")["QueueUrl"]
        ingestor = Ingestor(
            S3Archive("bench-archive", s3), DynamoStore("bench", ddb), archive_queue=ArchiveQueue(queue_url, sqs)
        )
        for n, event in enumerate(events):
            counter.reset()
            [(envelope, raw)] = _envelopes([event], 1, f"one{n}")
            ingestor.ingest(envelope, raw)
            written.append(list(counter.written))
            calls.append(Counter(counter.calls))
    return written, calls


def _item_shape(item: dict[str, Any]) -> str:
    """An item's kind and key shape, ids left out: `event G#<guild> (+GSI1, GSI2)`."""
    pk = str(item["PK"]).split("#")[0]
    indexes = [f"GSI{g}" for g in (1, 2, 3) if f"GSI{g}PK" in item]
    return f"{item.get('kind', '?')} {pk}#…" + (f" (+{', '.join(indexes)})" if indexes else "")


def report_one_event_batch(m: dict[str, float], own_seconds_per_event: float) -> None:
    """What one 1-event batch writes, item by item, and what its requests cost (per million such batches)."""
    written, calls = one_event_batches()
    for label, items, ops in (("first of the day in a container", written[0], calls[0]),
                              ("every later one", written[1], calls[1])):  # fmt: skip
        units = sum(_write_units(i) * (1 + _gsi_entries(i)) for i in items)
        print(f"A 1-event batch (a message create), {label}: {units} write units (at 7a2b2e1:"
              f" {PREVIOUS_ONE_EVENT_UNITS:.2f} per event of the mix); calls {dict(sorted(ops.items()))}")  # fmt: skip
        for item in items:
            print(
                f"    {_item_shape(item):<44} {_item_size(item):>5} bytes  {_write_units(item)} unit"
                f" + {_gsi_entries(item)} index entr{'y' if _gsi_entries(item) == 1 else 'ies'}"
                f" = {_write_units(item) * (1 + _gsi_entries(item))}"
            )
    calls_per_batch = (m["writes"] + m["read_calls"]) / 1000
    seconds = own_seconds_per_event + calls_per_batch * AWS_CALL_SECONDS
    print(
        "  its requests, USD per million such batches: function URL 0.00 (the HTTP API route cost"
        f" {PRICE['apigw_request'] * 1e6:.2f}), Lambda request {PRICE['lambda_request'] * 1e6:.2f}, Lambda time"
        f" {seconds * INGEST_MEMORY_GB * PRICE['lambda_gb_s'] * 1e6:.2f} ({calls_per_batch:.2f} AWS calls at"
        f" {AWS_CALL_SECONDS * 1000:.0f} ms), SQS hand-off {m['send_requests'] * PRICE['sqs_request'] * 1e6:.2f},"
        f" DynamoDB {m['units'] * PRICE['ddb_write'] * 1e6 + m['read_units'] * PRICE['ddb_read'] * 1e6:.2f}"
        f" ({m['units']:.2f} write units, {m['read_units']:.2f} read units per event on average)"
    )


def report_floor(small: dict[str, float]) -> None:
    """The small server's floor at one event per request (no linger)."""
    event_units = small["units"] - small["counter_units"]
    ddb_event = event_units * PRICE["ddb_write"] * 1e6
    requests = PRICE["lambda_request"] * 1e6
    print(
        f"Floor of the small server at one event per request: the event's own items and index entries"
        f" ({event_units:.2f} units, ${ddb_event:.2f}) + the Lambda request (${requests:.2f})"
        f" = ${ddb_event + requests:.2f} per million, before its counter delta, reads, archive and compute."
    )


def archive_window_bytes(m: dict[str, float], per_day: int) -> float:
    """The archive hand-off's bytes in one 5-minute window at this server's rate."""
    return m["messages"] * per_day / 86_400 * ARCHIVE_WINDOW_S * m["message_bytes"]


def quiet_batch_size(linger_ms: int, mix_name: str = "bench/synthetic.py") -> float:
    """Events per relay request for the small server (its gateway batches; heartbeats are a fixed cost a
    minute, not per event), from the relay's batcher on a synthetic clock with an event mix of
    bench/relay.py (by default the one this benchmark's write units are measured with)."""
    from bench.relay import quiet_server_mixes, quiet_server_requests

    mix = quiet_server_mixes()[mix_name]
    measured = quiet_server_requests(mix, linger_ms)
    return 1000 / (measured["requests"] - measured["heartbeats"])


def heartbeat_fixed() -> dict[str, float]:
    """The relay's heartbeat, a fixed cost per shard (one a minute, whatever the server's traffic): its
    write units under moto (ingest of 100 heartbeats, four to a batch as they ride with a quiet server's
    events), and how many go out alone a day, with the linger (riding along) and without it, from the
    relay's batcher on the synthetic clock (bench/relay.py)."""
    import json
    from datetime import UTC, datetime, timedelta

    from moto import mock_aws

    from bench.relay import HEARTBEAT_S, QUIET_EVENTS, quiet_server_mixes, quiet_server_requests
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.ingest import Ingestor
    from guildlog_relay.batcher import DEFAULT_LINGER_MS
    from guildlog_relay.status import StatusEvents

    beats = StatusEvents((0, 1))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    facts = {"connected": True, "session_id": "bench", "latency_ms": 41.5, "spool": 0}
    events = [
        json.loads(beats.heartbeat(start + timedelta(minutes=n), {**facts, "seq": n, "checkpoint_seq": n}).to_json())
        for n in range(100)
    ]
    with mock_aws():
        ddb, s3, counter = _stack()
        ingestor = Ingestor(S3Archive("bench-archive", s3), DynamoStore("bench", ddb))
        for envelope, raw in _envelopes(events, 4, "hb"):
            ingestor.ingest(envelope, raw)
        items = [i for i in counter.written if i.get("kind") != "shard_seen"]
    mix = quiet_server_mixes()["bench/synthetic.py"]
    per_day = 86_400 / HEARTBEAT_S
    alone = {
        name: quiet_server_requests(mix, linger)["heartbeats"] * QUIET_EVENTS / 1000
        for name, linger in (("linger", DEFAULT_LINGER_MS), ("none", 0))
    }
    return {
        "per_day": per_day,
        "units": sum(_write_units(i) * (1 + _gsi_entries(i)) for i in items) / len(events),
        "alone_per_day": alone["linger"],
        "alone_per_day_without_linger": alone["none"],
    }


def heartbeat_month_usd(units: float, alone_per_day: float, per_day: float) -> float:
    """A shard's heartbeats for 30 days: their write units, and for each that goes out alone a Lambda
    request, its three AWS calls' time and its SQS hand-off."""
    request = PRICE["lambda_request"] + 3 * AWS_CALL_SECONDS * INGEST_MEMORY_GB * PRICE["lambda_gb_s"]
    return 30 * (per_day * units * PRICE["ddb_write"] + alone_per_day * (request + PRICE["sqs_request"]))


def _money(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def window_messages(per_day: int, batch_size: int) -> int:
    """Hand-off messages in one of ArchiveFunction's 5-minute windows at this server's rate: the batches
    whose counter deltas it writes as one window (services/counter_windows.py)."""
    return max(1, round(per_day / 86_400 * ARCHIVE_WINDOW_S / batch_size))


def batch_size_for(per_day: int) -> int:
    return max(1, min(500, round(per_day / 86_400)))


def archive_per_event(m: dict[str, float], per_day: int) -> dict[str, float]:
    """ArchiveFunction's invocations, S3 PUTs and SQS receive/delete requests per event at this server's
    rate: one invocation per batching window, cut short by BatchSize or the 6 MB payload."""
    if not m["messages"]:
        return {"invocations": 0.0, "puts": 0.0, "sqs": 0.0, "events_per_invocation": 0.0}
    events_per_message = 1 / m["messages"]
    by_window = per_day / 86_400 * ARCHIVE_WINDOW_S / events_per_message
    messages = max(1.0, min(by_window, ARCHIVE_BATCH_SIZE, ARCHIVE_PAYLOAD_BYTES / m["message_bytes"]))
    events = messages * events_per_message
    # The event source receives 10 messages a call (billed per 64 KB too) and deletes them 10 a call.
    receives = max(math.ceil(messages / 10), math.ceil(messages * m["message_bytes"] / SQS_CHUNK))
    deletes = math.ceil(messages / 10)
    return {
        "invocations": 1 / events,
        "puts": m["archive_puts_per_invocation"] / events,
        "sqs": (receives + deletes) / events,
        "events_per_invocation": events,
    }


def held_per_event(m: dict[str, float], hold: HoldDay, per_day: int) -> dict[str, float]:
    """ArchiveFunction per event from a simulated day with its hold (bench/archive_hold.py)."""
    return {
        "invocations": hold.invocations / per_day,
        "puts": hold.puts / per_day,
        "sqs": hold.sqs_requests / per_day,
        "events_per_invocation": per_day / hold.invocations if hold.invocations else 0.0,
    }


def cost_per_million(
    m: dict[str, float], own_seconds_per_event: float, per_day: int, queries: int, hold: HoldDay | None = None
) -> dict[str, float]:
    """USD per million events by service, from one measurement `m` (write_calls) at this server's batch size;
    with `hold`, ArchiveFunction's invocations, PUTs and SQS requests as the simulated day measured them."""
    million = 1e6
    archive = archive_per_event(m, per_day) if hold is None else held_per_event(m, hold, per_day)
    ddb = million * ((m["units"] + m["window_units"]) * PRICE["ddb_write"] + m["read_units"] * PRICE["ddb_read"])
    s3 = million * ((m["puts"] + archive["puts"]) * PRICE["s3_put"] + m["s3_bytes"] / 1e9 * PRICE["s3_gb_month"])
    sqs = million * (m["send_requests"] + archive["sqs"]) * PRICE["sqs_request"]
    calls_per_event = (m["writes"] + m["read_calls"]) / 1000
    seconds = million * (own_seconds_per_event + calls_per_event * AWS_CALL_SECONDS)
    archive_seconds = million * (m["archive_cpu_per_event"] + (archive["puts"] + m["window_calls"]) * AWS_CALL_SECONDS)
    requests = million * (m["batches"] + archive["invocations"])
    lam = (
        seconds * INGEST_MEMORY_GB * PRICE["lambda_gb_s"]
        + archive_seconds * ARCHIVE_MEMORY_GB * PRICE["lambda_gb_s"]
        + requests * PRICE["lambda_request"]
    )
    # Each named query once a day over that day's `events/` objects (gzip JSON, as stored).
    day_bytes = max(ATHENA_MIN_BYTES, per_day * m["s3_bytes"] / 3)
    athena = queries * day_bytes / 1e12 * PRICE["athena_tb"] * million / per_day
    return {"dynamodb": ddb, "s3": s3, "sqs": sqs, "lambda": lam, "athena": athena}


_IMPORT_SNIPPETS = {
    "import boto3": "import boto3",
    "ingest module (functions/ingest/app.py)": function_snippet("functions/ingest/app.py"),
}


def report() -> None:
    from guildlog.queries import named_queries

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print("== ingest ==")
    from guildlog_relay.batcher import DEFAULT_LINGER_MS

    small = SERVERS["small"]
    quiet = quiet_batch_size(DEFAULT_LINGER_MS)
    quiet_size = max(1, round(quiet))
    # A chat server's mix (bench/relay.py CHAT_MIX: one event in ten is one the log posts, against one in
    # five in bench/synthetic.py): the relay's batches, priced with this benchmark's items.
    chat = quiet_batch_size(DEFAULT_LINGER_MS, "chat (CHAT_MIX)")
    chat_size = max(1, round(chat))
    sizes = sorted({1, 100, 250, 500, *(batch_size_for(n) for n in SERVERS.values())})
    results = {size: write_calls(size) for size in sizes}
    print(
        "AWS write calls per 1,000 events (botocore hook) beside the floor (items in BatchWriteItem chunks"
        " of 25, one SendMessage per batch to ArchiveQueue, or one PutObject per dataset/partition for a batch"
        " too large to queue); ArchiveFunction's PUTs are in the cost below"
    )
    print(f"{'batch size':>10} {'calls':>8} {'floor':>8} {'ratio':>6} {'transactions':>13}   target ≤ 1.10×")
    for size, r in results.items():
        print(
            f"{size:>10} {r['writes']:>8.1f} {r['floor']:>8.1f} {r['writes'] / r['floor']:>5.2f}×"
            f" {r['transactions']:>13.1f}"
        )
    print("DynamoDB write units per event (1 per KB started, per item and per GSI entry) beside the floor of the")
    print("documented access patterns (1 per item and per GSI entry); 'at 2acfbcf': the same measure before")
    print("(counters in transactions at 2×, GSI3 on every event):")
    print(
        f"(ingest's own writes; 'windows': what ArchiveFunction adds for batches under {RIDE_MAX_ROWS} events,"
        " their counter deltas as one item per window, every message in one window here)"
    )
    print(
        f"{'batch size':>10} {'units':>7} {'counters':>9} {'windows':>8} {'floor':>7} {'ratio':>6} {'at 2acfbcf':>11}"
    )
    for size, r in results.items():
        before = TODAY.get(size, {}).get("units")
        print(
            f"{size:>10} {r['units']:>7.2f} {r['counter_units']:>9.2f} {r['window_units']:>8.3f}"
            f" {r['floor_units']:>7.2f} {r['units'] / r['floor_units']:>5.2f}×"
            f" {before if before is not None else '—':>11}"
        )
    own = throughput(20_000, under_moto=False)
    print(f"Ingest throughput in process, in-memory stores (guildlog's own work): {own:,.0f} events/s (20,000 events)")
    queries = len(named_queries())
    print(
        f"Cost per million events, USD, list prices (on-demand DynamoDB, S3, SQS standard per 64 KB request,"
        f" Lambda arm64 at {INGEST_MEMORY_GB:g} GB with {AWS_CALL_SECONDS * 1000:.0f} ms per AWS call for"
        f" IngestFunction and ArchiveFunction, IngestFunction's function URL (no request charge), Athena running"
        f" the {queries} named queries once a day; Glue: none), each server one guild, beside this model at"
        " e1edb2c (a delta item per batch), a8b23e3 (HTTP API, 1 s flush, every archive window written) and before"
        " archive batching (f81d2ac):"
    )
    print(
        f"The small server's relay sends {quiet:.1f} events a request at the default linger"
        f" ({DEFAULT_LINGER_MS / 1000:g} s for routine events; what the moderation log posts goes within 1 s);"
        f" ArchiveFunction holds its lines up to {HOLD_MINUTES} minutes (ArchiveHoldMinutes), simulated over a day:"
    )
    holds = {
        (size, minutes): archive_hold.simulate(small, size, minutes)
        for size, minutes in ((quiet_size, HOLD_MINUTES), (1, HOLD_MINUTES), (quiet_size, 0), (chat_size, HOLD_MINUTES))
    }
    for (size, minutes), day in holds.items():
        print(
            f"    batches of {size:>3}, hold {minutes:>2} min: {day.puts:5.0f} S3 PUTs, {day.invocations:4.0f}"
            f" invocations, {day.held_sends:4.0f} held messages a day; {day.events_written:,}/{day.events_accepted:,}"
            " events written"
        )
    small_batches = (("quiet", quiet_size), ("one", 1), ("chat", chat_size))
    one = {
        name: write_calls(batch, guilds=1, window_messages=window_messages(small, batch))
        for name, batch in small_batches
    }
    one.update(
        {
            name: write_calls(batch_size_for(n), guilds=1, window_messages=window_messages(n, batch_size_for(n)))
            for name, n in SERVERS.items()
            if name != "small"
        }
    )
    with _own_delta_items():
        one["own"] = write_calls(quiet_size, guilds=1, window_messages=window_messages(small, quiet_size))
    print(
        f"{'server':>22} {'events/day':>11} {'batch':>6} {'DynamoDB':>9} {'S3':>7} {'SQS':>7} {'Lambda':>7}"
        f" {'Athena':>7} {'total':>7} {'e1edb2c':>8} {'a8b23e3':>8} {'f81d2ac':>8}   goal ≤ ${GOAL_PER_MILLION:.2f}"
    )
    quiet_hold = holds[(quiet_size, HOLD_MINUTES)]
    rows = [
        ("small", small, one["quiet"], quiet_hold, (LAST["small"], PREVIOUS["small"], BEFORE_BATCHING["small"])),
        ("small, own delta items", small, one["own"], quiet_hold, (None, None, None)),
        ("small, no linger", small, one["one"], holds[(1, HOLD_MINUTES)], (None, None, None)),
        ("small, no hold", small, one["quiet"], holds[(quiet_size, 0)], (None, None, None)),
        ("small, chat mix", small, one["chat"], holds[(chat_size, HOLD_MINUTES)], (None, None, None)),
        ("busy", SERVERS["busy"], one["busy"], None, (LAST["busy"], PREVIOUS["busy"], BEFORE_BATCHING["busy"])),
        (
            "largest",
            SERVERS["largest"],
            one["largest"],
            None,
            (LAST["largest"], PREVIOUS["largest"], BEFORE_BATCHING["largest"]),
        ),
    ]
    for name, per_day, m, hold, earlier in rows:
        now = cost_per_million(m, 1 / own, per_day, queries, hold)
        print(
            f"{name:>22} {per_day:>11,} {m['batch_size']:>6} {now['dynamodb']:>9.3f} {now['s3']:>7.3f}"
            f" {now['sqs']:>7.3f} {now['lambda']:>7.3f} {now['athena']:>7.3f} {sum(now.values()):>7.2f}"
            + "".join(f" {_money(value):>8}" for value in earlier)
        )
    print(
        f"small, own delta items: the same batches with every batch writing its own counter delta item, as at"
        f" e1edb2c (services/counter_windows.py: batches under {RIDE_MAX_ROWS} events now hand theirs to"
        " ArchiveFunction, which writes one item per 5-minute window)."
    )
    print(
        f"small, chat mix: the relay sends {chat:.1f} events a request with bench/relay.py's CHAT_MIX (10 % of"
        " events posted by the log, against 20 % in bench/synthetic.py), priced with this benchmark's items."
    )
    print(
        "busy and largest: one 5-minute window's lines outgrow one SQS message"
        f" ({archive_window_bytes(one['busy'], SERVERS['busy']) / 1e6:.1f} MB and"
        f" {archive_window_bytes(one['largest'], SERVERS['largest']) / 1e6:.1f} MB a window), so ArchiveFunction"
        " writes every window as before; no hold applies."
    )
    report_one_event_batch(results[1], 1 / own)
    report_floor(one["one"])
    print("ArchiveQueue and ArchiveFunction per server (one invocation per 5-minute window, 6 MB or 10,000 messages):")
    for name, per_day in SERVERS.items():
        m = results[batch_size_for(per_day)]
        archive = archive_per_event(m, per_day)
        if name == "small":
            continue  # held: see above
        print(
            f"{name:>8}: {m['messages'] * per_day:>11,.0f} messages/day of {m['message_bytes'] / 1024:.1f} KB,"
            f" {archive['invocations'] * per_day:>9,.0f} invocations/day of {archive['events_per_invocation']:,.0f}"
            f" events, {archive['puts'] * per_day:>9,.0f} S3 PUTs/day (before: {per_day * 3 / m['batch_size']:,.0f})"
        )
    idle = IDLE_POLL_REQUESTS_PER_MONTH * PRICE["sqs_request"]
    print(
        f"Not per event (fixed, like the alarms): ArchiveQueue's pollers while idle, about"
        f" {IDLE_POLL_REQUESTS_PER_MONTH:,} requests a month = ${idle:.2f}/month (AWS free tier: 1 M requests a month)."
    )
    beat = heartbeat_fixed()
    month = heartbeat_month_usd(beat["units"], beat["alone_per_day"], beat["per_day"])
    before = heartbeat_month_usd(HEARTBEAT_UNITS_BEFORE, beat["per_day"], beat["per_day"])
    print(
        f"Not per event (fixed): the relay's heartbeat, {beat['per_day']:,.0f} a day per shard of"
        f" {beat['units']:.2f} write units each (its relay contact), {beat['alone_per_day']:.0f} a day going"
        f" alone at a small server (the rest ride with held events; {beat['alone_per_day_without_linger']:,.0f}"
        f" without the linger) = ${month:.3f}/month per shard (at e1edb2c: {HEARTBEAT_UNITS_BEFORE:.2f} units,"
        f" every heartbeat its own request, ${before:.3f}/month)."
    )
    stored = throughput_with_stored([10_000, 100_000], rounds=STORED_ROUNDS)
    print(
        f"Ingest throughput under moto (1,000 events in batches of 500, two tables taking turns {STORED_ROUNDS}"
        f" times, medians) with 10,000 events stored:"
        f" {stored[0]:,.0f} events/s; with 100,000 stored: {stored[1]:,.0f} events/s"
        f" ({stored[1] / stored[0]:.2f}×; flat is 1.00×)"
    )
    times = import_times(_IMPORT_SNIPPETS)
    boto = times["import boto3"]
    for name, seconds in times.items():
        print(
            f"import time, median of 7 fresh interpreters: {name:<42} {seconds * 1000:7.1f} ms"
            f"  ({seconds / boto:.2f}× boto3)"
        )
