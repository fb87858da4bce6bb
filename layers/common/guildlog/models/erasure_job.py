"""The message on ForgetQueue: one erasure to run (ours, so extra fields are refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guildlog.models.row import SNOWFLAKE_PATTERN


class ErasureJobMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int = Field(default=1, ge=1, le=1)
    # "member": erase one member in the guild; "guild": delete the guild's data (it removed the bot).
    kind: Literal["member", "guild"] = "member"
    guild_id: str = Field(pattern=SNOWFLAKE_PATTERN)
    user_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)
    job_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    requested_by: str = Field(min_length=1, max_length=32)
    requested_at: str = Field(min_length=20, max_length=32)
    # Who gets the receipt by direct message (the requester); None: kept in the table only.
    notify_user_id: str | None = Field(default=None, pattern=SNOWFLAKE_PATTERN)

    @model_validator(mode="after")
    def _member_named(self) -> ErasureJobMessage:
        if self.kind == "member" and self.user_id is None:
            raise ValueError("a member's erasure names the member (user_id)")
        return self
