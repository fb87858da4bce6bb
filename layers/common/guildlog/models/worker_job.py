"""What InteractionsFunction hands WorkerFunction (an async invoke's payload). Ours: `extra="forbid"`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WorkerJob(BaseModel):
    """One interaction to log as a `command` event and, with `followup`, to answer by editing @original.

    `interaction` is the interaction as Discord sent it, without its token; `token` travels beside
    it only when the worker must answer (it is valid 15 minutes and is never logged or archived).
    """

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    interaction: dict[str, Any]
    token: str | None = Field(default=None, min_length=1, max_length=1000)
    followup: bool = False
    received_at: datetime

    @field_validator("received_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def __repr__(self) -> str:  # never show the token
        return f"WorkerJob(interaction={self.interaction.get('id')!r}, followup={self.followup})"

    __str__ = __repr__
