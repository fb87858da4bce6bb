"""/logs forget user, /forget-me, /logs forget receipts: a member's erasure, asked from Discord.

Erasing cannot be undone, so it takes two steps: the command without `code` says what will be erased
and gives a six-character code (kept 10 minutes, for this requester and this member only); the same
command with that code starts the job. A second command (not a button) because a code survives the
15 minutes a button's interaction token lives and a client that drops components, and a mistyped
member cannot be confirmed by a stray click. `/logs forget user` needs Manage Server;
`/forget-me` is any member's, about themselves only (a command of its own, which every member sees).
The receipt comes by direct message when the job ends, and `/logs forget receipts` lists the guild's
receipts (a member without Manage Server sees their own).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from guildlog.errors import CommandError
from guildlog.services.commands.context import Call, Ports, Reply, when
from guildlog.services.timefmt import iso

CODE_MINUTES = 10
NOT_SET_UP = (
    "Erasure is not set up on this guildlog stack (no ForgetQueue); the server's operator can run `guildlog forget`."
)


class ErasurePort(Protocol):
    def new_code(self, guild_id: str, requester_id: str, user_id: str, expires_at: int) -> str: ...
    def confirm(self, guild_id: str, requester_id: str, user_id: str, code: str, now: int) -> bool: ...
    def start(self, job: Any) -> None: ...
    def receipts(self, guild_id: str, limit: int = 10) -> list[Any]: ...


def _port(ports: Ports) -> ErasurePort:
    port = getattr(ports, "erasure", None)
    if port is None:
        raise CommandError(NOT_SET_UP)
    return port


def user(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Erasing a member")
    target = call.user_option("member")
    if target is None:
        raise CommandError("`member` is required.")
    return _erase(call, ports, target, f"<@{target}>", "/logs forget user member:<the member> code:{code}")


def me(call: Call, ports: Ports) -> Reply:
    return _erase(call, ports, call.user_id, "you", "/forget-me code:{code}")


def _erase(call: Call, ports: Ports, target: str, who: str, again: str) -> Reply:
    from guildlog.models.erasure_job import ErasureJobMessage

    port = _port(ports)
    now = ports.now()
    code = call.string_option("code")
    if code is None:
        expires = now + timedelta(minutes=CODE_MINUTES)
        fresh = port.new_code(call.guild_id, call.user_id, target, int(expires.timestamp()))
        return Reply(
            f"This erases {who} from guildlog's record of this server: the text of every message, names and "
            "avatars, and attachment copies — from the searchable logs, the archive and the exports. Who did "
            "what and when (ids, times, channels, counts) stays. It cannot be undone.\n"
            f"To go ahead, run `{again.format(code=fresh)}` before {when(iso(expires), 't')}."
        )
    if not port.confirm(call.guild_id, call.user_id, target, code, int(now.timestamp())):
        raise CommandError(
            "That code is not the one given, or it has expired: run the command without `code` for a new one."
        )
    job = ErasureJobMessage(
        guild_id=call.guild_id,
        user_id=target,
        job_id=f"i{call.interaction.id}",
        requested_by=call.user_id,
        requested_at=iso(now),
        notify_user_id=call.user_id,
    )
    port.start(job)
    return Reply(
        f"Erasure started (job `{job.job_id}`). From now on nothing new of {who} is recorded in this server. "
        "The archive is rewritten within the next hours; the receipt comes to you by direct message, and "
        "`/logs forget receipts` lists it."
    )


def receipts(call: Call, ports: Ports) -> Reply:
    found = _port(ports).receipts(call.guild_id, 10)
    if not call.can_manage_guild:
        found = [r for r in found if r.user_id == call.user_id]
    if not found:
        return Reply("No erasure receipts yet in this server.")
    lines = ["**Erasure receipts** (newest first)"]
    for receipt in found:
        whom = "the whole server" if receipt.user_id == "*" else f"<@{receipt.user_id}>"
        lines.append(
            f"- `{receipt.job_id}` {whom}, asked by <@{receipt.requested_by}>, finished {when(receipt.finished_at)}: "
            f"{sum(sum(d.values()) for d in receipt.archive.values())} archive lines, "
            f"{sum(receipt.hot.values())} searchable items, {receipt.exports_deleted} exports, "
            f"{receipt.attachments_deleted} attachment copies; verification "
            f"{'found nothing left' if receipt.verification.clean else 'found something left'} "
            f"({receipt.verification.objects_checked} objects read)"
        )
    return Reply("\n".join(lines))
