"""`/logs config show | channel | events | ignore | retention | log-ignore | bots | delivery | test`.

The server's configuration item.

Stored as `G#<guild>` / `CONFIG` (models.config.GuildConfig), which ingest reads per batch (cached up
to a minute per warm container). Ignored channels and switched-off categories are still archived
in S3 (raw, events, events_csv) and queryable with Athena; they are only kept out of the hot table
and the daily counters, so `/logs search` and `/stats` no longer see them. A new retention applies
to events ingested from then on; items already stored keep the expiry they were written with.
Everything here needs Manage Server.

The moderation log (`channel`, `log-ignore`, `bots`, `delivery`, `test`): NotifyFunction reads the
item afresh for every batch, so a change applies to the next event. `log-ignore` keeps things out of
the log channel only; the archive and the searchable logs are not affected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.commands.context import Call, Item, Ports, Reply
from guildlog.services.commands.definitions import (
    ARCHIVE_MODES,
    CONFIGURABLE_CATEGORIES,
    DELIVERY_MODES,
    LOG_TARGETS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
)
from guildlog.services.timefmt import iso

_SNOWFLAKE = re.compile(r"^\d{15,21}$")
_LOG_TAKES_EFFECT = "The log follows it from the next event."

_TAKES_EFFECT = "Ingest picks this up within a minute."


def show(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("The logging configuration")
    config = ports.reader.get(keys.guild_pk(call.guild_id), keys.CONFIG_SK) or {}
    return Reply(render(config, ports.default_retention_days))


def channel(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    chosen = call.channel_option("channel")
    target = call.string_option("for") or "all"
    if target not in LOG_TARGETS:
        raise CommandError(f"`for` is one of {', '.join(LOG_TARGETS)}.")
    off = call.options.get("off", False)
    if not isinstance(off, bool):
        raise CommandError("`off` is true or false.")
    field = "log_channel_id" if target == "all" else f"route#{target}"
    what = "The log" if target == "all" else f"`{target}` events"
    if off:
        if target == "all":
            raise CommandError("To stop the whole log, clear the channel: `/logs config channel` with no channel.")
        config = _write(call, ports, set_fields={field: "off"})
        head = f"{what} are no longer posted. {_LOG_TAKES_EFFECT}"
    elif chosen is None:
        config = _write(call, ports, remove_fields=[field])
        head = "Log channel cleared." if target == "all" else f"{what} go to the log channel again."
    else:
        # A channel set again is tried again, even if Discord refused it before.
        config = _write(call, ports, set_fields={field: chosen}, remove_fields=[f"error#{chosen}"])
        head = f"{what} are posted in <#{chosen}>. {_LOG_TAKES_EFFECT}"
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


def log_ignore(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    chosen: list[tuple[str, str, str]] = []
    channel_id = call.channel_option("channel")
    if channel_id:
        chosen.append(("log_ignored_channels", channel_id, f"<#{channel_id}>"))
    user_id = call.options.get("user")
    if user_id is not None:
        chosen.append(("log_ignored_users", _snowflake(user_id, "user"), f"<@{user_id}>"))
    role_id = call.options.get("role")
    if role_id is not None:
        chosen.append(("log_ignored_roles", _snowflake(role_id, "role"), f"<@&{role_id}>"))
    if len(chosen) != 1:
        raise CommandError("Give one of `channel`, `user` or `role`.")
    ignored = call.options.get("ignored", True)
    if not isinstance(ignored, bool):
        raise CommandError("`ignored` is true or false.")
    [(name, value, shown)] = chosen
    if ignored:
        config = _write(call, ports, add_to_sets={name: value})
        head = f"{shown} is kept out of the log channel (still archived and searchable). {_LOG_TAKES_EFFECT}"
    else:
        config = _write(call, ports, delete_from_sets={name: value})
        head = f"{shown} is posted to the log channel again. {_LOG_TAKES_EFFECT}"
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


def bots(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    logged = call.required("logged")
    if not isinstance(logged, bool):
        raise CommandError("`logged` is true or false.")
    config = _write(call, ports, set_fields={"log_bots": logged})
    head = "Bots' message events are posted." if logged else "Bots' message events are left out of the log."
    return Reply(f"{head} {_LOG_TAKES_EFFECT}\n\n{render(config, ports.default_retention_days)}")


def delivery(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    mode = call.string_option("mode")
    if mode not in DELIVERY_MODES:
        raise CommandError(f"`mode` is one of {', '.join(DELIVERY_MODES)}.")
    config = _write(call, ports, set_fields={"delivery": mode})
    head = (
        "The log is posted through a webhook in each log channel (guildlog creates it; bot messages where it may not)."
        if mode == "webhook"
        else "The log is posted as bot messages."
    )
    return Reply(f"{head} {_LOG_TAKES_EFFECT}\n\n{render(config, ports.default_retention_days)}")


def test(call: Call, ports: Ports) -> Reply:
    """A test post in every log channel, through the log's own queue and delivery (routing, webhook, limits)."""
    call.require_manage_guild("A test of the log")
    config = ports.reader.get(f"G#{call.guild_id}", "CONFIG") or {}
    channels = log_channels(config)
    if not channels:
        raise CommandError("No log channel is set: `/logs config channel` first.")
    if ports.log_queue is None:
        raise CommandError("This stack has no moderation log queue.")
    at = iso(call.now)
    messages = []
    for channel_id in channels:
        row = {
            "event_id": f"test:{call.interaction.id}:{channel_id}",
            "batch_id": f"test:{call.interaction.id}",
            "source": "guildlog",
            "event_type": "GUILDLOG_LOG_TEST",
            "category": "relay",
            "action": "log_test",
            "occurred_at": at,
            "received_at": at,
            "guild_id": call.guild_id,
            "user_id": call.user_id,
            "details": json.dumps({"channel": channel_id}),
        }
        body = json.dumps({"v": 1, "guild_id": call.guild_id, "row": row}, separators=(",", ":"))
        messages.append((call.guild_id, row["event_id"], body))
    ports.log_queue.send(messages)
    listed = " ".join(f"<#{c}>" for c in channels)
    return Reply(f"A test post is on its way to {listed}. If one does not arrive, `/logs config show` says why.")


