"""The demo's slash-command steps: Discord's side of the interactions webhook, played on loopback.

After the replay, interactions are built the way Discord builds them (a moderator of the recorded
server runs the commands), signed with the stack's dev Discord key, and POSTed to the stack's
`/interactions` route. The answers are printed as a member would read them (Discord's `<t:…>`,
`<@…>` and `<#…>` markup shown as times and the recording's names). A deferred `/stats` is
finished by WorkerFunction, run in-process by the local Lambda Invoke API, which edits the answer
on the local fake Discord; the demo prints that edit.

The command services' clock is pinned a few minutes after the recording ends (GUILDLOG_NOW on
the stack's functions), so "today" and "30 days" mean the recording's days whenever it is replayed.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from guildlog.errors import GuildlogError
from guildlog.services.commands import protocol as p
from guildlog.services.timefmt import DISCORD_EPOCH_MS, iso

if TYPE_CHECKING:
    from guildlog_tools.local.demo import DemoRun
    from guildlog_tools.local.stack import LocalStack

# How long after the recording's last frame the commands are "run".
PINNED_AFTER_RECORDING = timedelta(minutes=5)
# Moto on a busy machine can take longer than Lambda's 0.8 s budget for a quick command; the demo
# shows every quick answer inline (the deferred /stats and /logs export defer by definition).
DEMO_DEFER_AFTER_S = "30"
FOLLOWUP_TIMEOUT_S = 60
HTTP_TIMEOUT_S = 30


def function_environment(session_file: Path) -> dict[str, str]:
    """The demo stack's extra function environment: the commands' clock, pinned after the recording."""
    last: datetime | None = None
    for line in session_file.read_text(encoding="utf-8").splitlines():
        try:
            received = json.loads(line).get("received_at")
            moment = datetime.fromisoformat(str(received).replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            continue
        last = moment if last is None or moment > last else last
    if last is None:
        return {"GUILDLOG_DEFER_AFTER": DEMO_DEFER_AFTER_S}
    return {
        "GUILDLOG_NOW": iso(last + PINNED_AFTER_RECORDING).replace(".000Z", "Z"),
        "GUILDLOG_DEFER_AFTER": DEMO_DEFER_AFTER_S,
    }


# ---------------------------------------------------------------- Discord's side


class DiscordSide:
    """Builds, signs and POSTs interactions to a local stack, as Discord does."""

    def __init__(
        self, stack: LocalStack, guild_id: str, moderator_id: str, channel_id: str, pinned: datetime | None = None
    ) -> None:
        from guildlog.adapters.signatures import Signer

        assert stack.keys is not None
        self.stack = stack
        self.signer = Signer(stack.keys.discord_private_key)
        self.application_id = stack.keys.application_id
        self.guild_id = guild_id
        self.moderator_id = moderator_id
        self.channel_id = channel_id
        self._low_bits = secrets.randbits(12) << 10
        # Interactions are dated by the stack's pinned clock (their snowflake is when they happened),
        # so the commands' log entries land on the recording's day, not on the day the demo runs.
        self._pinned_ms = int(pinned.timestamp() * 1000) if pinned else None
        self._started = time.monotonic()

    def snowflake(self) -> str:
        if self._pinned_ms is None:
            now_ms = int(time.time() * 1000)
        else:
            now_ms = self._pinned_ms + int((time.monotonic() - self._started) * 1000)
        millis = now_ms - DISCORD_EPOCH_MS
        self._low_bits = (self._low_bits + 1) % (1 << 22)
        return str((millis << 22) | self._low_bits)

    def command(self, *path: str, **options: Any) -> dict[str, Any]:
        """An APPLICATION_COMMAND interaction for `/path…` with `options` (user ids resolve as members)."""
        typed = {"user": p.USER, "channel": p.CHANNEL, "days": p.INTEGER, "enabled": p.BOOLEAN}
        leaf = [{"name": k, "type": typed.get(k, p.STRING), "value": v} for k, v in options.items()]
        nested: list[dict[str, Any]] = leaf
        for depth in range(len(path) - 1, 0, -1):
            kind = p.SUB_COMMAND if depth == len(path) - 1 else p.SUB_COMMAND_GROUP
            nested = [{"name": path[depth], "type": kind, "options": nested}]
        data: dict[str, Any] = {"id": self.snowflake(), "name": path[0], "type": p.CHAT_INPUT, "options": nested}
        users = [str(v) for k, v in options.items() if k == "user"]
        if users:
            data["resolved"] = {
                "users": {u: {"id": u, "username": u} for u in users},
                "members": {u: {"roles": []} for u in users},
            }
        channels = [str(v) for k, v in options.items() if k == "channel"]
        if channels:
            resolved = data.setdefault("resolved", {})
            resolved["channels"] = {c: {"id": c, "type": 0, "guild_id": self.guild_id} for c in channels}
        return self._interaction(p.APPLICATION_COMMAND, data)

    def click(self, custom_id: str) -> dict[str, Any]:
        payload = self._interaction(p.MESSAGE_COMPONENT, {"custom_id": custom_id, "component_type": p.BUTTON})
        payload["message"] = {"id": self.snowflake(), "flags": p.EPHEMERAL}
        return payload

    def ping(self) -> dict[str, Any]:
        return {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": p.PING,
            "token": "-",
            "version": 1,
        }

    def _interaction(self, kind: int, data: dict[str, Any]) -> dict[str, Any]:
        interaction_id = self.snowflake()
        return {
            "id": interaction_id,
            "application_id": self.application_id,
            "type": kind,
            "token": "demo-" + secrets.token_urlsafe(24),
            "version": 1,
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "member": {
                "user": {"id": self.moderator_id, "username": "moderator"},
                "roles": [],
                "permissions": str(p.MANAGE_GUILD | (1 << 10) | (1 << 11)),
            },
            "data": data,
            "locale": "en-US",
        }

    def send(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST the signed interaction; (status, JSON answer)."""
        body = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)"}
        headers.update(self.signer.headers(body))
        target = urlsplit(self.stack.interactions_url)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=HTTP_TIMEOUT_S)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read() or b"{}")
        finally:
            connection.close()


