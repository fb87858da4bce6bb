"""CompactFunction: daily, merges each dataset's per-batch objects of the previous days into one object."""

from __future__ import annotations

from typing import Any

from guildlog.handlers.compact import (
    default_compactor,
    default_copies,
    default_retention,
    expire_copies_tonight,
    handle_compaction,
)
from guildlog.handlers.due_deletions import hand_over_due_deletions
from guildlog.observability import Observability
from guildlog.services.copy_retention import CopyExpiry

observe = Observability()


@observe.instrument
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    retention = default_retention()
    results = handle_compaction(event, default_compactor(), retention)
    for result in results:
        if result.state != "nothing_to_do":
            observe.logger.info("compaction", extra=result.as_dict())
    compacted = [r for r in results if r.state == "compacted"]
    observe.count("PartitionsCompacted", len(compacted))
    observe.count("ObjectsMerged", sum(r.inputs for r in compacted))
    observe.count("DuplicatesRemoved", sum(r.duplicates for r in compacted))
    observe.count("CompactionRacesLost", sum(1 for r in results if r.state == "lost_race"))
    observe.count("ArchiveLinesExpired", sum(r.expired for r in results))
    observe.count("ArchiveLinesStripped", sum(r.stripped for r in results))
    refused = [r for r in results if r.state == "refused"]
    for result in refused:
        observe.logger.error("compaction refused", extra=result.as_dict())
    # Exports and attachment copies past their guild's retention (every version, so their links stop working).
    copies = expire_copies_tonight(event, retention, default_copies()) if retention is not None else CopyExpiry()
    if copies.exports or copies.attachments:
        observe.logger.info("copies expired", extra=copies.as_dict())
    observe.count("ExportsExpired", copies.exports)
    observe.count("AttachmentCopiesExpired", copies.attachments)
    # Guilds that removed the bot a grace period ago: their deletion goes to ForgetFunction.
    observe.count("GuildDeletionsQueued", hand_over_due_deletions(event))
    return {
        "compacted": len(compacted),
        "refused": len(refused),
        "results": [r.as_dict() for r in results],
        "copies": copies.as_dict(),
    }
