"""What a command's service gets (`Call`, `Ports`) and gives back (`Reply`).

A service is `run(call, ports) -> Reply`: pure logic over the ports, so the same function answers
inline in InteractionsFunction, later in WorkerFunction, and in the unit tests over in-memory fakes.
A `CommandError` raised anywhere becomes an ephemeral answer with its message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from guildlog.errors import CommandError
from guildlog.models.interaction import CommandOption, Interaction, Resolved
from guildlog.services.commands import protocol as p

Item = dict[str, Any]


# ---------------------------------------------------------------- ports


@dataclass(frozen=True)
class QueryPage:
    """One Query answer: plain items, and the key to continue from (None: nothing more).

    `scanned`: how many items the Query examined, when a filter (`where`) returned fewer.
    """

    items: list[Item]
    next_key: Any = None
    scanned: int | None = None


@dataclass(frozen=True)
class Clause:
    """A condition a Query applies before answering (a FilterExpression), so unwanted items are not sent.

    An item holds when one of `attributes` is text equal to one of `values`, or, with `contains`,
    text holding one of them. Clauses given together must all hold.
    """

    attributes: tuple[str, ...]
    values: tuple[str, ...]
    contains: bool = False

    def holds(self, item: Item) -> bool:
        for name in self.attributes:
            value = item.get(name)
            if isinstance(value, str) and any((v in value) if self.contains else v == value for v in self.values):
                return True
        return False


class HotReader(Protocol):
    """Reads of the hot table: Query and GetItem only (adapters.hot_reader; in-memory in tests)."""

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_from: str | None = None,
        sk_to: str | None = None,
        newest_first: bool = True,
        limit: int = 100,
        start_key: Any = None,
        attributes: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
    ) -> QueryPage: ...

    def get(self, pk: str, sk: str) -> Item | None: ...

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]: ...


class ConfigWriter(Protocol):
    """The one write a command makes: a server's configuration item (`G#<guild>` / `CONFIG`)."""

    def update_config(
        self,
        guild_id: str,
        *,
        actor_id: str,
        at: str,
        set_fields: Mapping[str, Any] | None = None,
        remove_fields: Iterable[str] = (),
        add_to_sets: Mapping[str, str] | None = None,
        delete_from_sets: Mapping[str, str] | None = None,
    ) -> Item: ...


class CursorCodec(Protocol):
    def encode(self, cursor: Any, guild_id: str, requester_id: str) -> str | None: ...
    def decode(self, custom_id: str, guild_id: str, requester_id: str) -> Any: ...


@dataclass
class Ports:
    """What the services may use. `now` is the services' clock (the demo pins it)."""

    reader: HotReader
    config: ConfigWriter
    cursors: CursorCodec
    default_retention_days: int = 30
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # /logs export's services.exports.Exporter (WorkerFunction only: the command is always deferred).
    exporter: Any = None
    # /logs config test: the moderation log's queue (adapters.notify_queue.NotifyQueue), `send(messages)`.
    log_queue: Any = None
    # /logs message past the hot table: services.archive_lookup.ArchiveLookup (WorkerFunction only; in
    # InteractionsFunction it is None and the service hands the look-up to the worker).
    archive: Any = None
    # Presigned links to attachment copies (adapters.s3_attachments.S3AttachmentStore, `link(key, seconds)`).
    attachment_links: Any = None
    # /logs forget: confirmation codes, tombstones and ForgetQueue (adapters.erasure_requests.ErasureRequests).
    erasure: Any = None


# ---------------------------------------------------------------- the reply


@dataclass(frozen=True)
class Reply:
    """A message for the member: markdown `content` (≤ 2,000 characters) and optional buttons."""

    content: str
    components: tuple[dict[str, Any], ...] = ()
    ephemeral: bool = True
    # The answer needs WorkerFunction (an archive query): InteractionsFunction defers and hands it
    # over; `content` is what the member sees should the worker have no way to do it either.
    handover: bool = False

    def message_data(self) -> dict[str, Any]:
        """`data` of an answer or the body of an edit; mentions render but never ping."""
        data: dict[str, Any] = {
            "content": fit(self.content, p.MAX_CONTENT_CHARS),
            "allowed_mentions": {"parse": []},
            "components": list(self.components),
        }
        if self.ephemeral:
            data["flags"] = p.EPHEMERAL
        return data


def fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- the call


