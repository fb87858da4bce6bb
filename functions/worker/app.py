"""WorkerFunction: async invokes from InteractionsFunction. Thin: finish the deferred answer, log the command."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.worker import handle_job
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A StorageError propagates: Lambda retries the invoke, and the log write is idempotent.
    outcome = handle_job(event)
    observe.logger.info("worker job", extra={"followup": outcome.followup, "logged": outcome.logged})
    observe.count("CommandsLogged")
    if outcome.followup != "none":
        observe.count(f"Followup{outcome.followup.capitalize()}")
    return {"followup": outcome.followup, "logged": outcome.logged}
