"""`--health-port`: `/healthz` (200 when every shard has a session, else 503) and `/metrics`.

A deliberately small HTTP/1.1 server on asyncio streams: GET only, one request per connection,
no request body, nothing but these two paths. It runs in the relay's event loop, so a scrape reads
the counters between two gateway frames, never halfway through one (prometheus_client's own
servers run on a thread of their own). `/metrics` is prometheus_client's exposition of the relay's
registry, in the format the scraper's Accept header asks for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from guildlog_relay.metrics import exposition

log = logging.getLogger(__name__)

_MAX_REQUEST_BYTES = 8 * 1024
_READ_TIMEOUT_S = 5.0


class HealthServer:
    """Serves `health()` (ready, details) as /healthz and `registry` as /metrics."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        registry: CollectorRegistry,
    ) -> None:
        self.host = host
        self.port = port
        self.health = health
        self.registry = registry
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
            if len(head) > _MAX_REQUEST_BYTES:
                raise ValueError("request too large")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target = request_line.split(" ")[:2]
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, UnicodeDecodeError):
            writer.close()
            return
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            status, body, kind = 405, b"method not allowed\n", "text/plain; charset=utf-8"
        elif path == "/healthz":
            ready, details = self.health()
            status = 200 if ready else 503
            body, kind = (json.dumps({"ready": ready, **details}) + "\n").encode(), "application/json"
        elif path == "/metrics":
            accept = next(
                (v.strip() for k, _, v in (h.partition(":") for h in header_lines) if k.strip().lower() == "accept"),
                None,
            )
            body, kind = exposition(self.registry, accept)
            status = 200
        else:
            status, body, kind = 404, b"not found\n", "text/plain; charset=utf-8"
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
        header = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        try:
            writer.write(header + (body if method == "GET" else b""))
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
