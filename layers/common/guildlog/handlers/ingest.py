"""The ingest webhook's request path: verify → parse → write → answer. Shared by Lambda and the local stack."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from guildlog.adapters.heartbeat_metric import record_heartbeats
from guildlog.adapters.signatures import header, raw_body, verify_request
from guildlog.errors import MethodNotAllowedError, RouteNotFoundError
from guildlog.handlers.settings import Settings
from guildlog.services.ingest import Ingestor, IngestResult
from guildlog.services.webhook_body import parse_envelope

# The webhook's one route (docs/protocol.md). IngestFunction is reached through a Lambda function
# URL, which hands the function every path and method: `check_route` refuses the others.
INGEST_METHOD = "POST"
INGEST_PATH = "/gateway/events"


@lru_cache(maxsize=1)
def default_ingestor() -> tuple[Settings, Ingestor]:
    """The composition root: built on the first request of a container, never at import time."""
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.erasure_store import ErasureStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.directory import Directory
    from guildlog.services.erasure.tombstones import TombstoneFilter

    settings = Settings.from_env()
    store = DynamoStore(settings.table_name)
    notifier = None
    if settings.notify_queue_url:
        from guildlog.adapters.notify_queue import NotifyQueue

        notifier = NotifyQueue(settings.notify_queue_url)
    gap_repairs = None
    if settings.gap_repair_queue_url:
        from guildlog.adapters.gap_queue import GapRepairQueue

        gap_repairs = GapRepairQueue(settings.gap_repair_queue_url)
    attachment_queue = None
    if settings.attachment_queue_url:
        from guildlog.adapters.attachment_queue import AttachmentQueue

        attachment_queue = AttachmentQueue(settings.attachment_queue_url)
    archive_queue = None
    if settings.archive_queue_url:
        from guildlog.adapters.archive_queue import ArchiveQueue

        archive_queue = ArchiveQueue(settings.archive_queue_url)
    ingestor = Ingestor(
        S3Archive(settings.bucket_name),
        store,
        default_retention_days=settings.retention_days,
        directory=Directory(store, invites=_invite_lister(settings)),
        notifier=notifier,
        gap_repairs=gap_repairs,
        attachment_queue=attachment_queue,
        archive_queue=archive_queue,
        tombstones=TombstoneFilter(ErasureStore(settings.table_name), grace_days=settings.guild_deletion_grace_days),
    )
    return settings, ingestor


def _invite_lister(settings: Settings) -> Any:
    """Joins are attributed to invites only where the stack has the bot token."""
    if not settings.bot_token_secret_arn:
        return None
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.adapters.invite_lister import RestInviteLister
    from guildlog.adapters.secrets import BotTokenSecret

    token = BotTokenSecret(settings.bot_token_secret_arn)
    return RestInviteLister(lambda: DiscordRest(settings.discord_api_base, token.value, timeout=3.0, attempts=2))


def check_route(event: dict[str, Any]) -> None:
    """Refuse a request (payload format 2.0) to any path but INGEST_PATH (404) or with any method but
    INGEST_METHOD (405). It reads the request line only: nothing is verified, built or written."""
    http = (event.get("requestContext") or {}).get("http") or {}
    path = event.get("rawPath") or http.get("path")
    if path != INGEST_PATH:
        raise RouteNotFoundError(f"not found: the relay's webhook is {INGEST_METHOD} {INGEST_PATH}")
    if str(http.get("method") or "").upper() != INGEST_METHOD:
        raise MethodNotAllowedError(f"method not allowed: {INGEST_PATH} takes {INGEST_METHOD}", allow=INGEST_METHOD)


def handle_gateway_events(
    event: dict[str, Any], settings: Settings | None = None, ingestor: Ingestor | None = None
) -> IngestResult:
    """Run one request (payload format 2.0: a function URL or API Gateway) through ingest; raises
    GuildlogError subclasses for a wrong route or bad input. The route is checked first, and the
    container's adapters (`default_ingestor`, unless given) are built only for a request to it."""
    check_route(event)
    if settings is None or ingestor is None:
        settings, ingestor = default_ingestor()
    headers = event.get("headers") or {}
    body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")))
    verify_request(body, headers, settings.relay_public_key)
    envelope, raw_events = parse_envelope(body, header(headers, "content-encoding"))
    result = ingestor.ingest(envelope, raw_events)
    # Only once the batch is stored: the "no relay heartbeat" alarm means nothing reached the archive.
    record_heartbeats(envelope)
    return result