def log_channels(config: Item) -> list[str]:
    """Every channel the log posts to: the log channel and each route's, in that order, once each."""
    found = [config.get("log_channel_id")] + [v for k, v in sorted(config.items()) if str(k).startswith("route#")]
    return list(dict.fromkeys(str(c) for c in found if c and c != "off"))


def _snowflake(value: Any, name: str) -> str:
    text = str(value)
    if not _SNOWFLAKE.match(text):
        raise CommandError(f"`{name}` should be picked from the list.")
    return text


def events(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    category = str(call.required("category"))
    if category not in CONFIGURABLE_CATEGORIES:
        raise CommandError(f"`category` is one of {', '.join(CONFIGURABLE_CATEGORIES)}.")
    enabled = call.required("enabled")
    if not isinstance(enabled, bool):
        raise CommandError("`enabled` is true or false.")
    if enabled:
        config = _write(call, ports, delete_from_sets={"disabled_categories": category})
        head = f"`{category}` events are searchable again (from now on). {_TAKES_EFFECT}"
    else:
        config = _write(call, ports, add_to_sets={"disabled_categories": category})
        head = f"`{category}` events are archived only, no longer searchable. {_TAKES_EFFECT}"
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


def ignore(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    chosen = call.channel_option("channel")
    if chosen is None:
        raise CommandError("`channel` is required.")
    ignored = call.options.get("ignored", True)
    if not isinstance(ignored, bool):
        raise CommandError("`ignored` is true or false.")
    if ignored:
        config = _write(call, ports, add_to_sets={"ignored_channels": chosen})
        head = f"<#{chosen}> is archived only, no longer searchable. {_TAKES_EFFECT}"
    else:
        config = _write(call, ports, delete_from_sets={"ignored_channels": chosen})
        head = f"<#{chosen}> is searchable again (from now on). {_TAKES_EFFECT}"
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


def retention(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    days = call.required("days")
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise CommandError(f"`days` is a whole number from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}.")
    mode = call.string_option("archive")
    if mode is not None and mode not in ARCHIVE_MODES:
        raise CommandError(f"`archive` is one of {', '.join(ARCHIVE_MODES)}.")
    fields: dict[str, Any] = {"retention_days": days, **keys.archive_retention_index(call.guild_id)}
    if mode is not None:
        fields["archive_mode"] = mode
    config = _write(call, ports, set_fields=fields)
    head = (
        f"Events ingested from now on stay searchable {days} days; events already stored keep their expiry. "
        f"{_TAKES_EFFECT}\n{archive_line(config, ports.default_retention_days)}"
    )
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


# --- archive retention and channels never recorded (docs/data-rights.md) ---
def archive_line(config: Item, default_retention_days: int) -> str:
    """What the nightly pass does to this server's archive past its retention."""
    days = int(config.get("retention_days") or default_retention_days)
    if config.get("archive_mode") == "content-only":
        return f"archive: content older than {days} days is removed nightly; who, when and where stay"
    return f"archive: events older than {days} days are deleted nightly"


def privacy(call: Call, ports: Ports) -> Reply:
    """`/logs config privacy channel:<#c> record:<bool>`: a channel or category kept out of the record."""
    call.require_manage_guild("Changing the logging configuration")
    chosen = call.channel_option("channel")
    if chosen is None:
        raise CommandError("`channel` is required.")
    record = call.required("record")
    if not isinstance(record, bool):
        raise CommandError("`record` is true or false.")
    if record:
        config = _write(call, ports, delete_from_sets={"unrecorded_channels": chosen})
        head = f"<#{chosen}> is recorded again, from the next event. {_TAKES_EFFECT}"
    else:
        config = _write(call, ports, add_to_sets={"unrecorded_channels": chosen})
        head = (
            f"<#{chosen}> (and, for a category, every channel and thread in it) is no longer recorded: its events "
            f"are dropped before anything is stored, and only counted. What was recorded before stays until the "
            f"retention removes it. {_TAKES_EFFECT}"
        )
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


def _write(
    call: Call,
    ports: Ports,
    *,
    set_fields: dict[str, Any] | None = None,
    remove_fields: tuple[str, ...] | list[str] = (),
    add_to_sets: dict[str, str] | None = None,
    delete_from_sets: dict[str, str] | None = None,
) -> Item:
    return ports.config.update_config(
        call.guild_id,
        actor_id=call.user_id,
        at=iso(call.now),
        set_fields=set_fields,
        remove_fields=remove_fields,
        add_to_sets=add_to_sets,
        delete_from_sets=delete_from_sets,
    )


def render(config: Item, default_retention_days: int) -> str:
    retention_days = config.get("retention_days")
    log_channel = config.get("log_channel_id")
    ignored = sorted(config.get("ignored_channels") or [])
    disabled = sorted(config.get("disabled_categories") or [])
    lines = ["**Logging configuration**"]
    lines.append(
        f"retention: {retention_days} days" if retention_days else f"retention: {default_retention_days} days (default)"
    )
    lines.append(f"log channel: <#{log_channel}>" if log_channel else "log channel: none")
    on = [c for c in CONFIGURABLE_CATEGORIES if c not in disabled]
    lines.append("searchable: " + (", ".join(on) if on else "nothing"))
    if disabled:
        lines.append("archived only: " + ", ".join(disabled))
    lines.append("ignored channels: " + (" ".join(f"<#{c}>" for c in ignored) if ignored else "none"))
    unrecorded = sorted(config.get("unrecorded_channels") or [])
    lines.append("never recorded: " + (" ".join(f"<#{c}>" for c in unrecorded) if unrecorded else "none"))
    lines.append(archive_line(config, default_retention_days))
    lines.extend(render_log(config))
    if config.get("updated_by"):
        lines.append(f"_last changed by <@{config['updated_by']}>_")
    return "\n".join(lines)


def render_log(config: Item) -> list[str]:
    """The moderation log's part of the configuration, and any channel where posting stopped."""
    lines = ["**Moderation log**"]
    routes = {str(k)[6:]: str(v) for k, v in config.items() if str(k).startswith("route#")}
    for target, channel_id in sorted(routes.items()):
        lines.append(f"{target}: " + ("off" if channel_id == "off" else f"<#{channel_id}>"))
    quiet = [
        *(f"<#{c}>" for c in sorted(config.get("log_ignored_channels") or [])),
        *(f"<@{u}>" for u in sorted(config.get("log_ignored_users") or [])),
        *(f"<@&{r}>" for r in sorted(config.get("log_ignored_roles") or [])),
    ]
    lines.append("kept out of the log: " + (" ".join(quiet) if quiet else "nothing"))
    lines.append("bots' messages: " + ("posted" if config.get("log_bots") else "left out"))
    lines.append("delivery: " + ("channel webhook" if config.get("delivery") == "webhook" else "bot messages"))
    lines.extend(stopped_lines(config))
    return lines


def stopped_lines(config: Item) -> list[str]:
    """One warning per log channel Discord refused (403/404): nothing is posted there until it is set again."""
    return [
        f"⚠️ posting stopped in <#{str(k)[6:]}>: {v}. Fix the bot's permissions, then set the channel again."
        for k, v in sorted(config.items())
        if str(k).startswith("error#")
    ]