# ---------------------------------------------------------------- the step


@dataclass
class _Show:
    """Discord's markup as a member would read it, with the recording's names."""

    run: DemoRun
    answered: int = 0  # interactions answered 200
    titles: list[str] = field(default_factory=list)

    def text(self, content: str) -> str:
        facts = self.run.session
        shown = re.sub(r"<t:(\d+):[a-zA-Z]>", lambda m: _utc(int(m.group(1))), content)
        shown = re.sub(r"<@!?(\d+)>", lambda m: "@" + facts.user(m.group(1)), shown)
        shown = re.sub(r"<#(\d+)>", lambda m: facts.channel(m.group(1)), shown)
        shown = re.sub(r"\\([\\*_~`|>#\[\]])", r"\1", shown)
        return shown.replace("**", "")

    def answer(self, status: int, answer: dict[str, Any]) -> Iterator[str]:
        kind = answer.get("type")
        names = {1: "PONG", 4: "message", 5: "deferred (thinking…)", 6: "deferred update", 7: "updated message"}
        data = answer.get("data") or {}
        flags = " (ephemeral)" if int(data.get("flags") or 0) & p.EPHEMERAL else ""
        yield f"<- HTTP {status}, type {kind} {names.get(kind, '')}{flags}".rstrip()
        for line in self.text(str(data.get("content") or "")).splitlines():
            yield f"   | {line}"
        for row in data.get("components") or []:
            buttons = [
                f"[{b.get('label')}{' (disabled)' if b.get('disabled') else ''}]" for b in row.get("components", [])
            ]
            yield "   | " + " ".join(buttons)


