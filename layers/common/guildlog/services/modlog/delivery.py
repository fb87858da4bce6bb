"""The moderation log's delivery: queued rows → rendered posts → as few Discord messages as the limits allow.

NotifyFunction hands `Deliverer.deliver` one SQS batch (jobs in queue order, grouped by guild).
For each job it reads the guild's configuration afresh (a change takes effect on the next event),
picks the log channel, leaves out what is ignored, renders the post, and drops what was already
posted (a marker per event and channel). Posts for one channel are coalesced in order into
messages of at most 10 embeds and 6,000 characters. A message goes out as a bot message with a
`nonce` and `enforce_nonce` (Discord returns the first message instead of a second), or through
the channel's webhook when the guild chose webhooks; `allowed_mentions` is always empty.

Failures: a 403/404 on a log channel stops posting there (recorded in the configuration, shown
by `/logs status` and `/logs config show`) and its posts are dropped, not retried in a loop.
Anything else that fails (Discord down, rate limited past the deadline, storage) fails that job
and every later job of its guild, so the queue redelivers them in order; the markers keep what
did go out from going out twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from guildlog.errors import DiscordTargetGoneError, GuildlogError
from guildlog.models.config import GuildConfig
from guildlog.services.commands.context import HotReader
from guildlog.services.modlog.common import BLUE, NEW_ACCOUNT_DAYS, Rendered, embed, user
from guildlog.services.modlog.kinds import details_of, kind_of
from guildlog.services.modlog.limits import EMBEDS_PER_MESSAGE, MESSAGE_TOTAL, embed_length, fit_embed
from guildlog.services.modlog.lookup import context_for, kick_already_told
from guildlog.services.modlog.render import RENDERERS
from guildlog.services.modlog.routing import ignored, target_channel

NO_MENTIONS: dict[str, Any] = {"parse": []}
# `/logs config test` queues rows of this type: posted to the named channel whatever the routes say.
LOG_TEST = "GUILDLOG_LOG_TEST"
WEBHOOK_NAME = "guildlog"
# A webhook the bot may not create (no Manage Webhooks): bot messages instead, without asking again.
NO_WEBHOOK = "-"
# Discord's nonce: an integer or a string of at most 25 characters.
NONCE_LENGTH = 25


@dataclass(frozen=True)
class Job:
    """One queued row: the SQS message id (for failure reporting), its guild, and the row as a dict."""

    record_id: str
    guild_id: str
    row: Mapping[str, Any]


@dataclass
class Post:
    job_index: int
    event_id: str
    channel_id: str
    rendered: Rendered


@dataclass
class DeliveryReport:
    failed: list[str] = field(default_factory=list)  # record ids to redeliver
    posted_events: int = 0
    messages: int = 0
    skipped: int = 0  # not postable, not routed, ignored, or already posted
    stopped_channels: list[str] = field(default_factory=list)


class Discord(Protocol):
    def create_message(
        self, channel_id: str, body: dict[str, Any], *, files: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]: ...
    def create_webhook(self, channel_id: str, name: str) -> dict[str, Any]: ...
    def execute_webhook(
        self, webhook_id: str, webhook_token: str, body: dict[str, Any], *, files: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]: ...


class LogStore(Protocol):
    def config(self, guild_id: str) -> GuildConfig | None: ...
    def posted(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def mark_posted(self, keys: list[tuple[str, str]]) -> None: ...
    def stop_channel(self, guild_id: str, channel_id: str, reason: str) -> None: ...
    def save_webhook(self, guild_id: str, channel_id: str, value: str) -> None: ...


class Deliverer:
    def __init__(
        self,
        discord: Discord,
        store: LogStore,
        reader: HotReader,
        *,
        new_account_days: int = NEW_ACCOUNT_DAYS,
        on_error: Callable[[str, GuildlogError], None] | None = None,
    ) -> None:
        self.discord = discord
        self.store = store
        self.reader = reader
        self.new_account_days = new_account_days
        self.on_error = on_error

    def deliver(self, jobs: list[Job]) -> DeliveryReport:
        report = DeliveryReport()
        by_guild: dict[str, list[int]] = {}
        for index, job in enumerate(jobs):
            by_guild.setdefault(job.guild_id, []).append(index)
        for guild_id, indexes in by_guild.items():
            failed_from = self._deliver_guild(guild_id, [jobs[i] for i in indexes], indexes, report)
            if failed_from is not None:
                report.failed.extend(jobs[i].record_id for i in indexes if i >= failed_from)
        return report

    def _deliver_guild(self, guild_id: str, jobs: list[Job], indexes: list[int], report: DeliveryReport) -> int | None:
        """Post one guild's jobs; the queue index from which they must be redelivered, or None."""
        try:
            config = self.store.config(guild_id)
            posts = self._posts(jobs, indexes, config, report) if config is not None else []
        except GuildlogError as exc:
            self._error(guild_id, exc)
            return indexes[0]
        if config is None:
            report.skipped += len(jobs)
            return None
        try:
            done = self.store.posted([(p.event_id, p.channel_id) for p in posts])
        except GuildlogError as exc:
            self._error(guild_id, exc)
            return indexes[0]
        fresh = [p for p in posts if (p.event_id, p.channel_id) not in done]
        report.skipped += len(posts) - len(fresh)
        by_channel: dict[str, list[Post]] = {}
        for post in fresh:
            by_channel.setdefault(post.channel_id, []).append(post)
        failed_from: int | None = None
        for channel_id, channel_posts in by_channel.items():
            for message in coalesce(channel_posts):
                if failed_from is not None and message[0].job_index >= failed_from:
                    break
                try:
                    self._send(config, channel_id, message)
                    self.store.mark_posted([(p.event_id, p.channel_id) for p in message])
                    if channel_id in config.log_channel_errors:
                        # Only a test post gets here: the channel works again.
                        self.store.stop_channel(guild_id, channel_id, "")
                        del config.log_channel_errors[channel_id]
                except DiscordTargetGoneError as exc:
                    self._stop(config, channel_id, exc, report)
                    break
                except GuildlogError as exc:
                    self._error(guild_id, exc)
                    first = message[0].job_index
                    failed_from = first if failed_from is None else min(failed_from, first)
                    break
                report.messages += 1
                report.posted_events += len(message)
        return failed_from

    def _posts(self, jobs: list[Job], indexes: list[int], config: GuildConfig, report: DeliveryReport) -> list[Post]:
        posts: list[Post] = []
        for job, index in zip(jobs, indexes, strict=True):
            row = job.row
            if row.get("event_type") == LOG_TEST:
                channel_id = str(details_of(row).get("channel") or "")
                if channel_id:
                    posts.append(Post(index, str(row.get("event_id")), channel_id, log_test(row, config)))
                continue
            kind = kind_of(row)
            channel = target_channel(kind, config) if kind else None
            if kind is None or channel is None:
                report.skipped += 1
                continue
            if kind == "member_kick" and kick_already_told(row, self.reader):
                report.skipped += 1
                continue
            context = context_for(kind, row, self.reader, new_account_days=self.new_account_days)
            if ignored(row, config, context.versions):
                report.skipped += 1
                continue
            rendered = RENDERERS[kind](row, context)
            posts.append(
                Post(index, str(row.get("event_id")), channel, Rendered(fit_embed(rendered.embed), rendered.files))
            )
        return posts

    def _send(self, config: GuildConfig, channel_id: str, message: list[Post]) -> None:
        body: dict[str, Any] = {"embeds": [p.rendered.embed for p in message], "allowed_mentions": NO_MENTIONS}
        files = [f for p in message for f in p.rendered.files] or None
        if config.delivery == "webhook":
            hook = self._webhook(config, channel_id)
            if hook is not None:
                webhook_id, token = hook.split("/", 1)
                try:
                    self.discord.execute_webhook(webhook_id, token, body, files=files)
                    return
                except DiscordTargetGoneError:
                    # The webhook was deleted (or the channel): forget it; a bot message tells which.
                    self.store.save_webhook(config.guild_id, channel_id, "")
        body["nonce"] = nonce_of(message)
        body["enforce_nonce"] = True
        self.discord.create_message(channel_id, body, files=files)

    def _webhook(self, config: GuildConfig, channel_id: str) -> str | None:
        known = config.webhooks.get(channel_id)
        if known == NO_WEBHOOK:
            return None
        if known and "/" in known:
            return known
        try:
            created = self.discord.create_webhook(channel_id, WEBHOOK_NAME)
        except DiscordTargetGoneError:
            self.store.save_webhook(config.guild_id, channel_id, NO_WEBHOOK)
            config.webhooks[channel_id] = NO_WEBHOOK
            return None
        value = f"{created['id']}/{created['token']}"
        self.store.save_webhook(config.guild_id, channel_id, value)
        config.webhooks[channel_id] = value
        return value

    def _stop(self, config: GuildConfig, channel_id: str, exc: DiscordTargetGoneError, report: DeliveryReport) -> None:
        status = exc.fields.get("status")
        reason = "no access (403)" if status == 403 else "channel not found (404)"
        self.store.stop_channel(config.guild_id, channel_id, reason)
        config.log_channel_errors[channel_id] = reason
        report.stopped_channels.append(channel_id)
        self._error(config.guild_id, exc)

    def _error(self, guild_id: str, exc: GuildlogError) -> None:
        if self.on_error is not None:
            self.on_error(guild_id, exc)


