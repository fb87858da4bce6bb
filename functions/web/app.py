"""WebFunction: GET|POST /app/... - the web viewer. Thin: one handler call per request."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.web import handle
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer = handle(event)
    # Structured fields only: never a cookie, a code or anything a page shows.
    observe.logger.info("page", extra={"status": answer["statusCode"], "route": event.get("routeKey")})
    observe.count("Pages")
    return answer
