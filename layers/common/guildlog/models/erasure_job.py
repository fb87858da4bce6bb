"""The message on ForgetQueue: one erasure to run (ours, so extra fields are refused)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from guildlog.models.row import SNOWFLAKE_PATTERN


class ErasureJobMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int = Field(default=1, ge=1, le=1)
    guild_id: str = Field(pattern=SNOWFLAKE_PATTERN)
    user_id: str = Field(pattern=SNOWFLAKE_PATTERN)
    job_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    requested_by: str = Field(min_length=1, max_length=32)
    requested_at: str = Field(min_length=20, max_length=32)
    # Who gets the receipt by direct message (the requester); None: kept in the table only.
    notify_user_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