def coalesce(posts: list[Post]) -> list[list[Post]]:
    """Consecutive posts in messages of at most 10 embeds and 6,000 characters; a post with files alone."""
    messages: list[list[Post]] = []
    current: list[Post] = []
    size = 0
    for post in posts:
        length = embed_length(post.rendered.embed)
        alone = bool(post.rendered.files)
        if current and (
            alone or len(current) >= EMBEDS_PER_MESSAGE or size + length > MESSAGE_TOTAL or current[0].rendered.files
        ):
            messages.append(current)
            current, size = [], 0
        current.append(post)
        size += length
    if current:
        messages.append(current)
    return messages


def nonce_of(message: list[Post]) -> str:
    """The same events in the same channel always give the same nonce: a resent message is recognised."""
    key = "|".join([message[0].channel_id, *(p.event_id for p in message)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:NONCE_LENGTH]


def log_test(row: Mapping[str, Any], config: GuildConfig) -> Rendered:
    """The test post: who asked, and how this guild's log is delivered."""
    how = "a channel webhook" if config.delivery == "webhook" else "bot messages"
    text = f"Test post asked for by {user(row.get('user_id'))}. The moderation log posts here, as {how}."
    return Rendered(fit_embed(embed("guildlog: log test", BLUE, row, description=text)))
