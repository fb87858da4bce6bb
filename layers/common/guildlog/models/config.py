"""Per-guild configuration kept in the hot table (`G#<guild>` / `CONFIG`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_RETENTION_DAYS = 30
# Discord takes uploads of 10 MB (more with Nitro or boosts). 25 MB covers most images and short
# clips; a server changes it with `/logs config attachments max_mb:` (at most 100: the copy is held in memory).
DEFAULT_ATTACHMENT_MAX_MB = 25
MAX_ATTACHMENT_MAX_MB = 100
# Flat attributes of the config item, one per key (an UpdateItem SETs or REMOVEs one without
# reading the others): `route#<kind or category>` = log channel, `webhook#<channel>` = "<id>/<token>",
# `error#<channel>` = why posting there stopped.
ROUTE_PREFIX = "route#"
WEBHOOK_PREFIX = "webhook#"
ERROR_PREFIX = "error#"


class GuildConfig(BaseModel):
    """What ingest and the moderation log honour per guild.

    Archive side: ignored channels and disabled categories are still archived raw (and in the S3
    datasets); they are only kept out of the hot table and the counters.

    Log side: `log_channel_id` receives every kind not routed elsewhere by `log_routes` (kind or
    category → channel). `log_ignored_*` keep events out of the log only, never out of the archive;
    bots' message events are left out unless `log_bots`. `delivery` is "bot" (bot messages) or
    "webhook" (a channel webhook the bot creates; its id and token in `webhooks`).
    `log_channel_errors`: channels where Discord answered 403/404; nothing is posted there until the
    configuration of that channel changes.
    """

    model_config = ConfigDict(extra="ignore")

    guild_id: str
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    log_channel_id: str | None = None
    ignored_channels: frozenset[str] = frozenset()
    disabled_categories: frozenset[str] = frozenset()
    log_routes: dict[str, str] = Field(default_factory=dict)
    log_ignored_channels: frozenset[str] = frozenset()
    log_ignored_users: frozenset[str] = frozenset()
    log_ignored_roles: frozenset[str] = frozenset()
    log_bots: bool = False
    delivery: Literal["bot", "webhook"] = "bot"
    webhooks: dict[str, str] = Field(default_factory=dict)
    log_channel_errors: dict[str, str] = Field(default_factory=dict)
    # Attachment copies (services/attachments.py): files of logged messages kept in the archive bucket.
    attachments_copy: bool = True
    attachments_max_mb: int = Field(default=DEFAULT_ATTACHMENT_MAX_MB, ge=1, le=MAX_ATTACHMENT_MAX_MB)
    # Channels and categories never recorded (`/logs config privacy`): their events are dropped at
    # ingest, before the archive or the hot table sees them (services/privacy.py).
    unrecorded_channels: frozenset[str] = frozenset()
    # What the nightly pass does to archive lines older than `retention_days` (`/logs config archive`):
    # "everything" deletes them, "content-only" keeps the facts (who, when, where, counts).
    archive_mode: Literal["content-only", "everything"] = "everything"

    @model_validator(mode="before")
    @classmethod
    def _from_item(cls, data: Any) -> Any:
        """Gather the item's flat `route#…`, `webhook#…` and `error#…` attributes into their maps."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for prefix, target in (
            (ROUTE_PREFIX, "log_routes"),
            (WEBHOOK_PREFIX, "webhooks"),
            (ERROR_PREFIX, "log_channel_errors"),
        ):
            found = {k[len(prefix) :]: str(v) for k, v in data.items() if isinstance(k, str) and k.startswith(prefix)}
            if found:
                out[target] = {**found, **(data.get(target) or {})}
        if out.get("delivery") not in (None, "bot", "webhook"):
            out["delivery"] = "bot"
        if out.get("archive_mode") not in (None, "content-only", "everything"):
            out["archive_mode"] = "everything"
        return out

    @property
    def logs_anything(self) -> bool:
        return bool(self.log_channel_id or self.log_routes)
