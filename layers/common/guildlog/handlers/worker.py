"""WorkerFunction's path: an async-invoke event → one job (follow-up, then the command's log entry)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from guildlog.adapters.worker_invoker import job_from_event
from guildlog.services.commands.context import Ports
from guildlog.services.commands.worker import CommandLog, FollowupSender, JobOutcome, run_job


@lru_cache(maxsize=1)
def default_worker() -> tuple[Ports, FollowupSender, CommandLog]:
    """The composition root: built on the first job of a container, never at import time."""
    from guildlog.adapters.command_store import CommandStore
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.adapters.s3_attachments import S3AttachmentStore
    from guildlog.adapters.s3_exports import S3ArchiveRows, S3ExportStore
    from guildlog.adapters.secrets import BotTokenSecret
    from guildlog.handlers.interactions import services_clock
    from guildlog.handlers.settings import Settings
    from guildlog.services.commands.cursor import HmacCursorCodec, derive_key
    from guildlog.services.directory import Directory
    from guildlog.services.exports import Exporter
    from guildlog.services.ingest import Ingestor

    settings = Settings.from_env()
    bot_token = BotTokenSecret(settings.bot_token_secret_arn)
    ports = Ports(
        reader=HotReader(settings.table_name),
        config=CommandStore(settings.table_name),
        cursors=HmacCursorCodec(lambda: derive_key(bot_token.value())),
        default_retention_days=settings.retention_days,
        now=services_clock(settings.now),
        exporter=Exporter(
            S3ArchiveRows(settings.bucket_name),
            S3ExportStore(settings.bucket_name),
            names=DynamoStore(settings.table_name),
            copies=S3AttachmentStore(settings.bucket_name),
        ),
        archive=_archive_lookup(settings),
        attachment_links=S3AttachmentStore(settings.bucket_name),
    )
    # Follow-ups are authorised by the interaction token: the worker needs no bot token for them.
    discord = DiscordRest(settings.discord_api_base, clock=services_clock(settings.now))
    store = DynamoStore(settings.table_name)
    ingestor = Ingestor(
        S3Archive(settings.bucket_name),
        store,
        default_retention_days=settings.retention_days,
        directory=Directory(store),
    )
    return ports, discord, ingestor


def _archive_lookup(settings: Any) -> Any:
    """The archive look-up of `/logs message`, when the stack names Athena's workgroup and database."""
    from guildlog.adapters.athena import AthenaQueryRunner
    from guildlog.services.archive_lookup import ArchiveLookup

    if not settings.athena_workgroup or not settings.archive_database:
        return None
    # The answer must be sent within the interaction token's 15 minutes; a look-up reads two days.
    return ArchiveLookup(AthenaQueryRunner(settings.athena_workgroup, settings.archive_database, timeout=300.0))


def handle_job(event: Any, worker: tuple[Ports, FollowupSender, CommandLog] | None = None) -> JobOutcome:
    """Run the job in `event`. Raises StorageError when logging fails, so Lambda retries the invoke."""
    ports, discord, command_log = worker or default_worker()
    return run_job(job_from_event(event), ports=ports, discord=discord, command_log=command_log, clock=ports.now)


def handle_web_export(event: Any, worker: tuple[Ports, FollowupSender, CommandLog] | None = None) -> str:
    """Run an export the web viewer started (models.web_export_job); "stored" or "refused"."""
    from guildlog.models.web_export_job import WebExportJob
    from guildlog.services.exports.web_job import run_web_export

    ports, _, _ = worker or default_worker()
    return run_web_export(WebExportJob.model_validate(event), ports.exporter)
