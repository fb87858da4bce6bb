"""NotifyFunction's path: an SQS batch → the moderation log's posts → the records to redeliver."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from guildlog.errors import GuildlogError
from guildlog.services.modlog.delivery import AUDIT_WAIT_SECONDS, Deliverer, DeliveryReport, Job


@lru_cache(maxsize=1)
def default_deliverer() -> Deliverer:
    """The composition root: built on the first batch of a container, never at import time."""
    from aws_lambda_powertools import Logger

    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.adapters.modlog_store import DynamoLogStore
    from guildlog.adapters.s3_attachments import S3AttachmentStore
    from guildlog.adapters.secrets import BotTokenSecret
    from guildlog.handlers.settings import Settings

    logger = Logger()

    def on_error(guild_id: str, exc: GuildlogError) -> None:
        # Discord's status and code, never the body, a token or a member's text.
        logger.warning("log post failed", extra={"guild_id": guild_id, "error": type(exc).__name__, **_safe(exc)})

    settings = Settings.from_env()
    token = BotTokenSecret(settings.bot_token_secret_arn)
    # A post waits out rate limits for at most this long: the function's timeout (60 s) bounds the batch.
    discord = DiscordRest(settings.discord_api_base, token.value, timeout=8.0, attempts=5)
    return Deliverer(
        discord,
        DynamoLogStore(settings.table_name),
        HotReader(settings.table_name),
        on_error=on_error,
        links=S3AttachmentStore(settings.bucket_name),
    )


def _safe(exc: GuildlogError) -> dict[str, object]:
    return {k: v for k, v in exc.fields.items() if k in ("status", "code", "attempts", "invalid")}


def jobs_from_event(event: Any, on_bad: Callable[[str, str], None] | None = None) -> tuple[list[Job], list[str]]:
    """The jobs of an SQS event, in order, and the ids of records that are not a job (never retried)."""
    jobs: list[Job] = []
    bad: list[str] = []
    for record in (event or {}).get("Records") or []:
        record_id = str(record.get("messageId") or "")
        try:
            body = json.loads(record.get("body") or "")
            row = body["row"]
            guild = str(body["guild_id"])
            if body.get("v") != 1 or not isinstance(row, dict) or not row.get("event_id"):
                raise ValueError("not a v1 log message")
        except (ValueError, KeyError, TypeError) as exc:
            bad.append(record_id)
            if on_bad is not None:
                on_bad(record_id, str(exc))
            continue
        jobs.append(Job(record_id, guild, row, receive_count=_receive_count(record)))
    return jobs, bad


def _receive_count(record: dict[str, Any]) -> int:
    try:
        return max(1, int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1))
    except (TypeError, ValueError):
        return 1


class Requeue(Protocol):
    def __call__(self, records: list[dict[str, Any]], seconds: int) -> None: ...


def handle_batch(
    event: Any,
    deliverer: Deliverer | None = None,
    on_bad: Callable[[str, str], None] | None = None,
    requeue: Requeue | None = None,
) -> tuple[dict[str, Any], DeliveryReport]:
    """Deliver the batch; the partial-batch answer Lambda expects (`batchItemFailures`), and what happened.

    A record that is not a log message can never succeed: it is logged and reported as done, not
    sent round until the dead-letter queue. Records that wait for an audit entry are made visible
    again after AUDIT_WAIT_SECONDS instead of the queue's visibility timeout (minutes).
    """
    jobs, _ = jobs_from_event(event, on_bad)
    try:
        report = (deliverer or default_deliverer()).deliver(jobs)
    except GuildlogError:
        # Nothing could be decided (no settings, no token): every record goes round again.
        report = DeliveryReport(failed=[j.record_id for j in jobs])
    if report.waiting:
        waiting = set(report.waiting)
        records = [r for r in (event or {}).get("Records") or [] if str(r.get("messageId") or "") in waiting]
        (requeue or change_visibility)(records, AUDIT_WAIT_SECONDS)
    failures = [{"itemIdentifier": record_id} for record_id in report.failed]
    return {"batchItemFailures": failures}, report


def change_visibility(records: list[dict[str, Any]], seconds: int) -> None:
    """Make SQS records visible again in `seconds`. Best effort: if it fails, they come back after
    the queue's visibility timeout instead, later but in order."""
    from guildlog.adapters.notify_queue import make_visible_in

    make_visible_in(records, seconds)
