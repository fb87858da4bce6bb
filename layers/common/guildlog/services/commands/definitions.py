"""The slash commands, defined once: `guildlog commands sync` registers these, the router routes by them.

Each leaf (a sub-command, or a command without sub-commands) names the function that answers it
(`module:function` under `guildlog.services.commands`, imported only when that command is used) and
whether it is deferred to WorkerFunction. Pure data and stdlib: no pydantic, no boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guildlog.services.commands import protocol as p
from guildlog.services.commands import routes

if TYPE_CHECKING:
    from guildlog.services.commands.context import Call, Ports, Reply

# Hot retention a server may choose, days; the same bounds as models.config.GuildConfig (a test checks).
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650
# Attachment copies: `/logs config attachments copy:on|off max_mb:<n>`; the cap's bound is
# models.config.MAX_ATTACHMENT_MAX_MB's (a test checks).
ATTACHMENT_COPY_VALUES = ("on", "off")
MAX_ATTACHMENT_MAX_MB = 100
# The text filter travels inside the Prev/Next buttons' custom ids (100 characters in all).
MAX_CONTAINS_CHARS = 50
# Categories a server can switch off in its hot index (relay events belong to no server).
CONFIGURABLE_CATEGORIES = ("message", "member", "moderation", "server", "voice", "command", "other")
SEARCHABLE_CATEGORIES = ("message", "member", "moderation", "server", "voice", "command", "other")
PERIODS = ("24h", "7d", "30d")
# What a log channel can be set for: everything, a category, or one kind (services.modlog.kinds; a test checks).
LOG_CATEGORIES = ("message", "member", "moderation", "server", "voice")
LOG_KINDS = (
    "message_delete",
    "message_edit",
    "message_bulk_delete",
    "member_join",
    "member_leave",
    "member_update",
    "member_ban",
    "member_unban",
    "member_kick",
    "role",
    "channel",
    "thread",
    "emoji",
    "guild",
    "invite",
    "voice",
)
LOG_TARGETS = ("all", *LOG_CATEGORIES, *(k for k in LOG_KINDS if k not in LOG_CATEGORIES))
DELIVERY_MODES = ("bot", "webhook")
# What the nightly pass does to archive lines past a server's retention (models.config.GuildConfig.archive_mode).
ARCHIVE_MODES = ("everything", "content-only")
# /logs forget's confirmation codes (services.commands.forget).
FORGET_CODE_CHARS = 16
# /logs export's formats (services.exports.FORMATS; a test checks they agree).
EXPORT_FORMATS = ("json", "csv", "dce")


@dataclass(frozen=True)
class Choice:
    name: str
    value: str | int

    def to_discord(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True)
class Option:
    """A command option (not a sub-command)."""

    type: int
    name: str
    description: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    channel_types: tuple[int, ...] = ()

    def to_discord(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "name": self.name, "description": self.description}
        if self.required:
            out["required"] = True
        if self.choices:
            out["choices"] = [c.to_discord() for c in self.choices]
        for key in ("min_value", "max_value", "max_length"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.channel_types:
            out["channel_types"] = list(self.channel_types)
        return out


def _never(options: Mapping[str, Any]) -> bool:
    return False


@dataclass(frozen=True)
class Leaf:
    """What a member can run: a sub-command, or a command without sub-commands.

    `handler`: the service function (see routes.py). `defer(options)`: answer type 5
    at once and let WorkerFunction finish. `mutates`: writes something (never run twice, never
    handed to the worker speculatively).
    """

    name: str
    description: str
    handler: Callable[[Call, Ports], Reply]
    options: tuple[Option, ...] = ()
    defer: Callable[[Mapping[str, Any]], bool] = _never
    mutates: bool = False

    def to_discord(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": p.SUB_COMMAND, "name": self.name, "description": self.description}
        if self.options:
            out["options"] = [o.to_discord() for o in self.options]
        return out


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    subcommands: tuple[Leaf, ...]

    def to_discord(self) -> dict[str, Any]:
        return {
            "type": p.SUB_COMMAND_GROUP,
            "name": self.name,
            "description": self.description,
            "options": [s.to_discord() for s in self.subcommands],
        }


@dataclass(frozen=True)
class Command:
    """A top-level chat-input command: either sub-commands (and groups), or a single `leaf`."""

    name: str
    description: str
    children: tuple[Leaf | Group, ...] = ()
    leaf: Leaf | None = None
    # None: everyone may use it; else the permission bits a member needs by default (server admins
    # can change who sees a command in Server Settings → Integrations; the services check again).
    default_member_permissions: int | None = None

    def to_discord(self) -> dict[str, Any]:
        """The application command object `PUT …/commands` takes."""
        out: dict[str, Any] = {"type": p.CHAT_INPUT, "name": self.name, "description": self.description}
        if self.leaf is not None and self.leaf.options:
            out["options"] = [o.to_discord() for o in self.leaf.options]
        elif self.children:
            out["options"] = [c.to_discord() for c in self.children]
        out["default_member_permissions"] = (
            None if self.default_member_permissions is None else str(self.default_member_permissions)
        )
        out["contexts"] = [p.CONTEXT_GUILD]
        out["integration_types"] = [p.INSTALL_GUILD]
        out["nsfw"] = False
        return out

    def leaves(self) -> Iterator[tuple[tuple[str, ...], Leaf]]:
        if self.leaf is not None:
            yield (self.name,), self.leaf
        for child in self.children:
            if isinstance(child, Leaf):
                yield (self.name, child.name), child
            else:
                for sub in child.subcommands:
                    yield (self.name, child.name, sub.name), sub


def _copy_choices() -> tuple[Choice, ...]:
    return tuple(Choice(v, v) for v in ATTACHMENT_COPY_VALUES)


def _category_choices(categories: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(c, c) for c in categories)


_CHANNEL = Option(p.CHANNEL, "channel", "Only this channel", channel_types=p.LOGGED_CHANNEL_TYPES)

LOGS = Command(
    name="logs",
    description="Search guildlog's logs of this server",
    default_member_permissions=p.MANAGE_GUILD,
    children=(
        Leaf(
            "search",
            "Events newest first, 10 per page",
            handler=routes.search,
            options=(
                Option(p.USER, "user", "Only events of this member"),
                _CHANNEL,
                Option(
                    p.STRING, "category", "Only this kind of event", choices=_category_choices(SEARCHABLE_CATEGORIES)
                ),
                Option(p.STRING, "contains", "Only events whose text contains this", max_length=MAX_CONTAINS_CHARS),
                Option(p.STRING, "since", "How far back: 30m, 24h, 7d, 2w or a date like 2026-11-01", max_length=32),
            ),
        ),
        Leaf(
            "message",
            "Every version of a message, and who deleted it",
            handler=routes.message,
            options=(Option(p.STRING, "message", "The message id or link", required=True, max_length=200),),
        ),
        Leaf("status", "Relay health, today's events and the retention in force", handler=routes.status),
        Leaf(
            "export",
            "A channel's log as a file (JSON, CSV or DiscordChatExporter), linked for an hour",
            handler=routes.export,
            options=(
                Option(p.CHANNEL, "channel", "The channel (default: this one)", channel_types=p.LOGGED_CHANNEL_TYPES),
                Option(p.STRING, "date", "A day like 2026-11-20 or a range like 2026-11-19..2026-11-20", max_length=32),
                Option(
                    p.STRING,
                    "format",
                    "json (default), csv or dce",
                    choices=tuple(Choice(f, f) for f in EXPORT_FORMATS),
                ),
            ),
            # Reading the archive and writing the file takes longer than Discord waits for an answer.
            defer=lambda options: True,
        ),
        Group(
            "config",
            "What guildlog logs in this server",
            subcommands=(
                Leaf("show", "Show this server's logging configuration", handler=routes.config_show),
                Leaf(
                    "channel",
                    "Set where the log is posted (leave empty to clear it)",
                    handler=routes.config_channel,
                    options=(
                        Option(
                            p.CHANNEL,
                            "channel",
                            "The log channel",
                            channel_types=(p.GUILD_TEXT, p.GUILD_ANNOUNCEMENT),
                        ),
                        Option(
                            p.STRING,
                            "for",
                            "Everything (default), one category, or one kind of event",
                            choices=tuple(Choice(t.replace("_", " "), t) for t in LOG_TARGETS),
                        ),
                        Option(p.BOOLEAN, "off", "Post nothing for this category or kind"),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "log-ignore",
                    "Keep a channel, member or role out of the log channel (still archived), or bring it back",
                    handler=routes.config_log_ignore,
                    options=(
                        Option(p.CHANNEL, "channel", "A channel", channel_types=p.LOGGED_CHANNEL_TYPES),
                        Option(p.USER, "user", "A member"),
                        Option(p.ROLE, "role", "A role"),
                        Option(p.BOOLEAN, "ignored", "Ignore (default) or bring back (false)"),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "bots",
                    "Post bots' message events to the log channel (off by default)",
                    handler=routes.config_bots,
                    options=(Option(p.BOOLEAN, "logged", "Post them", required=True),),
                    mutates=True,
                ),
                Leaf(
                    "delivery",
                    "Post the log as the bot, or through a channel webhook the bot creates",
                    handler=routes.config_delivery,
                    options=(
                        Option(
                            p.STRING,
                            "mode",
                            "bot messages, or a webhook (needs Manage Webhooks)",
                            required=True,
                            choices=tuple(Choice(m, m) for m in DELIVERY_MODES),
                        ),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "test",
                    "Post a test message to every log channel",
                    handler=routes.config_test,
                    mutates=True,
                ),
                Leaf(
                    "events",
                    "Switch a kind of event on or off in the searchable logs",
                    handler=routes.config_events,
                    options=(
                        Option(
                            p.STRING,
                            "category",
                            "The kind of event",
                            required=True,
                            choices=_category_choices(CONFIGURABLE_CATEGORIES),
                        ),
                        Option(p.BOOLEAN, "enabled", "Keep it searchable", required=True),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "ignore",
                    "Keep a channel out of the searchable logs, or bring it back",
                    handler=routes.config_ignore,
                    options=(
                        Option(
                            p.CHANNEL, "channel", "The channel", required=True, channel_types=p.LOGGED_CHANNEL_TYPES
                        ),
                        Option(p.BOOLEAN, "ignored", "Ignore it (default) or bring it back (false)"),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "retention",
                    "How many days events stay searchable",
                    handler=routes.config_retention,
                    options=(
                        Option(
                            p.INTEGER,
                            "days",
                            "Days (the searchable logs, and the archive the next night)",
                            required=True,
                            min_value=MIN_RETENTION_DAYS,
                            max_value=MAX_RETENTION_DAYS,
                        ),
                        Option(
                            p.STRING,
                            "archive",
                            "Past the retention, delete everything (default) or only the content",
                            choices=tuple(Choice(m, m) for m in ARCHIVE_MODES),
                        ),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "privacy",
                    "Keep a channel or category out of the record altogether, or record it again",
                    handler=routes.config_privacy,
                    options=(
                        Option(
                            p.CHANNEL,
                            "channel",
                            "The channel or category",
                            required=True,
                            channel_types=(*p.LOGGED_CHANNEL_TYPES, p.GUILD_CATEGORY),
                        ),
                        Option(p.BOOLEAN, "record", "Record it (true) or never record it (false)", required=True),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "attachments",
                    "Keep copies of logged messages' files (attachments, stickers, images) in the archive",
                    handler=routes.config_attachments,
                    options=(
                        Option(p.STRING, "copy", "Copy new files (on) or not (off)", choices=_copy_choices()),
                        Option(
                            p.INTEGER,
                            "max_mb",
                            "Largest file copied, MB",
                            min_value=1,
                            max_value=MAX_ATTACHMENT_MAX_MB,
                        ),
                    ),
                    mutates=True,
                ),
                Leaf(
                    "viewers",
                    "Let members with a role read this server's log in the web viewer, or stop them",
                    handler=routes.config_viewers,
                    options=(
                        Option(p.ROLE, "role", "The role", required=True),
                        Option(p.BOOLEAN, "remove", "Take the role's access away (default: give it)"),
                    ),
                    mutates=True,
                ),
            ),
        ),
        Group(
            "forget",
            "Erase a member's messages, names and attachments from guildlog's record (with a code)",
            subcommands=(
                Leaf(
                    "user",
                    "Erase a member (Manage Server): run once for a code, again with it",
                    handler=routes.forget_user,
                    options=(
                        Option(p.USER, "member", "The member to erase", required=True),
                        Option(p.STRING, "code", "The code the first run gave", max_length=FORGET_CODE_CHARS),
                    ),
                    mutates=True,
                ),
                Leaf("receipts", "The receipts of this server's erasures", handler=routes.forget_receipts),
            ),
        ),
    ),
)

STATS = Command(
    name="stats",
    description="This server's activity from guildlog's daily counters",
    leaf=Leaf(
        "stats",
        "This server's activity from guildlog's daily counters",
        handler=routes.stats,
        options=(
            Option(p.STRING, "period", "How far back (default 7d)", choices=tuple(Choice(x, x) for x in PERIODS)),
            Option(p.USER, "user", "Only this member"),
        ),
        # A month is up to 30 GetItems and 30 Queries: more than Discord's 3 s should have to wait on.
        defer=lambda options: options.get("period") == "30d",
    ),
)

# Any member may erase themselves: /logs is for Manage Server by default, so
# the member's own erasure is a command of its own that everyone sees.
FORGET_ME = Command(
    name="forget-me",
    description="Erase your messages, names and attachment copies from guildlog's record (with a code)",
    leaf=Leaf(
        "forget-me",
        "Erase yourself from guildlog's record: run once for a code, again with it",
        handler=routes.forget_me,
        options=(Option(p.STRING, "code", "The code the first run gave", max_length=FORGET_CODE_CHARS),),
        mutates=True,
    ),
)

COMMANDS: tuple[Command, ...] = (LOGS, STATS, FORGET_ME)


def registration_payload() -> list[dict[str, Any]]:
    """The body of a bulk overwrite (`PUT /applications/{id}/commands`): every command, in order."""
    return [command.to_discord() for command in COMMANDS]


def find_leaf(path: tuple[str, ...]) -> Leaf | None:
    """The leaf a command path (`("logs", "config", "show")`) names, or None for an unknown command."""
    for command in COMMANDS:
        for leaf_path, leaf in command.leaves():
            if leaf_path == path:
                return leaf
    return None


def all_leaves() -> list[tuple[tuple[str, ...], Leaf]]:
    return [pair for command in COMMANDS for pair in command.leaves()]


# ---------------------------------------------------------------- Discord's rules for a command object

_CHAT_NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
_MAX_OPTIONS = 25
_MAX_CHOICES = 25
_MAX_TOTAL_CHARS = 4000


def check_command(command: Mapping[str, Any]) -> list[str]:
    """What Discord would refuse in an application command object (empty: nothing).

    The rules of the Application Commands reference that a definition can break: names (lower case,
    1–32 word characters for chat input), descriptions (1–100, none for user and message commands),
    at most 25 options and 25 choices, required options first, sub-commands not mixed with options,
    and 4,000 characters of names, descriptions and choices in all.
    """
    problems: list[str] = []
    kind = command.get("type", p.CHAT_INPUT)
    name = command.get("name")
    where = str(name)
    if not isinstance(name, str) or not name:
        return ["a command needs a name"]
    if kind == p.CHAT_INPUT:
        if not _CHAT_NAME.match(name) or name != name.lower():
            problems.append(f"{where}: a chat-input name is 1-32 lower-case word characters")
        _check_description(command.get("description"), where, problems)
    elif not 1 <= len(name) <= 32:
        problems.append(f"{where}: a name is 1-32 characters")
    permissions = command.get("default_member_permissions")
    if permissions is not None and not (
        isinstance(permissions, str) and permissions.isascii() and permissions.isdigit()
    ):
        problems.append(f"{where}: default_member_permissions is a string of digits or null")
    options = command.get("options") or []
    if options and kind != p.CHAT_INPUT:
        problems.append(f"{where}: only chat-input commands take options")
    _check_options(options, where, problems, depth=0)
    if _characters(command) > _MAX_TOTAL_CHARS:
        problems.append(f"{where}: more than {_MAX_TOTAL_CHARS} characters of names, descriptions and choices")
    return problems


def _check_description(description: Any, where: str, problems: list[str]) -> None:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        problems.append(f"{where}: a description is 1-100 characters")


def _check_options(options: Any, where: str, problems: list[str], depth: int) -> None:
    if not isinstance(options, list):
        problems.append(f"{where}: options is a list")
        return
    if len(options) > _MAX_OPTIONS:
        problems.append(f"{where}: more than {_MAX_OPTIONS} options")
    kinds = [o.get("type") for o in options if isinstance(o, Mapping)]
    nested = [k for k in kinds if k in (p.SUB_COMMAND, p.SUB_COMMAND_GROUP)]
    if nested and len(nested) != len(kinds):
        problems.append(f"{where}: sub-commands cannot sit beside plain options")
    names = [o.get("name") for o in options if isinstance(o, Mapping)]
    if len(names) != len(set(names)):
        problems.append(f"{where}: option names repeat")
    seen_optional = False
    for option in options:
        if not isinstance(option, Mapping):
            problems.append(f"{where}: an option is an object")
            continue
        name, kind = option.get("name"), option.get("type")
        here = f"{where} {name}"
        if not isinstance(name, str) or not _CHAT_NAME.match(name) or name != name.lower():
            problems.append(f"{here}: an option name is 1-32 lower-case word characters")
        _check_description(option.get("description"), here, problems)
        if kind == p.SUB_COMMAND_GROUP:
            if depth > 0:
                problems.append(f"{here}: a group can only be at the top")
            subs = option.get("options") or []
            if any(isinstance(s, Mapping) and s.get("type") != p.SUB_COMMAND for s in subs):
                problems.append(f"{here}: a group holds only sub-commands")
            _check_options(subs, here, problems, depth + 1)
        elif kind == p.SUB_COMMAND:
            if depth > 1:
                problems.append(f"{here}: sub-commands nest at most in a group")
            _check_options(option.get("options") or [], here, problems, depth + 2)
        else:
            if option.get("required"):
                if seen_optional:
                    problems.append(f"{here}: required options come before optional ones")
            else:
                seen_optional = True
            choices = option.get("choices") or []
            if len(choices) > _MAX_CHOICES:
                problems.append(f"{here}: more than {_MAX_CHOICES} choices")
            for choice in choices:
                value = choice.get("value") if isinstance(choice, Mapping) else None
                label = choice.get("name") if isinstance(choice, Mapping) else None
                if not isinstance(label, str) or not 1 <= len(label) <= 100:
                    problems.append(f"{here}: a choice name is 1-100 characters")
                if isinstance(value, str) and len(value) > 100:
                    problems.append(f"{here}: a string choice is at most 100 characters")
            max_length = option.get("max_length")
            if max_length is not None and not (isinstance(max_length, int) and 1 <= max_length <= 6000):
                problems.append(f"{here}: max_length is 1-6000")


def _characters(value: Any) -> int:
    """Characters that count towards Discord's 4,000: names, descriptions, choice names and values."""
    total = 0
    if isinstance(value, Mapping):
        for key in ("name", "description"):
            if isinstance(value.get(key), str):
                total += len(value[key])
        for choice in value.get("choices") or []:
            if isinstance(choice, Mapping):
                total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
        for option in value.get("options") or []:
            total += _characters(option)
    return total
