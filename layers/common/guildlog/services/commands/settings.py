"""`/logs config show | channel | events | ignore | retention`: the server's configuration item.

Stored as `G#<guild>` / `CONFIG` (models.config.GuildConfig), which ingest reads per batch (cached up
to a minute per warm container). Ignored channels and switched-off categories are still archived
in S3 (raw, events, events_csv) and queryable with Athena; they are only kept out of the hot table
and the daily counters, so `/logs search` and `/stats` no longer see them. A new retention applies
to events ingested from then on; items already stored keep the expiry they were written with.
Everything here needs Manage Server.
"""

from __future__ import annotations

from typing import Any

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.commands.context import Call, Item, Ports, Reply
from guildlog.services.commands.definitions import (
    CONFIGURABLE_CATEGORIES,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
)
from guildlog.services.timefmt import iso

_TAKES_EFFECT = "Ingest picks this up within a minute."


def show(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("The logging configuration")
    config = ports.reader.get(keys.guild_pk(call.guild_id), keys.CONFIG_SK) or {}
    return Reply(render(config, ports.default_retention_days))


def channel(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    chosen = call.channel_option("channel")
    if chosen is None:
        config = _write(call, ports, remove_fields=["log_channel_id"])
        head = "Log channel cleared."
    else:
        config = _write(call, ports, set_fields={"log_channel_id": chosen})
        head = f"Log channel set to <#{chosen}>."
    return Reply(f"{head}\n\n{render(config, ports.default_retention_days)}")


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
    config = _write(call, ports, set_fields={"retention_days": days})
    head = (
        f"Events ingested from now on stay searchable {days} days; events already stored keep their expiry. "
        f"{_TAKES_EFFECT}"
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
    if config.get("updated_by"):
        lines.append(f"_last changed by <@{config['updated_by']}>_")
    return "\n".join(lines)
