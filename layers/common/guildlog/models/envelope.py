"""The relay → ingest webhook body, protocol v1 (docs/protocol.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROTOCOL_VERSION = 1
# batch_id becomes part of S3 keys: keep it to a safe alphabet and length.
BATCH_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
EVENT_TYPE_PATTERN = r"^[A-Z0-9_]{1,64}$"
MAX_EVENTS_PER_BATCH = 10_000


class RelayInfo(BaseModel):
    """Who sent the batch: the relay's name, shard and gateway session."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="guildlog-relay", max_length=128)
    version: str | None = Field(default=None, max_length=64)
    shard: tuple[int, int] | None = None
    session_id: str | None = Field(default=None, max_length=128)


class EnvelopeEvent(BaseModel):
    """One event as the relay forwards it. `d` is Discord's dispatch data, never reshaped."""

    model_config = ConfigDict(extra="forbid")

    t: str = Field(pattern=EVENT_TYPE_PATTERN)
    seq: int | None = Field(default=None, ge=0)
    received_at: datetime
    # "interaction": a slash command answered through the interactions webhook (never on the gateway).
    source: Literal["gateway", "import", "relay", "interaction"] = "gateway"
    session_id: str | None = Field(default=None, max_length=128)
    shard: tuple[int, int] | None = None
    # Required for events without a gateway (session, seq): imports and the relay's own events.
    id: str | None = Field(default=None, min_length=1, max_length=200)
    d: Any = None

    @field_validator("received_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Envelope(BaseModel):
    """A signed batch of events: `{"v":1,"batch_id":…,"relay":{…},"events":[…]}`."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    relay: RelayInfo = Field(default_factory=RelayInfo)
    sent_at: datetime | None = None
    events: list[EnvelopeEvent] = Field(max_length=MAX_EVENTS_PER_BATCH)


class RawArchiveLine(BaseModel):
    """One line of `raw/…jsonl.gz`: the event exactly as received, with the batch it came in."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    batch_id: str
    relay: RelayInfo
    event: dict[str, Any]


class QuarantineLine(BaseModel):
    """One line of `quarantine/…jsonl.gz`: an event that could not be normalized, and why."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    batch_id: str
    reason: str
    event: dict[str, Any]