def send_slash_commands(run: DemoRun) -> None:
    """Slash commands as Discord sends them, and what comes back (including a deferred /stats)."""
    facts = run.session
    guild = facts.guild_id
    run.heading("Slash commands: signed with the dev Discord key, POSTed to /interactions as Discord would")
    if not guild:
        run.line("the session names no guild")
        return
    moderator, deleted = _moderator_and_deleted_message(run)
    # Moderators run commands in their own channel; any channel of the server will do otherwise.
    named = {name: channel_id for channel_id, name in facts.channels.items()}
    channel = named.get("mod-log") or next(iter(facts.channels), guild)
    pinned = run.stack.function_environment.get("GUILDLOG_NOW")
    moment = datetime.fromisoformat(pinned.replace("Z", "+00:00")) if pinned else None
    discord = DiscordSide(run.stack, guild, moderator or next(iter(facts.users), guild), channel, moment)
    show = _Show(run)
    if pinned:
        run.line(f"(the commands' clock is pinned to {pinned}, just after the recording)")

    def exchange(title: str, payload: dict[str, Any]) -> dict[str, Any]:
        run.line()
        run.line(f"-> {title}")
        status, answer = discord.send(payload)
        show.answered += status == 200
        show.titles.append(" ".join(word for word in title.split(" (", 1)[0].split() if ":" not in word))
        for line in show.answer(status, answer):
            run.line(line, 2)
        if status != 200:
            raise GuildlogError(f"{title} was answered {status}", status=status)
        return answer

    exchange("PING (what Discord sends to check the endpoint)", discord.ping())
    exchange("/logs status", discord.command("logs", "status"))
    if deleted is not None:
        message_id, channel_id = deleted
        link = f"https://discord.com/channels/{guild}/{channel_id}/{message_id}"
        exchange(f"/logs message message:{link}", discord.command("logs", "message", message=link))
    exchange("/logs search category:moderation", discord.command("logs", "search", category="moderation"))
    answer = exchange("/logs search (everything, newest first)", discord.command("logs", "search"))
    older = _button(answer, "Older")
    if older:
        exchange("click [Older] (its custom id is a cursor signed for this server and member)", discord.click(older))
    if moderator:
        exchange(
            f"/stats period:7d user:@{facts.user(moderator)}", discord.command("stats", period="7d", user=moderator)
        )
    edits_before = len(run.stack.discord.edits) if run.stack.discord is not None else 0
    exchange("/stats period:30d (deferred: WorkerFunction edits the answer)", discord.command("stats", period="30d"))
    _print_followup(run, show, edits_before)
    _print_logged_commands(run, show)


def _print_followup(run: DemoRun, show: _Show, edits_before: int) -> None:
    discord = run.stack.discord
    if discord is None:
        raise GuildlogError("the local stack has no fake Discord for follow-ups")
    edits = discord.wait_for_edits(edits_before + 1, timeout=FOLLOWUP_TIMEOUT_S)
    if len(edits) <= edits_before:
        raise GuildlogError(f"WorkerFunction did not edit the deferred answer within {FOLLOWUP_TIMEOUT_S} s")
    edit = edits[edits_before]
    run.line(f"<- WorkerFunction: {edit.method} /webhooks/{edit.application_id}/***/messages/@original", 2)
    for line in show.text(str(edit.body.get("content") or "")).splitlines():
        run.line(f"   | {line}", 2)


def _print_logged_commands(run: DemoRun, show: _Show) -> None:
    """Every use is logged as a `command` event by WorkerFunction (GSI3 `G#<guild>#K#command`)."""
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services import keys

    if run.stack.lambda_api is not None:
        run.stack.lambda_api.drain(FOLLOWUP_TIMEOUT_S)
    reader = HotReader(run.stack.table, run.stack.client("dynamodb"))
    page = reader.query_feed(
        run.session.guild_id,
        index="GSI3",
        pk=keys.category_index_pk(run.session.guild_id, "command"),
        sk_from=keys.FEED_FIRST,
        sk_to=keys.FEED_LAST,
        limit=100,
    )
    ours = [i for i in page.items if str(i.get("event_id", "")).startswith("interaction:")]
    run.note(
        f"slash commands: {show.answered} interactions answered over /interactions "
        f"({', '.join(show.titles)}); {len(ours)} logged as `command` events"
    )
    run.line()
    run.line(f"{len(ours)} interactions logged as `command` events (source interaction), newest first:")
    for item in ours:
        details = json.loads(str(item.get("details") or "{}"))
        what = details.get("command") or ("button " + str(details.get("custom_id", ""))[:12] + "…")
        run.line(f"{item.get('event_id')}  {item.get('action'):<9} {what}", 2)


def _moderator_and_deleted_message(run: DemoRun) -> tuple[str | None, tuple[str, str] | None]:
    """A moderator of the recording (who deleted a message), and that message (id, channel)."""
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services.commands.message import message_history

    reader = HotReader(run.stack.table, run.stack.client("dynamodb"))
    fallback: tuple[str | None, tuple[str, str] | None] = (None, None)
    for message_id in dict.fromkeys(run.session.deleted):
        history = message_history(reader, message_id, run.session.guild_id)
        if history is None or not history.channel_id:
            continue
        if history.deleted_by is not None and not (history.deletion or {}).get("bulk"):
            return str(history.deleted_by.get("actor_id")), (message_id, history.channel_id)
        if fallback[1] is None and history.versions:
            fallback = (None, (message_id, history.channel_id))
    return fallback


def _button(answer: dict[str, Any], label: str) -> str | None:
    for row in (answer.get("data") or {}).get("components") or []:
        for button in row.get("components", []):
            if button.get("label") == label and not button.get("disabled"):
                return str(button.get("custom_id"))
    return None


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
