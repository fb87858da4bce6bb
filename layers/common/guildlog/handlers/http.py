"""API Gateway HTTP API (payload v2) answers, and the one mapping from domain errors to answers.

Handlers raise `GuildlogError` subclasses; `error_response` is the only place that turns one into
a status and a body, and `log_fields` the only place that says which of its fields may be logged.
Stdlib only: the interactions PING path imports this module.
"""

from __future__ import annotations

import json
from typing import Any

from guildlog.errors import (
    AccessDeniedError,
    ConfigurationError,
    GuildlogError,
    MalformedRequestError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    RouteNotFoundError,
    SignatureError,
    SignInError,
    StorageError,
)

ERROR_STATUS: tuple[tuple[type[GuildlogError], int], ...] = (
    (SignatureError, 401),
    (AccessDeniedError, 403),
    (SignInError, 400),
    (MalformedRequestError, 400),
    (RouteNotFoundError, 404),
    (MethodNotAllowedError, 405),
    (PayloadTooLargeError, 413),
    (StorageError, 503),
    (ConfigurationError, 500),
)
# Structured fields a caller may see in the answer's body.
ANSWER_FIELDS = ("problems", "limit", "field")
# Structured fields a log line may carry: never a body, content, signature or token.
LOG_FIELDS = ("problems", "limit", "field", "error", "key", "unprocessed", "variables")


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def status_for(exc: GuildlogError) -> int:
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(exc: GuildlogError, *, public_message: str | None = None) -> dict[str, Any]:
    """What a caller may see of an error: its message (or `public_message`) and the safe fields."""
    body: dict[str, Any] = {"error": public_message or exc.message}
    for key in ANSWER_FIELDS:
        if key in exc.fields:
            body[key] = exc.fields[key]
    return body


def error_response(exc: GuildlogError, *, public_message: str | None = None) -> dict[str, Any]:
    """The HTTP answer for a domain error: never a traceback, never a 5xx for bad input."""
    answer = json_response(status_for(exc), error_body(exc, public_message=public_message))
    if isinstance(exc, MethodNotAllowedError):
        # RFC 9110: a 405 names the methods the resource does take.
        answer["headers"]["allow"] = str(exc.fields["allow"])
    return answer


def log_fields(exc: GuildlogError) -> dict[str, object]:
    """The error's status, message and the structured fields that may go in a log line."""
    return {
        "status": status_for(exc),
        "error": exc.message,
        **{k: v for k, v in exc.fields.items() if k in LOG_FIELDS and k != "error"},
    }
