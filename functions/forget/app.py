"""ForgetFunction: erasure jobs from ForgetQueue, and the daily guild deletions. Thin: run them, report."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.forget import handle
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer, report = handle(event)
    # Counts only: never a member's content or names.
    observe.logger.info(
        "forget run",
        extra={
            "erased": report.erased,
            "guilds_deleted": report.guilds_deleted,
            "failed": len(report.failed),
            "bad": report.bad,
            "receipts_sent": report.receipts_sent,
        },
    )
    observe.count("MembersErased", report.erased)
    observe.count("GuildsDeleted", report.guilds_deleted)
    observe.count("ErasuresRetried", len(report.failed))
    return answer
