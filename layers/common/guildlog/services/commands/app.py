"""The interaction use case: a verified interaction in, Discord's answer out.

Order of things for a command or a button click:

1. read it (MalformedRequestError → 400) and find what answers it (unknown → an ephemeral note);
2. claim its id (a conditional put): a second delivery of the same interaction gets a short note
   and changes nothing — no second config write, no second follow-up, no second log entry;
3. answer: deferred commands (`Leaf.defer`) answer type 5 at once and hand the work to
   WorkerFunction; commands that write run inline; the others run inline with a deadline
   (`defer_after`, under a second), and a slow one is handed to the worker and answered type 5
   (type 6 for a button) — the worker edits @original when it is done;
4. every use is handed to WorkerFunction to be logged as a `command` event (one async invoke per
   interaction, carrying the follow-up when there is one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from guildlog.errors import CommandError, GuildlogError, MalformedRequestError
from guildlog.models.interaction import Interaction
from guildlog.models.worker_job import WorkerJob
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, Ports, Reply, command_path
from guildlog.services.commands.cursor import PREFIX as SEARCH_CURSOR_PREFIX
from guildlog.services.commands.definitions import Leaf, find_leaf

log = logging.getLogger(__name__)

# Under a second of our own time leaves API Gateway and Discord their share of the 3 s.
DEFER_AFTER_SECONDS = 0.8
# Discord refuses a replayed request after 300 s; a day of claims outlasts any replay.
CLAIM_TTL_SECONDS = 86_400

UNKNOWN_COMMAND = (
    "guildlog does not know this command: its registered commands may be out of date "
    "(`guildlog commands diff` shows what differs, `guildlog commands sync` fixes it)."
)
ALREADY_ANSWERED = "This interaction was already answered."
SERVERS_ONLY = "guildlog's commands work in servers only."
NO_MEMBER = "Discord did not say which member ran this command, so guildlog cannot check their permissions."
NO_WORKER = "guildlog could not start this job; try again in a minute."
STORAGE_DOWN = "guildlog's storage is not answering right now; try again in a minute."
BROKEN = "Something went wrong answering this command; it has been logged."


class WorkerInvoker(Protocol):
    """Starts WorkerFunction without waiting for it (adapters.worker_invoker; a thread locally)."""

    def invoke(self, job: WorkerJob) -> None: ...


class Claims(Protocol):
    def claim(self, interaction_id: str, expires_at: int) -> bool:
        """True the first time an interaction id is claimed, False ever after (until it expires)."""
        ...


@dataclass(frozen=True)
class Target:
    """What answers an interaction: a command leaf, or a button of a search page."""

    path: tuple[str, ...]
    leaf: Leaf | None
    options: dict[str, Any]
    custom_id: str | None = None

    @property
    def name(self) -> str:
        return "/" + " ".join(self.path)


def parse(payload: dict[str, Any]) -> Interaction:
    """The interaction, or MalformedRequestError naming the bad fields (never their values)."""
    try:
        return Interaction.model_validate(payload)
    except ValidationError as exc:
        problems = [
            {"loc": ".".join(str(x) for x in e["loc"]), "type": e["type"]} for e in exc.errors(include_input=False)
        ][:10]
        raise MalformedRequestError("not a valid interaction", problems=problems) from None


def route(interaction: Interaction) -> Target:
    """The target of a command or component interaction; `leaf` None for an unknown one."""
    data = interaction.data
    if interaction.type == p.MESSAGE_COMPONENT:
        custom_id = data.custom_id if data is not None else None
        if custom_id and custom_id.startswith(SEARCH_CURSOR_PREFIX):
            return Target(("logs", "search"), find_leaf(("logs", "search")), {}, custom_id)
        return Target(("component",), None, {}, custom_id)
    if data is None or not data.name:
        raise MalformedRequestError("an application command needs data.name", field="data.name")
    path, options = command_path(data.options, data.name)
    if data.type not in (None, p.CHAT_INPUT):
        return Target(path, None, options)  # user and message context-menu commands: not ours
    return Target(path, find_leaf(path), options)


def answer(interaction: Interaction, target: Target, ports: Ports, now: datetime) -> Reply:
    """Run the target's service; a CommandError becomes its ephemeral message."""
    call = Call(interaction=interaction, path=target.path, options=target.options, now=now)
    try:
        if interaction.guild_id and (interaction.member is None or interaction.member.user is None):
            # In a server Discord always sends the member, with their permissions; without it
            # there is no one whose permissions could be checked (a `user` is a DM's shape).
            raise CommandError(NO_MEMBER)
        if target.leaf is None:
            if target.custom_id is not None:
                raise CommandError("This button no longer does anything.")
            raise CommandError(UNKNOWN_COMMAND)
        if target.custom_id is not None:
            from guildlog.services.commands import search

            return search.page(call, ports, target.custom_id)
        return service(target.leaf)(call, ports)
    except CommandError as exc:
        return Reply(exc.message)


