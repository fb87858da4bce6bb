"""A fake ingest webhook on 127.0.0.1 for relay tests.

It does what the real one promises at the protocol level — verifies the Ed25519 signature with
`verify_request`, inflates gzip, validates the body as an `Envelope`, answers 200 with
`{batch_id, accepted, duplicates, quarantined}` (duplicates by event id) — and can be scripted to
fail: a status (500, 503 with Retry-After, 413…), a stall that outlasts the client's timeout (the
answer waits until the client hangs up, however long that takes), or a hold that blocks requests
until the test releases them.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError

from guildlog.adapters.signatures import verify_request
from guildlog.errors import SignatureError
from guildlog.models.envelope import Envelope


@dataclass(frozen=True)
class Answer:
    """A scripted answer: `status` (with `headers`); with `stall`, only once the client gave up waiting."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False


# How long a stalled answer waits for the client to hang up: far beyond any client timeout a test sets.
CLIENT_PATIENCE_S = 120.0


def wait_until_client_hangs_up(connection: socket.socket, patience: float = CLIENT_PATIENCE_S) -> None:
    """Block until the peer closes `connection` (its timeout fired), or `patience` passes.

    A stall that sleeps a fixed time races the client's timeout on a loaded machine; waiting for
    the hang-up itself makes "the answer came too late" true by construction."""
    readable, _, _ = select.select([connection], [], [], patience)
    if readable:
        with contextlib.suppress(OSError):
            connection.recv(1, socket.MSG_PEEK)


@dataclass(frozen=True)
class Request:
    """One request the fake received, whatever it answered."""

    batch_id: str | None
    status: int


@dataclass(frozen=True)
class Delivery:
    """One accepted batch: its id and its events as they arrived."""

    batch_id: str
    envelope: Envelope

    @property
    def seqs(self) -> list[int | None]:
        return [e.seq for e in self.envelope.events]


def event_id(event: Any) -> str:
    """The ingest's identity of an event (docs/design.md, Event ids) for the sources the relay sends."""
    if event.id is not None:
        return f"{event.source}:{event.id}"
    return f"gw:{event.session_id}:{event.seq}"


class FakeWebhook:
    """Use as a context manager; `url` is the `/gateway/events` endpoint."""

    def __init__(self, public_key: str, *, max_events: int | None = None) -> None:
        self.public_key = public_key
        # Batches with more events than this get 413, as a body over the size cap would.
        self.max_events = max_events
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self.seen: set[str] = set()
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        self._hold_from: int | None = None
        self.holding = threading.Event()  # set while a request is being held
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        # A short poll interval so that leaving the `with` block does not wait half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-webhook", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/gateway/events"

    def __enter__(self) -> FakeWebhook:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def script(self, *answers: Answer | int) -> None:
        """Answer the next requests that pass verification with these, in order, then normally."""
        with self._lock:
            self._script.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    def hold_from(self, request_number: int) -> None:
        """Block the `request_number`-th request (1-based) and every later one until `release()`."""
        self._hold_from = request_number

    def release(self) -> None:
        self._hold_from = None
        self._release.set()

    @property
    def delivered_ids(self) -> list[str]:
        return [d.batch_id for d in self.deliveries]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_POST(self) -> None:  # noqa: N802 - the base class's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer, batch_id = fake._handle(self.path, dict(self.headers.items()), raw)
                if isinstance(answer, Answer) and answer.stall:
                    wait_until_client_hangs_up(self.connection)
                headers = answer.headers if isinstance(answer, Answer) else {}
                body = json.dumps(answer if isinstance(answer, dict) else {"error": "scripted failure"}).encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a stall outlasted its timeout)

        return Handler

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, str | None]:
        with self._lock:
            number = len(self.requests) + 1
            held = self._hold_from is not None and number >= self._hold_from
            # Reserve the slot now so request numbers follow arrival order.
            self.requests.append(Request(None, 0))
        if held:
            self.holding.set()
            self._release.wait()
            return self._record(number, None, 503, {"error": "held"})
        if path != "/gateway/events":
            return self._record(number, None, 404, {"error": "not found"})
        try:
            verify_request(raw, headers, self.public_key)
        except SignatureError as exc:
            return self._record(number, None, 401, {"error": exc.message})
        body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as exc:
            return self._record(number, None, 400, {"error": f"malformed envelope: {exc.error_count()} errors"})
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            return self._record(number, envelope.batch_id, scripted.status, scripted)
        if self.max_events is not None and len(envelope.events) > self.max_events:
            return self._record(number, envelope.batch_id, 413, {"error": "body too large"})
        with self._lock:
            ids = [event_id(e) for e in envelope.events]
            duplicates = sum(1 for i in ids if i in self.seen)
            self.seen.update(ids)
            self.deliveries.append(Delivery(envelope.batch_id, envelope))
        answer = {
            "batch_id": envelope.batch_id,
            "accepted": len(ids) - duplicates,
            "duplicates": duplicates,
            "quarantined": 0,
        }
        return self._record(number, envelope.batch_id, 200, answer)

    def _record(self, number: int, batch_id: str | None, status: int, answer: Any) -> tuple[int, Any, str | None]:
        with self._lock:
            self.requests[number - 1] = Request(batch_id, status)
        return status, answer, batch_id
