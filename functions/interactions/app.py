"""InteractionsFunction: POST /interactions from Discord. Thin: verify, answer or route, reply.

Cold starts matter here (Discord allows 3 s, and checks the endpoint with PINGs): nothing heavy is
imported at module level. No Tracer either — Powertools' Tracer pulls in the X-Ray SDK and
botocore at import; the function's X-Ray segments come from `Tracing: Active` without it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from guildlog.handlers.interactions import handle

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer = handle(event)
    if answer["statusCode"] != 200:
        # Structured fields only: never the body, the signature or a token.
        logger.info("interaction refused", extra={"status": answer["statusCode"]})
    return answer
