"""API Gateway HTTP API (payload v2) answers, and the one mapping from domain errors to statuses."""

from __future__ import annotations

import json
from typing import Any

from guildlog.errors import (
    ConfigurationError,
    GuildlogError,
    MalformedRequestError,
    PayloadTooLargeError,
    SignatureError,
    StorageError,
)

ERROR_STATUS: tuple[tuple[type[GuildlogError], int], ...] = (
    (SignatureError, 401),
    (MalformedRequestError, 400),
    (PayloadTooLargeError, 413),
    (StorageError, 503),
    (ConfigurationError, 500),
)


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def error_body(exc: GuildlogError) -> dict[str, Any]:
    """What a caller may see of an error: the message and safe structured fields, never a traceback."""
    body: dict[str, Any] = {"error": exc.message}
    for key in ("problems", "limit", "field"):
        if key in exc.fields:
            body[key] = exc.fields[key]
    return body


def status_for(exc: GuildlogError) -> int:
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return status
    return 500
