"""GapRepairFunction's path: an SQS batch of gap jobs → each gap's window backfilled → the records to redeliver."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from guildlog.errors import GuildlogError
from guildlog.services.gap_repair import GapJob, GapRepair, RepairResult


@lru_cache(maxsize=1)
def default_repair() -> GapRepair:
    """The composition root: built on the first batch of a container, never at import time."""
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.gap_repair_store import DynamoRepairRecords
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.adapters.secrets import BotTokenSecret
    from guildlog.handlers.settings import Settings
    from guildlog.services.directory import Directory
    from guildlog.services.ingest import Ingestor
    from guildlog.services.known_creates import HotCreates

    settings = Settings.from_env()
    token = BotTokenSecret(settings.bot_token_secret_arn)
    discord = DiscordRest(settings.discord_api_base, token.value, timeout=10.0, attempts=5)
    store = DynamoStore(settings.table_name)
    # No notifier: repaired history is never posted to a log channel.
    ingestor = Ingestor(
        S3Archive(settings.bucket_name),
        store,
        default_retention_days=settings.retention_days,
        directory=Directory(store),
    )
    known = HotCreates(HotReader(settings.table_name))
    return GapRepair(discord, ingestor, DynamoRepairRecords(settings.table_name), known=known)


@dataclass
class RepairReport:
    repaired: list[RepairResult] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # SQS message ids to deliver again
    bad: int = 0


def handle_batch(
    event: Any,
    repair: GapRepair | None = None,
    on_bad: Callable[[str, str], None] | None = None,
    on_failure: Callable[[str, GuildlogError], None] | None = None,
) -> tuple[dict[str, Any], RepairReport]:
    """Run each job; the partial-batch answer Lambda expects (`batchItemFailures`), and what happened.

    A record that is not a gap job can never succeed: reported through `on_bad` and dropped, not
    sent round until the dead-letter queue. A job that fails goes round again (its checkpoints stay).
    """
    report = RepairReport()
    for record in (event or {}).get("Records") or []:
        record_id = str(record.get("messageId") or "")
        try:
            job = GapJob.model_validate(json.loads(record.get("body") or ""))
        except (ValueError, ValidationError) as exc:
            report.bad += 1
            if on_bad is not None:
                on_bad(record_id, type(exc).__name__)
            continue
        try:
            report.repaired.append((repair or default_repair()).run(job))
        except GuildlogError as exc:
            report.failed.append(record_id)
            if on_failure is not None:
                on_failure(record_id, exc)
    return {"batchItemFailures": [{"itemIdentifier": r} for r in report.failed]}, report
