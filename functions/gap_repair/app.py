"""GapRepairFunction: gap jobs from the ingest queue. Thin: backfill each gap's window, report what to redeliver."""

from __future__ import annotations

from typing import Any

from guildlog.errors import GuildlogError
from guildlog.handlers.gap_repair import handle_batch
from guildlog.observability import Observability

observe = Observability()


def _bad(record_id: str, reason: str) -> None:
    observe.logger.error("not a gap repair job", extra={"message_id": record_id, "reason": reason})


def _failed(record_id: str, exc: GuildlogError) -> None:
    # The error's kind and Discord's status and code only: never message text or a token.
    safe = {k: v for k, v in exc.fields.items() if k in ("status", "code", "attempts")}
    observe.logger.warning(
        "gap repair not finished", extra={"message_id": record_id, "error": type(exc).__name__, **safe}
    )


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer, report = handle_batch(event, on_bad=_bad, on_failure=_failed)
    for result in report.repaired:
        observe.logger.info(
            "gap repaired",
            extra={"gap": result.job.gap_event_id, "state": result.state, "recovered": result.recovered},
        )
    observe.count("GapsRepaired", len(report.repaired))
    observe.count("GapMessagesRecovered", sum(r.recovered for r in report.repaired))
    observe.count("GapRepairsRetried", len(report.failed))
    return answer
