"""The nightly hand-over of guild deletions that are due (a grace period after the guild removed the bot)
to ForgetQueue, run by CompactFunction after its compaction. ForgetFunction deletes them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from guildlog.errors import GuildlogError
from guildlog.models.erasure_job import ErasureJobMessage
from guildlog.services.timefmt import iso

log = logging.getLogger(__name__)


def hand_over_due_deletions(event: Any, due: Any = None, queue: Any = None) -> int:
    """On a scheduled event: queue each guild whose deletion is due; how many. A manual run (`{"day"}`),
    a stack without ForgetQueue or a storage failure queues nothing (and compaction goes on); a guild
    still due tomorrow is queued again, and the deletion is idempotent."""
    moment = event.get("time") if isinstance(event, dict) and not event.get("day") else None
    if not isinstance(moment, str):
        return 0
    now = iso(datetime.fromisoformat(moment.replace("Z", "+00:00")))
    try:
        if due is None or queue is None:
            from guildlog.adapters.erasure_requests import JobQueue
            from guildlog.adapters.erasure_store import ErasureStore
            from guildlog.handlers.settings import Settings

            settings = Settings.from_env()
            if not settings.forget_queue_url:
                return 0
            due, queue = ErasureStore(settings.table_name), JobQueue(settings.forget_queue_url)
        guilds = due.due_deletions(now)
        for guild_id in guilds:
            job = ErasureJobMessage(
                kind="guild",
                guild_id=guild_id,
                job_id=f"guild-{guild_id}",
                requested_by="grace-period",
                requested_at=now,
            )
            queue.send(job, 0)
    except GuildlogError as exc:
        log.error("due guild deletions not handed over", extra={"error": exc.message})
        return 0
    return len(guilds)