@dataclass
class Call:
    """One use of a command (or one button click), read from the interaction."""

    interaction: Interaction
    path: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def guild_id(self) -> str:
        if not self.interaction.guild_id:
            raise CommandError("guildlog's commands work in servers only.")
        return self.interaction.guild_id

    @property
    def user_id(self) -> str:
        requester = self.interaction.requester
        if requester is None:
            raise CommandError("Discord did not say who ran this command.")
        return requester.id

    @property
    def resolved(self) -> Resolved:
        data = self.interaction.data
        return data.resolved if data is not None and data.resolved is not None else Resolved()

    @property
    def can_manage_guild(self) -> bool:
        bits = self.interaction.permissions
        return bool(bits & (p.MANAGE_GUILD | p.ADMINISTRATOR))

    def require_manage_guild(self, what: str) -> None:
        if not self.can_manage_guild:
            raise CommandError(f"{what} needs the Manage Server permission.")

    def user_option(self, name: str) -> str | None:
        """A user option's id; CommandError unless Discord resolved it (`resolved.users`).

        Whether the user is a member of this server is `is_member` (`resolved.members`); a service
        decides what a non-member means (a former member whose events are logged is still found).
        """
        value = self.options.get(name)
        if value is None:
            return None
        user_id = str(value)
        if user_id not in self.resolved.users:
            raise CommandError(f"Discord did not resolve the user in `{name}`; pick them from the list.")
        return user_id

    def is_member(self, user_id: str) -> bool:
        return user_id in self.resolved.members

    def channel_option(self, name: str) -> str | None:
        """A channel option's id; CommandError unless Discord resolved it as a channel of this server."""
        value = self.options.get(name)
        if value is None:
            return None
        channel_id = str(value)
        channel = self.resolved.channels.get(channel_id)
        if channel is None or (channel.guild_id is not None and channel.guild_id != self.guild_id):
            raise CommandError("That channel is not in this server.")
        return channel_id

    def string_option(self, name: str) -> str | None:
        value = self.options.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise CommandError(f"`{name}` should be text.")
        return value.strip() or None

    def required(self, name: str) -> Any:
        if self.options.get(name) is None:
            raise CommandError(f"`{name}` is required.")
        return self.options[name]


def command_path(options: list[CommandOption] | None, name: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The command path (`("logs", "config", "show")`) and the leaf's option values by name."""
    path = [name]
    values: dict[str, Any] = {}
    current = options or []
    while True:
        nested = [o for o in current if o.type in (p.SUB_COMMAND, p.SUB_COMMAND_GROUP)]
        if not nested:
            break
        path.append(nested[0].name)
        current = nested[0].options or []
    for option in current:
        values[option.name] = option.value
    return tuple(path), values


# ---------------------------------------------------------------- small parsers shared by the services

_DURATION = re.compile(r"^([0-9]{1,5})\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
MAX_LOOKBACK = timedelta(days=3650)


def parse_since(text: str, now: datetime) -> datetime:
    """`30m`, `24h`, `7d`, `2w`, or an ISO date/time (UTC unless it says otherwise) → the moment."""
    cleaned = text.strip()
    found = _DURATION.match(cleaned)
    if found:
        seconds = int(found.group(1)) * _UNITS[found.group(2).lower()]
        if seconds <= 0:
            raise CommandError("`since` must reach back at least a minute.")
        delta = timedelta(seconds=min(seconds, int(MAX_LOOKBACK.total_seconds())))
        return now - delta
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError("`since` takes 30m, 24h, 7d, 2w or a date like 2026-11-01.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise CommandError("`since` is in the future.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC: before any moment the lookback reaches anyway
        return now - MAX_LOOKBACK
    return max(moment, now - MAX_LOOKBACK)


_LINK = re.compile(
    r"^<?https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/([0-9]{15,21}|@me)/([0-9]{15,21})/([0-9]{15,21})/?>?$"
)
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")


@dataclass(frozen=True)
class MessageRef:
    message_id: str
    channel_id: str | None = None
    guild_id: str | None = None


def parse_message_ref(text: str) -> MessageRef:
    """A message id, or a message link (`https://discord.com/channels/<guild>/<channel>/<message>`)."""
    cleaned = text.strip()
    if _SNOWFLAKE.match(cleaned):
        return MessageRef(cleaned)
    found = _LINK.match(cleaned)
    if not found:
        raise CommandError("Give a message id or a message link (right-click a message → Copy Message Link).")
    guild, channel, message = found.groups()
    return MessageRef(message, channel, None if guild == "@me" else guild)


def epoch(iso_time: str) -> int:
    """Unix seconds of one of our ISO times, for Discord's `<t:…>` markup."""
    return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp())


def when(iso_time: object, style: str = "f") -> str:
    """Discord's timestamp markup (`<t:1763597160:f>`), rendered in each reader's own time zone."""
    try:
        return f"<t:{epoch(str(iso_time))}:{style}>"
    except ValueError:
        return str(iso_time)


_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]])")


def quote(text: object, limit: int) -> str:
    """Member-written text on one line, markdown escaped, cut to `limit` characters."""
    flat = " ".join(str(text or "").split())
    cut = fit(flat, limit)
    return _MARKDOWN.sub(r"\\\1", cut)