def service(leaf: Leaf) -> Callable[[Call, Ports], Reply]:
    """The function that answers a leaf (routes.py imports its module on first use)."""
    return leaf.handler


class InteractionApp:
    """Answers interactions; everything it touches is injected (see handlers.interactions)."""

    def __init__(
        self,
        ports: Ports,
        claims: Claims,
        invoker: WorkerInvoker,
        *,
        defer_after: float = DEFER_AFTER_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ports = ports
        self.claims = claims
        self.invoker = invoker
        self.defer_after = defer_after
        self.clock = clock

    def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Discord's answer (the callback JSON) to a verified, JSON-decoded interaction."""
        kind = payload.get("type")
        if kind == p.PING:
            return {"type": p.PONG}
        if kind == p.APPLICATION_COMMAND_AUTOCOMPLETE:
            return {"type": p.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}
        if kind not in (p.APPLICATION_COMMAND, p.MESSAGE_COMPONENT, p.MODAL_SUBMIT):
            raise MalformedRequestError("unknown interaction type", field="type")
        interaction = parse(payload)
        if interaction.type == p.MODAL_SUBMIT:
            return message(Reply("guildlog has no forms to submit."))
        target = route(interaction)
        if not interaction.guild_id:
            return message(Reply(SERVERS_ONLY))
        received_at = self.clock()
        try:
            first = self.claims.claim(interaction.id, int(received_at.timestamp()) + CLAIM_TTL_SECONDS)
        except GuildlogError as exc:
            log.warning("interaction claim failed", extra={"error": exc.message})
            return message(Reply(STORAGE_DOWN))
        if not first:
            log.info("interaction delivered again", extra={"interaction_id": interaction.id})
            return message(Reply(ALREADY_ANSWERED))
        job = _job(payload, interaction, received_at)
        component = interaction.type == p.MESSAGE_COMPONENT
        leaf = target.leaf
        if leaf is not None and target.custom_id is None and leaf.defer(target.options):
            return self._defer(job, component)
        reply: Reply | None
        if leaf is not None and leaf.mutates:
            reply = self._safely(interaction, target)
        else:
            finished, reply = self._within_deadline(interaction, target)
            if not finished:
                log.info("answer deferred: slow", extra={"command": target.name, "after_s": self.defer_after})
                return self._defer(job, component)
            if reply is not None and reply.handover:
                log.info("answer deferred: the worker's to give", extra={"command": target.name})
                return self._defer(job, component)
        self._hand_over(job)
        assert reply is not None
        return update(reply) if component else message(reply)

    # -- internals

    def _safely(self, interaction: Interaction, target: Target) -> Reply:
        try:
            return answer(interaction, target, self.ports, self.ports.now())
        except GuildlogError as exc:
            log.warning("command failed", extra={"command": target.name, "error": exc.message})
            return Reply(STORAGE_DOWN)
        except Exception:
            log.exception("command crashed", extra={"command": target.name})
            return Reply(BROKEN)

    def _within_deadline(self, interaction: Interaction, target: Target) -> tuple[bool, Reply | None]:
        """Run the service on a thread for at most `defer_after` seconds (it is left to finish on its
        own when slower: a read, whose late result is dropped)."""
        box: dict[str, Reply] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["reply"] = self._safely(interaction, target)
            finally:
                done.set()

        threading.Thread(target=work, name="guildlog-command", daemon=True).start()
        if done.wait(self.defer_after):
            return True, box.get("reply") or Reply(BROKEN)
        return False, None

    def _defer(self, job: WorkerJob, component: bool) -> dict[str, Any]:
        try:
            self.invoker.invoke(job)
        except Exception as exc:  # the worker cannot be reached: say so now, while we still can
            log.error("worker invoke failed", extra={"error": type(exc).__name__})
            return update(Reply(NO_WORKER)) if component else message(Reply(NO_WORKER))
        if component:
            return {"type": p.DEFERRED_UPDATE_MESSAGE}
        return {"type": p.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": p.EPHEMERAL}}

    def _hand_over(self, job: WorkerJob) -> None:
        """Log-only job: a failure is reported (metric and log line), never shown to the member."""
        try:
            self.invoker.invoke(job.model_copy(update={"token": None, "followup": False}))
        except Exception as exc:
            log.error("command not handed over for logging", extra={"error": type(exc).__name__})


def _job(payload: dict[str, Any], interaction: Interaction, received_at: datetime) -> WorkerJob:
    logged = {k: v for k, v in payload.items() if k != "token"}
    return WorkerJob(interaction=logged, token=interaction.token, followup=True, received_at=received_at)


def message(reply: Reply) -> dict[str, Any]:
    return {"type": p.CHANNEL_MESSAGE_WITH_SOURCE, "data": reply.message_data()}


def update(reply: Reply) -> dict[str, Any]:
    """A button's answer: the page replaces the message the button is on."""
    data = reply.message_data()
    data.pop("flags", None)  # an update keeps the message's flags
    return {"type": p.UPDATE_MESSAGE, "data": data}
