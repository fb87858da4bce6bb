"""AttachmentCopyFunction: SQS batches from IngestFunction. Thin: copy the files, report what to redeliver."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.attachment_copy import handle_batch
from guildlog.observability import Observability

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer, report = handle_batch(event)
    # Counts only: never file names, URLs or content.
    observe.logger.info(
        "attachment batch",
        extra={"copied": report.copied, "failed": report.failed, "retried": len(report.retried), "bad": report.bad},
    )
    observe.count("AttachmentsCopied", report.copied)
    observe.count("AttachmentCopiesFailed", report.failed)
    observe.count("AttachmentCopiesRetried", len(report.retried))
    return answer
