"""The functions' environment, validated once per container (explicit argument > environment > default)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guildlog.errors import ConfigurationError
from guildlog.handlers.environment import variable


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str = Field(min_length=3)
    bucket_name: str = Field(min_length=3)
    relay_public_key: str = Field(default="", pattern=r"^([0-9a-fA-F]{64})?$")
    discord_public_key: str = Field(default="", pattern=r"^([0-9a-fA-F]{64})?$")
    application_id: str = ""
    retention_days: int = Field(default=30, ge=1, le=3650)
    # CompactFunction: the stack's cap on every guild's archive retention (ArchiveMaxRetentionDays).
    archive_max_retention_days: int = Field(default=3650, ge=1, le=36500)
    bot_token_secret_arn: str = ""
    discord_api_base: str = "https://discord.com/api/v10"
    # InteractionsFunction hands deferred answers and command logging to this function (async invoke).
    worker_function: str = ""
    # IngestFunction hands rows for the moderation log to NotifyFunction through this SQS FIFO queue.
    notify_queue_url: str = ""
    # IngestFunction hands each relay gap to GapRepairFunction through this SQS queue.
    gap_repair_queue_url: str = ""
    # IngestFunction hands each batch's archive lines to ArchiveFunction through this SQS queue.
    archive_queue_url: str = ""
    # ArchiveFunction: minutes a quiet stack's lines may wait on that queue before they are written
    # (ArchiveHoldMinutes; 0 writes every batching window). services/archive_batches.py: Hold.
    archive_hold_minutes: int = Field(default=0, ge=0, le=60)
    # WebFunction: the OAuth2 client secret of the Discord application, and the session cookies' key.
    oauth_client_secret_arn: str = ""
    web_session_secret_arn: str = ""
    # WorkerFunction: where /logs message looks for a message past the hot table (Athena's workgroup and Glue database).
    athena_workgroup: str = ""
    archive_database: str = ""
    # Attachment copies: IngestFunction queues them here; AttachmentCopyFunction fetches from this CDN base.
    attachment_queue_url: str = ""
    discord_cdn_base: str = Field(default="https://cdn.discordapp.com", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    # WebFunction: how long a member's viewer role, once checked with Discord, is trusted (web.roles).
    web_role_recheck_seconds: int = Field(default=300, ge=0, le=3600)
    # Days a guild's data is kept after it removed the bot; the SQS queue of erasure jobs.
    guild_deletion_grace_days: int = Field(default=30, ge=0, le=3650)
    forget_queue_url: str = ""
    # InteractionsFunction: how long after a batch is accepted its archive lines may still be written
    # (ArchiveFunction's batching window and timeout). An erasure job waits that long too, so no line
    # queued before the tombstone lands after the job has rewritten the archive. The local stack's
    # archive poller writes as soon as its queue runs dry: 0.
    archive_settle_seconds: int = Field(default=0, ge=0, le=780)
    # Local stack only: the instant the command services take as now (the demo pins it to its recording).
    now: str = Field(default="", pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?Z)?$")
    # Local stack only: seconds a command may take before it is deferred (0: the Lambda default).
    # Moto answers far slower than DynamoDB, so the demo waits longer to show every answer inline.
    defer_after: float = Field(default=0.0, ge=0.0, le=60.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {name: env[variable(name)] for name in cls.model_fields if variable(name) in env}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            names = sorted({variable(str(e["loc"][0])) for e in exc.errors()})
            raise ConfigurationError("invalid or missing settings", variables=names) from None
