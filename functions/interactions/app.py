"""InteractionsFunction: POST /interactions from Discord. Thin: verify, answer or route, reply.

Cold starts matter here (Discord allows 3 s, and checks the endpoint with PINGs): nothing heavy is
imported at module level, and no metrics (Discord's PINGs would be most of them).
"""

from __future__ import annotations

from typing import Any

from guildlog.handlers.interactions import handle
from guildlog.observability import Observability

observe = Observability(metrics=False)


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer = handle(event)
    if answer["statusCode"] != 200:
        # Structured fields only: never the body, the signature or a token.
        observe.logger.info("interaction refused", extra={"status": answer["statusCode"]})
    return answer
