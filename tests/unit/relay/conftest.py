"""Shared pieces of the relay unit tests: events, a signer and a scripted HTTP transport (no network)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.adapters.signatures import KeyPair, Signer, generate_keypair
from guildlog_relay.events import RelayEvent
from guildlog_relay.poster import Poster, Response, RetryPolicy

EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="session")
def keypair() -> KeyPair:
    return generate_keypair()


@pytest.fixture
def signer(keypair: KeyPair) -> Signer:
    return Signer(keypair.private_key)


@pytest.fixture
def make_event() -> Callable[..., RelayEvent]:
    def make(seq: int, *, t: str = "MESSAGE_CREATE", session: str = "sess1", d: Any = None, at: float = 0.0):
        data = {"id": str(10**17 + seq), "content": f"message {seq}"} if d is None else d
        return RelayEvent(
            t=t, d=data, received_at=datetime.fromtimestamp(EPOCH + at, tz=UTC), seq=seq, session_id=session
        )

    return make


class FakeTransport:
    """Answers from a script (status ints, Response objects or exceptions), then 200 with counts.

    `call` records every request; `on_call(body)` may return an answer instead of the script."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self.on_call: Callable[[dict[str, Any]], Any] | None = None

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        envelope = json.loads(gzip.decompress(body)) if headers.get("Content-Encoding") == "gzip" else json.loads(body)
        call = {"url": url, "body": body, "headers": dict(headers), "envelope": envelope}
        self.calls.append(call)
        answer = self.on_call(call) if self.on_call else None
        if answer is None and self.script:
            answer = self.script.pop(0)
        if answer is None:
            answer = 200
        if isinstance(answer, BaseException):
            call["status"] = None
            raise answer
        if isinstance(answer, int):
            payload: dict[str, Any] = {"error": "scripted"}
            if answer == 200:
                payload = {"batch_id": envelope["batch_id"], "accepted": len(envelope["events"]), "duplicates": 0}
                payload["quarantined"] = 0
            answer = Response(answer, {}, json.dumps(payload).encode())
        call["status"] = answer.status
        return answer

    @property
    def batch_ids(self) -> list[str]:
        return [c["envelope"]["batch_id"] for c in self.calls]

    def delivered(self) -> list[dict[str, Any]]:
        """Envelopes of the calls answered 200, in order."""
        return [c["envelope"] for c in self.calls if c["status"] == 200]

    def delivered_seqs(self) -> list[int]:
        return [e["seq"] for envelope in self.delivered() for e in envelope["events"]]


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_poster(signer: Signer, transport: FakeTransport, sleeps: list[float]) -> Callable[..., Poster]:
    def make(**policy: Any) -> Poster:
        settings = {"max_retries": 3, "base_delay": 0.01, "max_delay": 0.05, **policy}
        return Poster(
            "https://ingest.example/gateway/events",
            signer,
            policy=RetryPolicy(**settings),
            transport=transport,
            sleep=sleeps.append,
        )

    return make
