"""Where a row is posted under a guild's configuration, and whether the log leaves it out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guildlog.models.config import GuildConfig
from guildlog.services.modlog.kinds import category_of, details_of

# A route to this value turns a kind or a category off.
OFF = "off"


def target_channel(kind: str, config: GuildConfig) -> str | None:
    """The log channel of `kind`: its own route, else its category's, else the log channel; None when off."""
    chosen = config.log_routes.get(kind) or config.log_routes.get(category_of(kind)) or config.log_channel_id
    if not chosen or chosen == OFF or chosen in config.log_channel_errors:
        return None
    return chosen


def ignored(row: Mapping[str, Any], config: GuildConfig, versions: Sequence[Mapping[str, Any]] = ()) -> bool:
    """Whether the log leaves this row out: an ignored channel, user, role, or (for messages) a bot.

    The author of a deleted message is read from its stored version, since Discord's delete names
    no one. Only the log is concerned: the archive keeps the row whatever this says.
    """
    details = details_of(row)
    author = versions[-1] if versions else {}
    channel = row.get("channel_id")
    if channel and (channel in config.log_ignored_channels or details.get("parent_id") in config.log_ignored_channels):
        return True
    users = {u for u in (row.get("user_id"), author.get("user_id")) if u}
    if users & config.log_ignored_users:
        return True
    # A version item carries `bot` and `roles` itself; a create held whole in the feed, in its details.
    written = details_of(author) if author else {}
    roles = set(details.get("roles") or []) | set(author.get("roles") or []) | set(written.get("roles") or [])
    if roles & config.log_ignored_roles:
        return True
    is_bot = bool(details.get("bot") or author.get("bot") or written.get("bot"))
    return row.get("category") == "message" and is_bot and not config.log_bots
