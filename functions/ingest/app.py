"""IngestFunction: POST /gateway/events from the relay (protocol v1), through its function URL. Thin: verify,
ingest, answer."""

from __future__ import annotations

from typing import Any

from guildlog.errors import GuildlogError
from guildlog.handlers.http import error_response, json_response, log_fields
from guildlog.handlers.ingest import handle_gateway_events
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        # The route is checked before the adapters are built: a stray request costs nothing more.
        result = handle_gateway_events(event)
    except GuildlogError as exc:
        answer = error_response(exc)
        observe.logger.warning("ingest refused", extra=log_fields(exc))
        observe.count(f"Rejected{answer['statusCode']}")
        return answer
    observe.logger.info("ingest batch", extra=result.answer() | {"objects": result.objects})
    observe.count("EventsAccepted", result.accepted)
    observe.count("EventsDuplicate", result.duplicates)
    observe.count("EventsQuarantined", result.quarantined)
    observe.count("EventsUnrecorded", result.unrecorded)
    return json_response(200, result.answer())
