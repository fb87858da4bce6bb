"""WorkerFunction's job: finish a deferred answer (edit @original) and log the interaction.

The follow-up comes first, so the member is not kept waiting on the log write. It is never sent
once the interaction token may have expired (15 minutes after the interaction was created, less a
margin): Discord would refuse it, and a late answer is worse than the "interaction failed" Discord
shows by then. A command that fails still gets an answer that says so.

Logging goes through the same Ingestor as the gateway's events: an `INTERACTION_CREATE` envelope
event with `source: "interaction"` and the interaction id as its explicit id, so a retried job
(Lambda retries failed async invokes) writes nothing twice. A storage failure is raised, so the
invoke is retried; the follow-up is then sent again, which edits @original with the same text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from guildlog import __version__
from guildlog.errors import DiscordApiError, GuildlogError, MalformedRequestError
from guildlog.models.envelope import Envelope
from guildlog.models.worker_job import WorkerJob
from guildlog.services.commands import protocol as p
from guildlog.services.commands.app import BROKEN, STORAGE_DOWN, answer, parse, route
from guildlog.services.commands.context import Ports, Reply
from guildlog.services.timefmt import iso, snowflake_time

log = logging.getLogger(__name__)

# Room left before the token's end for the edit itself (and clock skew between us and Discord).
TOKEN_MARGIN = timedelta(seconds=30)
BATCH_PREFIX = "interaction-"
INTERACTIONS_SOURCE = {"name": "guildlog-interactions", "version": __version__}


class FollowupSender(Protocol):
    def edit_original(self, application_id: str, token: str, body: dict[str, Any], *, deadline: datetime) -> None:
        """PATCH /webhooks/{application_id}/{token}/messages/@original; DiscordApiError on failure."""
        ...


class CommandLog(Protocol):
    def ingest(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> Any: ...


@dataclass(frozen=True)
class JobOutcome:
    followup: str  # "none", "sent", "expired", "failed"
    logged: bool


def token_deadline(interaction_id: str) -> datetime:
    """The last moment a follow-up may still be sent for this interaction."""
    return snowflake_time(interaction_id) + timedelta(seconds=p.TOKEN_LIFETIME_SECONDS) - TOKEN_MARGIN


def run_job(
    job: WorkerJob,
    *,
    ports: Ports,
    discord: FollowupSender,
    command_log: CommandLog,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> JobOutcome:
    """Do one job. Raises StorageError when the log write fails (the invoke is then retried)."""
    outcome = "none"
    if job.followup:
        outcome = _follow_up(job, ports, discord, clock)
    command_log.ingest(*command_envelope(job.interaction, job.received_at))
    return JobOutcome(followup=outcome, logged=True)


def _follow_up(job: WorkerJob, ports: Ports, discord: FollowupSender, clock: Callable[[], datetime]) -> str:
    interaction_id = str(job.interaction.get("id", ""))
    application_id = str(job.interaction.get("application_id") or "")
    if not job.token or not _ascii_digits(interaction_id) or not _ascii_digits(application_id):
        log.error("follow-up job without a token, an interaction id or an application id")
        return "failed"
    deadline = token_deadline(interaction_id)
    if clock() >= deadline:
        log.warning("follow-up dropped: the interaction token has expired", extra={"interaction_id": interaction_id})
        return "expired"
    reply = _reply(job, ports)
    body = reply.message_data()
    body.pop("flags", None)  # an edit keeps the flags the deferral set (ephemeral)
    try:
        discord.edit_original(application_id, job.token, body, deadline=deadline)
    except DiscordApiError as exc:
        log.error("follow-up failed", extra={"interaction_id": interaction_id, "error": exc.message, **_safe(exc)})
        return "failed"
    return "sent"


def _ascii_digits(text: str) -> bool:
    # str.isdigit alone takes full-width and other scripts' digits: never part of a Discord id.
    return text.isascii() and text.isdigit()


def _reply(job: WorkerJob, ports: Ports) -> Reply:
    try:
        interaction = parse({**job.interaction, "token": job.token})
        return answer(interaction, route(interaction), ports, ports.now())
    except MalformedRequestError:
        log.error("follow-up job holds an unreadable interaction")
        return Reply(BROKEN)
    except GuildlogError as exc:
        log.warning("deferred command failed", extra={"error": exc.message})
        return Reply(STORAGE_DOWN)
    except Exception:
        log.exception("deferred command crashed")
        return Reply(BROKEN)


def command_envelope(interaction: dict[str, Any], received_at: datetime) -> tuple[Envelope, list[dict[str, Any]]]:
    """The interaction as a one-event envelope for the Ingestor (never with its token)."""
    data = {k: v for k, v in interaction.items() if k != "token"}
    interaction_id = str(data.get("id"))
    event = {
        "t": "INTERACTION_CREATE",
        "id": interaction_id,
        "source": "interaction",
        "received_at": iso(received_at.astimezone(UTC)),
        "d": data,
    }
    body = {"v": 1, "batch_id": f"{BATCH_PREFIX}{interaction_id}", "relay": INTERACTIONS_SOURCE, "events": [event]}
    return Envelope.model_validate(body), [event]


def _safe(exc: DiscordApiError) -> dict[str, Any]:
    return {k: v for k, v in exc.fields.items() if k in ("status", "code", "attempts")}
