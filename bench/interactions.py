"""Interactions figures: warm handler time (p50/p99) of PING, /logs search and /logs message under moto,
beside Discord's 3,000 ms budget, and the import time of the interactions module beside `import boto3`.

The handler is `functions/interactions/app.py`'s own `lambda_handler`, called in process with signed
API Gateway events; DynamoDB and Secrets Manager are moto's (in process, so no network time). The
hot table holds the recorded demo session plus synthetic traffic written through the ingest code.
The worker hand-over (one async Lambda invoke per command) is replaced by a no-op: moto cannot run
Lambda functions without Docker, and in AWS that call is a single small request.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.imports import function_snippet, import_times
from bench.synthetic import gateway_events

REPO = Path(__file__).resolve().parents[1]
BUDGET_MS = 3000
RUNS = 200
SESSION = REPO / "events" / "gateway" / "demo-session.jsonl"
DISCORD_EPOCH_MS = 1_420_070_400_000


class _Context:
    function_name = "guildlog-bench-interactions"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:guildlog-bench-interactions"
    aws_request_id = "bench"


class _NoWorker:
    def invoke(self, job: Any) -> None:
        pass


def _load_app() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_interactions_app", REPO / "functions/interactions/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(table: str, bucket: str) -> tuple[str, str, str]:
    """The demo session through ingest, and 3,000 synthetic events' hot items; (guild, a deleted message, its author).

    The synthetic items are written with BatchWriteItem straight from hot_items (no counters): moto
    copies the whole table for every TransactWriteItems action, which would make seeding take minutes.
    """
    import boto3

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.models.envelope import Envelope
    from guildlog.services import hot_items
    from guildlog.services.event_ids import event_id
    from guildlog.services.ingest import Ingestor
    from guildlog.services.normalize import normalize

    store = DynamoStore(table, boto3.client("dynamodb"))
    ingestor = Ingestor(S3Archive(bucket, boto3.client("s3")), store, default_retention_days=3650)
    frames = [json.loads(line) for line in SESSION.read_text(encoding="utf-8").splitlines() if line.strip()]
    events = [
        {"t": f["t"], "seq": f["s"], "received_at": f["received_at"], "d": f["d"]} for f in frames if f.get("op") == 0
    ]
    body = {"v": 1, "batch_id": "demo", "relay": {"shard": [0, 1], "session_id": "demo"}, "events": events}
    ingestor.ingest(Envelope.model_validate(body), events)
    guild = next(e["d"]["id"] for e in events if e["t"] == "GUILD_CREATE")
    synthetic = gateway_events(3000, seed=11, guilds=1)
    envelope = Envelope.model_validate(
        {"v": 1, "batch_id": "synthetic", "relay": {"shard": [0, 1], "session_id": "synthetic"}, "events": synthetic}
    )
    items: list[dict[str, Any]] = []
    for event in envelope.events:
        row = normalize(event, event_id=event_id(event, envelope), batch_id="synthetic", shard_id=0)
        if row.guild_id:  # into the demo's guild, so its searches page through them
            row = row.model_copy(update={"guild_id": guild})
        ttl = hot_items.expires_at(row, 3650)
        items += [hot_items.feed_item(row, ttl), *hot_items.message_items(row, ttl)]
    store.put_items(items)
    deleted = next(e["d"]["id"] for e in reversed(events) if e["t"] == "MESSAGE_DELETE")
    author = next(e["d"]["author"]["id"] for e in events if e["t"] == "MESSAGE_CREATE" and e["d"]["id"] == deleted)
    return guild, deleted, author


def _snowflake() -> str:
    _snowflake.n = getattr(_snowflake, "n", 0) + 1  # type: ignore[attr-defined]
    return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (_snowflake.n % 4096))  # type: ignore[attr-defined]


def _command(guild: str, moderator: str, name: str, sub: str, options: dict[str, Any]) -> dict[str, Any]:
    leaf = [{"name": k, "type": 6 if k == "user" else 3, "value": v} for k, v in options.items()]
    data: dict[str, Any] = {"id": "1", "name": name, "type": 1, "options": [{"name": sub, "type": 1, "options": leaf}]}
    if "user" in options:
        user = options["user"]
        data["resolved"] = {"users": {user: {"id": user, "username": "u"}}, "members": {user: {"roles": []}}}
    return {
        "id": _snowflake(),
        "application_id": "1300000000000000001",
        "type": 2,
        "token": "bench-token",
        "guild_id": guild,
        "channel_id": guild,
        "member": {"user": {"id": moderator, "username": "mod"}, "permissions": str(1 << 5)},
        "data": data,
    }


def _event(signer: Any, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode("utf-8")
    headers = {k.lower(): v for k, v in signer.headers(body).items()}
    return {
        "version": "2.0",
        "routeKey": "POST /interactions",
        "rawPath": "/interactions",
        "headers": {"content-type": "application/json", **headers},
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/interactions", "sourceIp": "127.0.0.1"}},
    }


def _timed(handler: Callable[..., Any], make: Callable[[], dict[str, Any]], runs: int) -> list[float]:
    handler(make(), _Context())  # warm: the first command builds the clients
    samples = []
    for _ in range(runs):
        event = make()
        started = time.perf_counter()
        answer = handler(event, _Context())
        samples.append((time.perf_counter() - started) * 1000)
        assert answer["statusCode"] == 200, answer
    return samples


def handler_times(runs: int = RUNS) -> dict[str, list[float]]:
    import boto3
    from moto import mock_aws

    from guildlog.adapters.signatures import Signer, generate_keypair
    from guildlog.handlers import interactions as handler_module
    from guildlog_tools.local.template import load_template, table_definition

    keys = generate_keypair()
    signer = Signer(keys.private_key)
    with mock_aws():
        boto3.client("dynamodb").create_table(**{**table_definition(load_template()), "TableName": "bench"})
        boto3.client("s3").create_bucket(Bucket="bench-archive")
        secret = boto3.client("secretsmanager").create_secret(Name="bench-bot-token", SecretString="bench-token")
        os.environ.update(
            {
                "GUILDLOG_TABLE_NAME": "bench",
                "GUILDLOG_BUCKET_NAME": "bench-archive",
                "GUILDLOG_DISCORD_PUBLIC_KEY": keys.public_key,
                "GUILDLOG_BOT_TOKEN_SECRET_ARN": secret["ARN"],
                "GUILDLOG_WORKER_FUNCTION": "bench-worker",
                "GUILDLOG_NOW": "2026-11-20T00:29:00Z",
            }
        )
        guild, deleted, author = _seed("bench", "bench-archive")
        handler_module.default_app.cache_clear()
        handler_module.default_app().invoker = _NoWorker()
        app = _load_app()
        moderator = "286975957401731088"
        ping = {"id": "1", "application_id": "1300000000000000001", "type": 1, "token": "t", "version": 1}
        results = {
            "PING": _timed(app.lambda_handler, lambda: _event(signer, ping), runs),
            "/logs search": _timed(
                app.lambda_handler, lambda: _event(signer, _command(guild, moderator, "logs", "search", {})), runs
            ),
            "/logs search user:": _timed(
                app.lambda_handler,
                lambda: _event(signer, _command(guild, moderator, "logs", "search", {"user": author})),
                runs,
            ),
            "/logs message": _timed(
                app.lambda_handler,
                lambda: _event(signer, _command(guild, moderator, "logs", "message", {"message": deleted})),
                runs,
            ),
        }
        handler_module.default_app.cache_clear()
    return results


_IMPORT_SNIPPETS = {
    "import boto3": "import boto3",
    "interactions module (functions/interactions/app.py)": function_snippet("functions/interactions/app.py"),
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print("== interactions ==")
    print(
        f"Warm handler time in process under moto, {RUNS} signed requests each (demo session + 3,000 synthetic"
        " events; worker hand-over not counted), beside Discord's budget. Moto runs each Query over the whole"
        " partition in Python, so a read costs more here than in DynamoDB:"
    )
    print(f"{'request':<22} {'p50 ms':>8} {'p99 ms':>8} {'budget ms':>10} {'p99 / budget':>13}")
    for name, samples in handler_times().items():
        p50, p99 = _percentile(samples, 0.50), _percentile(samples, 0.99)
        print(f"{name:<22} {p50:>8.2f} {p99:>8.2f} {BUDGET_MS:>10} {p99 / BUDGET_MS:>12.2%}")
    times = import_times(_IMPORT_SNIPPETS)
    boto = times["import boto3"]
    for name, seconds in times.items():
        print(
            f"import time, median of 7 fresh interpreters: {name:<52} {seconds * 1000:7.1f} ms"
            f"  ({seconds / boto:.2f}× boto3; target < 0.50×)"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"(measured {stamp} on {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
