"""Where batches go: the same ingest path as the relay. `WebhookSink` POSTs them signed to a
stack's ingest webhook; `IngestorSink` hands them to the ingest service directly (the local stack,
the tests). Both send the same body, so an import is one path whatever its target."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from guildlog import __version__
from guildlog.errors import StorageError
from guildlog.models.envelope import PROTOCOL_VERSION

RELAY_NAME = "guildlog-import"


@dataclass(frozen=True)
class Counts:
    """The ingest webhook's answer for one batch."""

    accepted: int
    duplicates: int
    quarantined: int


class Sink(Protocol):
    def send(self, batch_id: str, body: bytes) -> Counts: ...


def batch_id(events: list[dict[str, Any]]) -> str:
    """The batch's id from its events' ids: the same events always make the same batch (and the
    same archive objects), whichever run sends them."""
    digest = hashlib.sha256("\n".join(str(e["id"]) for e in events).encode("utf-8")).hexdigest()
    return f"import-{digest[:40]}"


def envelope_body(batch: str, events: list[dict[str, Any]]) -> bytes:
    """The protocol v1 body of a batch (docs/protocol.md), as the relay sends it."""
    body = {
        "v": PROTOCOL_VERSION,
        "batch_id": batch,
        "relay": {"name": RELAY_NAME, "version": __version__},
        "events": events,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def counts_of(answer: dict[str, Any]) -> Counts:
    def number(key: str) -> int:
        value = answer.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return Counts(number("accepted"), number("duplicates"), number("quarantined"))


class IngestorSink:
    """The ingest service in this process: the body is parsed and validated exactly as the webhook does."""

    def __init__(self, ingestor: Any) -> None:
        self.ingestor = ingestor

    def send(self, batch_id: str, body: bytes) -> Counts:
        from guildlog.services.webhook_body import parse_envelope

        envelope, raw_events = parse_envelope(body)
        return counts_of(self.ingestor.ingest(envelope, raw_events).answer())


class WebhookSink:
    """A stack's ingest webhook through the relay's poster (signing, gzip, retries with backoff)."""

    def __init__(self, poster: Any) -> None:
        self.poster = poster

    def send(self, batch_id: str, body: bytes) -> Counts:
        from guildlog_relay.poster import Outcome

        result = self.poster.post(batch_id, body)
        if result.outcome is Outcome.ACCEPTED:
            return counts_of(result.answer)
        raise StorageError(
            "the ingest webhook did not take a batch; run the same command again to resume",
            batch_id=batch_id,
            outcome=result.outcome.value,
            status=result.status,
            error=result.detail,
        )
