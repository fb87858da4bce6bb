"""WorkerFunction: async invokes from InteractionsFunction (finish the deferred answer, log the command)
and from WebFunction (an export started from a page). Thin."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.worker import handle_job, handle_web_export
from guildlog.models.web_export_job import is_web_export
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_web_export(event):
        export = handle_web_export(event)
        observe.logger.info("web export", extra={"export": export})
        observe.count("WebExports")
        return {"export": export}
    # A StorageError propagates: Lambda retries the invoke, and the log write is idempotent.
    outcome = handle_job(event)
    observe.logger.info("worker job", extra={"followup": outcome.followup, "logged": outcome.logged})
    observe.count("CommandsLogged")
    if outcome.followup != "none":
        observe.count(f"Followup{outcome.followup.capitalize()}")
    return {"followup": outcome.followup, "logged": outcome.logged}
