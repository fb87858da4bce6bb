"""The normalized event row: one model behind the JSON-lines keys, the CSV header and the Glue columns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["message", "member", "moderation", "server", "voice", "command", "relay", "other"]
CATEGORIES: tuple[str, ...] = ("message", "member", "moderation", "server", "voice", "command", "relay", "other")
SNOWFLAKE_PATTERN = r"^[0-9]{15,21}$"
Snowflake = str  # validated with SNOWFLAKE_PATTERN where it enters a row


class EventRow(BaseModel):
    """One normalized event. Field order is column order in CSV and Glue; every field is a scalar.

    Times are ISO-8601 UTC strings with milliseconds and a `Z` (sortable, and parsed by both
    Athena's `from_iso8601_timestamp` and DuckDB). `details` is a compact JSON object of the
    type-specific facts that have no column of their own. `changes` is a compact JSON object of
    what an update changed, `{"<field>": {"before": …, "after": …}, "unknown": [fields whose
    before is unknown]}` ("unknown" omitted when empty), None for events that change nothing.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: str
    batch_id: str
    source: str
    event_type: str
    category: Category
    action: str
    occurred_at: str
    received_at: str
    seq: int | None = None
    shard_id: int | None = None
    guild_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    channel_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    user_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    actor_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    target_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    message_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    user_name: str | None = None
    content: str | None = None
    reason: str | None = None
    attachments: str | None = None
    details: str = "{}"
    # Last, so CSV objects written before it existed still line up column by column.
    changes: str | None = None


# (name, Glue/Athena type) in column order: the template's tables and the tests derive from this.
def row_columns() -> list[tuple[str, str]]:
    """Column names and Athena types, in model field order."""
    athena_types = {int: "bigint", str: "string"}
    columns = []
    for name, field in EventRow.model_fields.items():
        annotation = field.annotation
        base = int if annotation in (int, int | None) else str
        columns.append((name, athena_types[base]))
    return columns


ROW_FIELDS: tuple[str, ...] = tuple(EventRow.model_fields)
