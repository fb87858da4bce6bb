"""The interactions webhook's request path: verify → decode → answer. Shared by Lambda and the local stack.

What runs for every request — signature check, JSON, PING — imports neither boto3 nor pydantic:
Discord checks the endpoint with PINGs and bad signatures, and a cold start must not cost the
3 seconds it allows. The command path (`InteractionApp`, its models and adapters) is imported on
the first command a container sees, and built once per container.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from guildlog.adapters.signatures import raw_body, verify_request
from guildlog.errors import GuildlogError, MalformedRequestError, SignatureError
from guildlog.handlers.environment import DISCORD_PUBLIC_KEY_VARIABLE
from guildlog.handlers.http import error_response, json_response
from guildlog.services.commands import protocol as p

if TYPE_CHECKING:
    from guildlog.services.commands.app import InteractionApp


def handle(event: dict[str, Any], app: Callable[[], InteractionApp] | None = None) -> dict[str, Any]:
    """Answer one API Gateway HTTP API (payload v2) request; never a 5xx for bad input.

    401: a missing, malformed, stale or wrong signature. 400: signed but not a JSON object, or an
    unknown interaction type, or not a valid interaction. 200: Discord's answer.
    """
    try:
        payload = _verified_interaction(event)
        if payload["type"] == p.PING:
            return json_response(200, {"type": p.PONG})
        answer = (app or default_app)().handle(payload)
    except SignatureError as exc:
        # Which check failed is for the log, not for whoever is probing the endpoint.
        return error_response(exc, public_message="invalid request signature")
    except GuildlogError as exc:
        return error_response(exc)
    return json_response(200, answer)


def _verified_interaction(event: dict[str, Any]) -> dict[str, Any]:
    body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")))
    verify_request(body, event.get("headers"), os.environ.get(DISCORD_PUBLIC_KEY_VARIABLE, ""))
    try:
        payload = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        raise MalformedRequestError("body is not JSON") from None
    except RecursionError:
        raise MalformedRequestError("body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedRequestError("body is not an interaction")
    kind = payload.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool) or kind not in p.INTERACTION_TYPES:
        raise MalformedRequestError("unknown interaction type")
    return payload


@lru_cache(maxsize=1)
def default_app() -> InteractionApp:
    """The composition root: built on the first command of a container, never at import time."""
    from guildlog.adapters.command_store import CommandStore
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.adapters.s3_attachments import S3AttachmentStore
    from guildlog.adapters.secrets import BotTokenSecret
    from guildlog.adapters.worker_invoker import LambdaWorkerInvoker
    from guildlog.handlers.settings import Settings
    from guildlog.services.commands.app import InteractionApp
    from guildlog.services.commands.context import Ports
    from guildlog.services.commands.cursor import HmacCursorCodec, derive_key

    settings = Settings.from_env()
    bot_token = BotTokenSecret(settings.bot_token_secret_arn)
    ports = Ports(
        reader=HotReader(settings.table_name),
        config=CommandStore(settings.table_name),
        cursors=HmacCursorCodec(lambda: derive_key(bot_token.value())),
        default_retention_days=settings.retention_days,
        now=services_clock(settings.now),
        log_queue=_log_queue(settings.notify_queue_url),
        attachment_links=S3AttachmentStore(settings.bucket_name),
        erasure=_erasure(settings),
    )
    tuning = {"defer_after": settings.defer_after} if settings.defer_after else {}
    return InteractionApp(
        ports,
        CommandStore(settings.table_name),
        LambdaWorkerInvoker(settings.worker_function),
        **tuning,
        # When the local stack pins the clock, the command's log entry is dated by it too.
        clock=services_clock(settings.now),
    )


def services_clock(pinned: str) -> Callable[[], Any]:
    """The command services' clock: the real one, or the instant the local stack pinned."""
    from datetime import UTC, datetime

    if not pinned:
        return lambda: datetime.now(UTC)
    moment = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
    return lambda: moment


def _log_queue(url: str) -> Any:
    """The moderation log's queue (/logs config test posts through it), when the stack has one."""
    if not url:
        return None
    from guildlog.adapters.notify_queue import NotifyQueue

    return NotifyQueue(url)


def _erasure(settings: Any) -> Any:
    """/logs forget's port, when the stack has a ForgetQueue."""
    if not settings.forget_queue_url:
        return None
    from guildlog.adapters.erasure_requests import ErasureRequests, job_delay

    return ErasureRequests(
        settings.table_name, settings.forget_queue_url, delay_seconds=job_delay(settings.archive_settle_seconds)
    )
