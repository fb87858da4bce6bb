"""The relay pipeline into the real ingest on the embedded stack, through a proxy that fails:
500s, 503s, timeouts, and answers lost after ingest already wrote. Nothing may be lost, and the hot
table must hold each logical item once."""

from __future__ import annotations

import gzip
import json
import threading
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.signatures import Signer
from guildlog.services import keys
from guildlog.services.commands.stats import day_counters
from guildlog_relay.batcher import Batcher
from guildlog_relay.pipeline import Pipeline
from guildlog_relay.poster import Poster, RetryPolicy
from guildlog_relay.replay import run_replay
from guildlog_relay.spool import Spool
from guildlog_tools.local.stack import LocalStack
from tests.fakes.webhook import wait_until_client_hangs_up

pytestmark = pytest.mark.integration

GUILD = "810000000000000001"
CHANNEL = "810000000000000002"
EVENTS = 60
# The poster's timeout: a "stall" outlasts it whatever its length (the proxy answers only once the
# client hung up), and ingest on the local stack answers well within it even on a loaded machine.
CLIENT_TIMEOUT_S = 5.0
# An upper bound for the archive queue to empty on a busy machine; never reached when things work.
DRAIN_S = 120.0


class FaultyProxy:
    """Forwards POSTs to `target`, but answers the first requests as `script` says:
    an int status, "stall" (answered only after the client gave up waiting), "lost-500" (forward, then answer 500:
    ingest wrote, the relay thinks it failed) or "lost-drop" (forward, then hang up)."""

    def __init__(self, target: str, script: list[Any]) -> None:
        self.target = target
        self.script = list(script)
        self.lock = threading.Lock()
        self.statuses: list[Any] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with proxy.lock:
                    step = proxy.script.pop(0) if proxy.script else "forward"
                    proxy.statuses.append(step)
                if isinstance(step, int):
                    return self._answer(step, b'{"error":"injected"}')
                if step == "stall":
                    wait_until_client_hangs_up(self.connection)
                    return self._answer(503, b'{"error":"late"}')
                status, answer = proxy.forward(body, dict(self.headers))
                if step == "lost-500":
                    return self._answer(500, b'{"error":"answer lost"}')
                if step == "lost-drop":
                    self.close_connection = True
                    self.connection.close()
                    return None
                return self._answer(status, answer)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gateway/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        keep = {
            k: v
            for k, v in headers.items()
            if k.lower() in ("content-type", "content-encoding") or k.lower().startswith("x-signature")
        }
        request = urllib.request.Request(self.target, data=body, headers=keep, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def recording(path: Path) -> Path:
    """EVENTS message creates from the last hour (inside the hot retention), with a READY first."""
    start = datetime.now(UTC) - timedelta(hours=1)
    lines = [
        json.dumps(
            {
                "op": 0,
                "t": "READY",
                "s": 1,
                "d": {"session_id": "faultsession", "v": 10},
                "received_at": start.isoformat(),
            }
        )
    ]
    for n in range(2, EVENTS + 2):
        moment = start + timedelta(seconds=n)
        message_id = str(((int(moment.timestamp() * 1000) - 1_420_070_400_000) << 22) + n)
        data = {
            "id": message_id,
            "channel_id": CHANNEL,
            "guild_id": GUILD,
            "content": f"message {n}",
            "timestamp": moment.isoformat(),
            "author": {"id": "810000000000000003", "username": "ada"},
        }
        lines.append(json.dumps({"op": 0, "t": "MESSAGE_CREATE", "s": n, "d": data, "received_at": moment.isoformat()}))
    path.write_text("\n".join(lines) + "\n")
    return path


def query_all(stack: LocalStack, **kwargs: Any) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items, start = [], None
    while True:
        page = ddb.query(TableName=stack.table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


@pytest.mark.parametrize(
    "script",
    [
        [500, 503, "stall", 502, 500],
        ["lost-500", "lost-drop", 503, "lost-500"],
    ],
    ids=["failures_before_ingest", "answers_lost_after_ingest_wrote"],
)
def test_pipeline_into_stack_loses_nothing_and_duplicates_nothing_when_webhook_fails_then_recovers(
    tmp_path: Path, script: list[Any]
) -> None:
    with LocalStack(dev_file=tmp_path / "dev.json") as stack, FaultyProxy(stack.gateway_events_url, script) as proxy:
        assert stack.keys is not None
        poster = Poster(
            proxy.url,
            Signer(stack.keys.relay_private_key),
            policy=RetryPolicy(max_retries=8, base_delay=0.001, max_delay=0.01),
            timeout=CLIENT_TIMEOUT_S,
        )
        pipeline = Pipeline(
            spool=Spool(tmp_path / "spool"), poster=poster, batcher=Batcher(max_events=10, max_age_ms=60_000)
        )

        session = recording(tmp_path / "session.jsonl")
        result = run_replay(session, pipeline)

        assert result.ok, result.errors
        assert proxy.statuses[: len(script)] == script  # every fault was really served
        feed = query_all(
            stack,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
            ExpressionAttributeValues={":pk": {"S": keys.guild_pk(GUILD)}, ":e": {"S": keys.FEED_FIRST}},
        )
        ids = Counter(item["event_id"]["S"] for item in feed)
        frames = [json.loads(line) for line in session.read_text().splitlines()]
        sent = [f"msg:{frame['d']['id']}" for frame in frames if frame["t"] == "MESSAGE_CREATE"]
        assert len(sent) == EVENTS and sorted(ids) == sorted(sent)
        assert set(ids.values()) == {1}
        days = {item["occurred_at"]["S"][:10] for item in feed}
        reader = HotReader(stack.table, stack.client("dynamodb"))
        # Batches under 50 events hand their counters to ArchiveFunction: they are in once the queues drained.
        assert stack.drain(DRAIN_S)
        assert sum(day_counters(reader, GUILD, day)["messages"] for day in days) == EVENTS
        s3 = stack.client("s3")
        raw_seqs: Counter[int] = Counter()
        for obj in s3.list_objects_v2(Bucket=stack.bucket, Prefix="raw/").get("Contents", []):
            blob = s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read()
            for line in gzip.decompress(blob).decode().splitlines():
                raw_seqs[json.loads(line)["event"]["seq"]] += 1
        assert sorted(raw_seqs) == list(range(1, EVENTS + 2))
        assert set(raw_seqs.values()) == {1}
