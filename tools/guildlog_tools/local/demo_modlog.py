"""The demo's moderation log: set a log channel with `/logs config channel` before the replay, and at the
end print what the stack posted there, as a moderator reading the channel would see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from guildlog.errors import GuildlogError

if TYPE_CHECKING:
    from guildlog_tools.local.demo import DemoRun

LOG_CHANNEL_NAME = "mod-log"
POSTS_TIMEOUT_S = 60.0
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_TIME = re.compile(r"<t:(\d+)(?::[tTdDfFR])?>")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")


def log_channel(run: DemoRun) -> str:
    """The recording's #mod-log channel, or any of its channels."""
    facts = run.session
    named = {name: channel_id for channel_id, name in facts.channels.items()}
    return named.get(LOG_CHANNEL_NAME) or next(iter(facts.channels), facts.guild_id or "")


def configure_log(run: DemoRun) -> None:
    """The log channel, set before the recorded events happen, as `/logs config channel` stores it.

    Written straight to the config item (with the command's own store): an interaction sent now would
    be logged with today's date, outside the recording's days that the later steps report on.
    """
    from guildlog.adapters.command_store import CommandStore

    facts = run.session
    if not facts.guild_id:
        return
    channel = log_channel(run)
    moderator = next(iter(facts.users), facts.guild_id)
    run.heading(f"The moderation log: /logs config channel channel:{facts.channel(channel)} (set before the session)")
    store = CommandStore(run.stack.table, run.stack.client("dynamodb"))
    store.update_config(
        facts.guild_id, actor_id=moderator, at="2026-01-01T00:00:00.000Z", set_fields={"log_channel_id": channel}
    )
    run.line(f"every event the log posts goes to {facts.channel(channel)}; bots' messages are left out")


def show_log_channels(run: DemoRun) -> None:
    """Every message the stack posted to the fake Discord, channel by channel, as Discord shows it."""
    fake = run.stack.discord
    poller = run.stack.sqs_poller
    if fake is None or poller is None:
        return
    poller.wait_idle(POSTS_TIMEOUT_S)
    messages = list(fake.messages)
    run.heading(f"The log channels, as a moderator sees them ({len(messages)} messages posted by NotifyFunction)")
    if not messages:
        run.line("nothing was posted")
        return
    by_channel: dict[str, list[Any]] = {}
    for message in messages:
        by_channel.setdefault(message.channel_id, []).append(message)
    for channel_id, posted in by_channel.items():
        embeds = sum(len(m.body.get("embeds") or []) for m in posted)
        run.line(f"{run.session.channel(channel_id)}  ({len(posted)} messages, {embeds} entries)")
        for message in posted:
            for embed in message.body.get("embeds") or []:
                for line in embed_lines(run, embed):
                    run.line(line, 2)
            for name in message.body.get("files") or {}:
                run.line(f"📎 {name}", 3)
            mentions = message.body.get("allowed_mentions")
            if mentions != {"parse": []}:
                raise GuildlogError("a log post could mention someone", allowed_mentions=str(mentions))


def embed_lines(run: DemoRun, embed: dict[str, Any]) -> list[str]:
    """One log entry as text: a bar, the title and time, the description, the fields."""
    when = str(embed.get("timestamp") or "")[:19].replace("T", " ")
    lines = [f"┃ {embed.get('title', '')}" + (f"  · {when} UTC" if when else "")]
    for text in str(embed.get("description") or "").splitlines():
        lines.append(f"┃   {plain(run, text)}")
    for item in embed.get("fields") or []:
        lines.append(f"┃   {item.get('name')}: {plain(run, str(item.get('value') or ''))}")
    return lines


def plain(run: DemoRun, text: str) -> str:
    """Discord's markup as a reader sees it: names for mentions, dates for timestamps, link text."""
    facts = run.session
    text = _USER.sub(lambda m: "@" + facts.user(m.group(1)), text)
    text = _ROLE.sub(lambda m: "@role:" + m.group(1)[-4:], text)
    text = _CHANNEL.sub(lambda m: facts.channel(m.group(1)) if m.group(1) in facts.channels else "#" + m.group(1), text)
    text = _TIME.sub(lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"), text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    return text.replace("**", "")
