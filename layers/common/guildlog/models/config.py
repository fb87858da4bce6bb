"""Per-guild configuration kept in the hot table (`G#<guild>` / `CONFIG`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_RETENTION_DAYS = 30


class GuildConfig(BaseModel):
    """What ingest honours per guild. Ignored channels and disabled categories are still archived
    raw (and in the S3 datasets); they are only kept out of the hot table and the counters."""

    model_config = ConfigDict(extra="ignore")

    guild_id: str
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    log_channel_id: str | None = None
    ignored_channels: frozenset[str] = frozenset()
    disabled_categories: frozenset[str] = frozenset()
