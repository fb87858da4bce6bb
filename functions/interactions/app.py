"""POST /interactions: a placeholder until slash commands land.

It already does what Discord checks before it accepts an Interactions Endpoint URL: it verifies
every request's signature (401 otherwise) and answers PING with PONG. Any command gets an
ephemeral note that commands are not available yet.
"""

from __future__ import annotations

import json
import os
from typing import Any

from guildlog.adapters.signatures import raw_body, verify_request
from guildlog.errors import SignatureError
from guildlog.handlers.http import json_response

# Interaction and response types from Discord's interactions reference.
PING = 1
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
# Message flag: only the user who ran the command sees the answer.
EPHEMERAL = 1 << 6

NOT_AVAILABLE = "guildlog is logging this server, but its commands are not available yet."


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Answer one API Gateway HTTP API (payload v2) request; never a 5xx for bad input."""
    try:
        body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")))
        verify_request(body, event.get("headers"), os.environ.get("GUILDLOG_DISCORD_PUBLIC_KEY", ""))
    except SignatureError:
        return json_response(401, {"error": "invalid request signature"})
    try:
        interaction = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return json_response(400, {"error": "body is not JSON"})
    if not isinstance(interaction, dict):
        return json_response(400, {"error": "body is not an interaction"})
    if interaction.get("type") == PING:
        return json_response(200, {"type": PONG})
    return json_response(
        200,
        {"type": CHANNEL_MESSAGE_WITH_SOURCE, "data": {"content": NOT_AVAILABLE, "flags": EPHEMERAL}},
    )
