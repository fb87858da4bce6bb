"""ForgetFunction's path: erasure jobs from ForgetQueue, and the daily run of the guild deletions that are due."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from guildlog.errors import DiscordApiError, GuildlogError
from guildlog.models.erasure_job import ErasureJobMessage
from guildlog.services.erasure.guild import GuildDeletion
from guildlog.services.erasure.job import ErasureJob, ErasureRequest
from guildlog.services.erasure.receipt import Receipt
from guildlog.services.timefmt import utcnow

log = logging.getLogger(__name__)


@dataclass
class ForgetReport:
    erased: int = 0
    guilds_deleted: int = 0
    failed: list[str] = field(default_factory=list)
    bad: int = 0
    receipts_sent: int = 0


@dataclass
class Forgetter:
    """Everything a run needs, injected (see default_forgetter)."""

    job: ErasureJob
    deletion: GuildDeletion
    send_dm: Callable[[str, str], None] | None = None
    clock: Callable[[], datetime] = utcnow


@lru_cache(maxsize=1)
def default_forgetter() -> Forgetter:
    """The composition root: built on the first invocation of a container, never at import time."""
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.adapters.erasure_store import ErasureStore
    from guildlog.adapters.s3_rewrite import S3VersionedObjects
    from guildlog.adapters.secrets import BotTokenSecret
    from guildlog.handlers.settings import Settings

    settings = Settings.from_env()
    hot = ErasureStore(settings.table_name)
    objects = S3VersionedObjects(settings.bucket_name)
    token = BotTokenSecret(settings.bot_token_secret_arn)
    discord = DiscordRest(settings.discord_api_base, token.value, timeout=8.0, attempts=3)

    def send_dm(user_id: str, text: str) -> None:
        channel = discord.create_dm(user_id)
        discord.create_message(str(channel["id"]), {"content": text[:2000], "allowed_mentions": {"parse": []}})

    return Forgetter(ErasureJob(hot, objects, archive=_archive_queries(settings)), GuildDeletion(hot, objects), send_dm)


def _archive_queries(settings: Any) -> Any:
    """The member's archive days and the verification query, when the stack names Athena's workgroup and
    database (locally, the local stack's Athena API runs them on DuckDB)."""
    from guildlog.adapters.athena import AthenaQueryRunner
    from guildlog.services.erasure.archive_query import ArchiveMemberQueries

    if not settings.athena_workgroup or not settings.archive_database:
        return None
    # Each reads the whole events dataset of the stack; the job has 15 minutes in all.
    return ArchiveMemberQueries(AthenaQueryRunner(settings.athena_workgroup, settings.archive_database, timeout=300.0))


def handle(event: Any, forgetter: Forgetter | None = None) -> tuple[dict[str, Any], ForgetReport]:
    """An SQS batch of erasure jobs (a member's, or a whole guild's that removed the bot) → the
    `batchItemFailures` Lambda expects: the jobs to run again (each is resumable)."""
    run = forgetter or default_forgetter()
    report = ForgetReport()
    for record in (event or {}).get("Records") or []:
        record_id = str(record.get("messageId") or "")
        try:
            message = ErasureJobMessage.model_validate_json(record.get("body") or "")
        except ValidationError:
            report.bad += 1  # never runnable: logged, not sent round until the dead-letter queue
            log.error("not an erasure job", extra={"message_id": record_id})
            continue
        try:
            receipt = _erase(run, message)
        except GuildlogError as exc:
            log.warning("erasure failed", extra={"job_id": message.job_id, "error": exc.message})
            report.failed.append(record_id)
            continue
        if not receipt.verification.clean:
            report.failed.append(record_id)
            continue
        if message.kind == "guild":
            report.guilds_deleted += 1
        else:
            report.erased += 1
        report.receipts_sent += _send(run, message.notify_user_id, receipt)
    return {"batchItemFailures": [{"itemIdentifier": r} for r in report.failed]}, report


def _erase(run: Forgetter, message: ErasureJobMessage) -> Receipt:
    if message.kind == "guild":
        return run.deletion.run(message.guild_id, requested_by=message.requested_by, job_id=message.job_id)
    assert message.user_id is not None
    request = ErasureRequest(
        message.guild_id, message.user_id, message.job_id, message.requested_by, message.requested_at
    )
    return run.job.run(request)


def _send(run: Forgetter, user_id: str | None, receipt: Receipt) -> int:
    """The receipt by DM; a member who takes no DMs still finds it with /logs forget receipts."""
    if user_id is None or run.send_dm is None:
        return 0
    try:
        run.send_dm(user_id, receipt.summary())
    except DiscordApiError as exc:
        log.warning("receipt not sent", extra={"job_id": receipt.job_id, "error": type(exc).__name__})
        return 0
    return 1
