"""The relay → ingest webhook body, protocol v1 (docs/protocol.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROTOCOL_VERSION = 1
# batch_id becomes part of S3 keys: keep it to a safe alphabet and length.
BATCH_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
EVENT_TYPE_PATTERN = r"^[A-Z0-9_]{1,64}$"
MAX_EVENTS_PER_BATCH = 10_000
# Every time guildlog stores lies in [ACCEPTED_FROM, ACCEPTED_UNTIL): Discord's epoch (no snowflake,
# message or receipt is older) up to the end of the Glue tables' partition projection (2015-2099),
# beyond which Athena would never see a row.
ACCEPTED_FROM = datetime(2015, 1, 1, tzinfo=UTC)
ACCEPTED_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
# The Glue columns seq and shard_id are bigint.
MAX_BIGINT = 2**63 - 1
BigInt = Annotated[int, Field(ge=0, le=MAX_BIGINT)]


def accepted_utc(value: datetime) -> datetime:
    """`value` as aware UTC (naive means UTC); ValueError when it falls outside the accepted years.

    An offset can carry year 1 or 9999 off the calendar in UTC (OverflowError): that is bad input
    too, never an error that escapes validation as a 5xx.
    """
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is outside the calendar in UTC") from None
    if not ACCEPTED_FROM <= moment < ACCEPTED_UNTIL:
        raise ValueError(f"time is outside {ACCEPTED_FROM.year}-{ACCEPTED_UNTIL.year - 1}")
    return moment


class RelayInfo(BaseModel):
    """Who sent the batch: the relay's name, shard and gateway session."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="guildlog-relay", max_length=128)
    version: str | None = Field(default=None, max_length=64)
    shard: tuple[BigInt, BigInt] | None = None
    session_id: str | None = Field(default=None, max_length=128)


class EnvelopeEvent(BaseModel):
    """One event as the relay forwards it. `d` is Discord's dispatch data, never reshaped."""

    model_config = ConfigDict(extra="forbid")

    t: str = Field(pattern=EVENT_TYPE_PATTERN)
    seq: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    received_at: datetime
    # "interaction": a slash command answered through the interactions webhook (never on the gateway).
    # "backfill": a message read back from Discord's REST history (services/backfill.py).
    source: Literal["gateway", "import", "relay", "interaction", "backfill"] = "gateway"
    session_id: str | None = Field(default=None, max_length=128)
    shard: tuple[BigInt, BigInt] | None = None
    # Required for events without a gateway (session, seq): imports and the relay's own events.
    id: str | None = Field(default=None, min_length=1, max_length=200)
    d: Any = None

    @field_validator("received_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        return accepted_utc(value)


class Envelope(BaseModel):
    """A signed batch of events: `{"v":1,"batch_id":…,"relay":{…},"events":[…]}`."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    relay: RelayInfo = Field(default_factory=RelayInfo)
    sent_at: datetime | None = None
    events: list[EnvelopeEvent] = Field(max_length=MAX_EVENTS_PER_BATCH)


class RawArchiveLine(BaseModel):
    """One line of `raw/…jsonl.gz`: the event exactly as received, with the batch it came in.

    `redacted`: the paths of the fields whose value was replaced (`d.token`: services.redaction at
    ingest; the retention pass names what it removed). Written only when there are some, so a line
    with nothing redacted is what it always was.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: str
    batch_id: str
    relay: RelayInfo
    event: dict[str, Any]
    redacted: list[str] | None = None

    def line(self) -> str:
        """The archive line: compact JSON, `redacted` only when something was."""
        return self.model_dump_json(exclude=None if self.redacted else {"redacted"})


class QuarantineLine(BaseModel):
    """One line of `quarantine/…jsonl.gz`: an event that could not be normalized, and why."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    batch_id: str
    reason: str
    event: dict[str, Any]
