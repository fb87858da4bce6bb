"""The moderation log's delivery: queued rows → rendered posts → as few Discord messages as the limits allow.

NotifyFunction hands `Deliverer.deliver` one SQS batch (jobs in queue order, grouped by guild).
For each job it reads the guild's configuration afresh (a change takes effect on the next event),
picks the log channel, leaves out what is ignored, renders the post, and drops what was already
posted (a marker per event and channel). Posts for one channel are coalesced in order into
messages of at most 10 embeds and 6,000 characters. A message goes out as a bot message with a
`nonce` and `enforce_nonce` (Discord returns the first message instead of a second), or through
the channel's webhook when the guild chose webhooks; `allowed_mentions` is always empty.

Waiting: Discord's audit-log entry (who banned, who timed out, and why) usually arrives a moment
after the event it explains. A ban, unban or timeout row fresh from the gateway whose entry is not
in the hot store yet is not posted at once: it and the guild's later jobs go round the queue again
after AUDIT_WAIT_SECONDS (`DeliveryReport.waiting`), at most until its AUDIT_TRIES-th delivery;
then it is posted saying the entry was not there.

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
from datetime import datetime, timedelta
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
from guildlog.services.timefmt import parse_time, utcnow

NO_MENTIONS: dict[str, Any] = {"parse": []}
# `/logs config test` queues rows of this type: posted to the named channel whatever the routes say.
LOG_TEST = "GUILDLOG_LOG_TEST"
WEBHOOK_NAME = "guildlog"
# A webhook the bot may not create (no Manage Webhooks): bot messages instead, without asking again.
NO_WEBHOOK = "-"
# Discord's nonce: an integer or a string of at most 25 characters.
NONCE_LENGTH = 25
# The kinds whose post names the moderator from the audit log, and how long and how often such a
# post waits for its entry (the entry usually follows within a second or two).
AWAITS_AUDIT = frozenset({"member_ban", "member_unban", "member_timeout"})
AUDIT_WAIT_SECONDS = 5
AUDIT_TRIES = 3
# Older rows (a redrive, a backlog) are posted as they are: their entry is not coming any more.
AUDIT_FRESH = timedelta(minutes=1)


@dataclass(frozen=True)
class Job:
    """One queued row: the SQS message id (for failure reporting), its guild, and the row as a dict."""

    record_id: str
    guild_id: str
    row: Mapping[str, Any]
    # Which delivery of the record this is (SQS's ApproximateReceiveCount).
    receive_count: int = 1


@dataclass
class Post:
    job_index: int
    event_id: str
    channel_id: str
    rendered: Rendered


@dataclass
class DeliveryReport:
    failed: list[str] = field(default_factory=list)  # record ids to redeliver
    # Those of `failed` that wait for an audit entry: to redeliver after AUDIT_WAIT_SECONDS, not later.
    waiting: list[str] = field(default_factory=list)
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
        clock: Callable[[], datetime] = utcnow,
        links: Any = None,
    ) -> None:
        # Presigned links to attachment copies in a deleted message's post (adapters.s3_attachments).
        self.links = links
        self.discord = discord
        self.store = store
        self.reader = reader
        self.new_account_days = new_account_days
        self.on_error = on_error
        self.clock = clock

    def deliver(self, jobs: list[Job]) -> DeliveryReport:
        report = DeliveryReport()
        by_guild: dict[str, list[int]] = {}
        for index, job in enumerate(jobs):
            by_guild.setdefault(job.guild_id, []).append(index)
        for guild_id, indexes in by_guild.items():
            failed_from, wait_from = self._deliver_guild(guild_id, [jobs[i] for i in indexes], indexes, report)
            if failed_from is not None:
                again = [jobs[i].record_id for i in indexes if i >= failed_from]
                report.failed.extend(again)
                if failed_from == wait_from:
                    report.waiting.extend(again)
        return report

    def _deliver_guild(
        self, guild_id: str, jobs: list[Job], indexes: list[int], report: DeliveryReport
    ) -> tuple[int | None, int | None]:
        """Post one guild's jobs: the queue index from which they must be redelivered (or None), and
        the index of the first job that waits for its audit entry (or None)."""
        try:
            config = self.store.config(guild_id)
            posts, wait_from = self._posts(jobs, indexes, config, report) if config is not None else ([], None)
        except GuildlogError as exc:
            self._error(guild_id, exc)
            return indexes[0], None
        if config is None:
            report.skipped += len(jobs)
            return None, None
        try:
            done = self.store.posted([(p.event_id, p.channel_id) for p in posts])
        except GuildlogError as exc:
            self._error(guild_id, exc)
            return indexes[0], None
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
        if wait_from is not None and (failed_from is None or wait_from < failed_from):
            failed_from = wait_from
        return failed_from, wait_from

    def _posts(
        self, jobs: list[Job], indexes: list[int], config: GuildConfig, report: DeliveryReport
    ) -> tuple[list[Post], int | None]:
        """The posts of the jobs up to the first that waits for its audit entry (whose index comes second)."""
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
            context = context_for(kind, row, self.reader, new_account_days=self.new_account_days, links=self.links)
            if ignored(row, config, context.versions):
                report.skipped += 1
                continue
            if context.audit is None and self._awaits_audit(kind, job):
                return posts, index
            rendered = RENDERERS[kind](row, context)
            posts.append(
                Post(index, str(row.get("event_id")), channel, Rendered(fit_embed(rendered.embed), rendered.files))
            )
        return posts, None

    def _awaits_audit(self, kind: str, job: Job) -> bool:
        """Whether a post without its audit entry should wait for it: a live row, young, not waited on enough."""
        row = job.row
        if row.get("action") == "timeout":
            kind = "member_timeout"
        if kind not in AWAITS_AUDIT or row.get("source") != "gateway" or job.receive_count >= AUDIT_TRIES:
            return False
        occurred = parse_time(row.get("occurred_at"))
        return occurred is not None and self.clock() - occurred < AUDIT_FRESH

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
