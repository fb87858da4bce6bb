"""The relay's health server on loopback: /healthz semantics and /metrics through prometheus_client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from guildlog_relay.health import HealthServer
from guildlog_relay.metrics import ShardStats, ShardView, registry
from guildlog_relay.pipeline import RelayStats


async def _request(port: int, head: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode("latin-1"))
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    top, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


def _serve(ready: list[bool], views: list[ShardView], *requests: str) -> list[tuple[int, dict[str, str], bytes]]:
    async def main() -> list[tuple[int, dict[str, str], bytes]]:
        server = HealthServer(
            "127.0.0.1",
            0,
            health=lambda: (ready[0], {"shards": {"0": {"connected": ready[0]}}}),
            registry=registry(lambda: views),
        )
        await server.start()
        try:
            return [await _request(server.port, head) for head in requests]
        finally:
            await server.stop()

    return asyncio.run(main())


def _view(connected: bool) -> list[ShardView]:
    stats = ShardStats(connected=connected, seq=41)
    stats.events["MESSAGE_CREATE"] = 3
    return [ShardView(0, stats, RelayStats(), spool_batches=0, queue_depth=2, checkpoint_seq=40, limiter_waits=1)]


def _get(path: str, *headers: str) -> str:
    return "".join([f"GET {path} HTTP/1.1\r\nHost: relay\r\n", *(h + "\r\n" for h in headers), "\r\n"])


def test_health_server_answers_200_with_the_shards_when_every_shard_has_a_session() -> None:
    [(status, headers, body)] = _serve([True], _view(True), _get("/healthz"))

    document: Any = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert document == {"ready": True, "shards": {"0": {"connected": True}}}


def test_health_server_answers_503_when_a_shard_has_no_session() -> None:
    [(status, _, body)] = _serve([False], _view(False), _get("/healthz?verbose=1"))

    assert status == 503 and json.loads(body)["ready"] is False


def test_health_server_serves_metrics_prometheus_parses_when_scraped() -> None:
    [(status, headers, body)] = _serve([True], _view(True), _get("/metrics"))

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert samples[("guildlog_relay_events_total", (("shard", "0"), ("type", "MESSAGE_CREATE")))] == 3
    assert samples[("guildlog_relay_queue_depth", (("shard", "0"),))] == 2
    assert int(headers["content-length"]) == len(body)


def test_health_server_serves_openmetrics_when_the_accept_header_asks_for_it() -> None:
    [(status, headers, body)] = _serve(
        [True], _view(True), _get("/metrics", "Accept: application/openmetrics-text; version=1.0.0")
    )

    assert status == 200 and headers["content-type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_health_server_answers_404_405_and_an_empty_head_when_asked_for_anything_else() -> None:
    answers = _serve(
        [True],
        _view(True),
        _get("/elsewhere"),
        "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "HEAD /healthz HTTP/1.1\r\n\r\n",
    )

    assert [a[0] for a in answers] == [404, 405, 200]
    assert answers[2][2] == b"" and int(answers[2][1]["content-length"]) > 0
