"""`/logs config attachments [copy:on|off] [max_mb:<n>]`: whether files of logged messages are copied, and how big.

Copies (services/attachments.py) keep a message's files after Discord's CDN links expire or the
message is deleted. They hold members' files, so a server may switch them off; the cap bounds what
one file may cost. Ingest reads the setting with the rest of the configuration, within a minute.
"""

from __future__ import annotations

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.commands.context import Call, Item, Ports, Reply
from guildlog.services.commands.definitions import ATTACHMENT_COPY_VALUES, MAX_ATTACHMENT_MAX_MB
from guildlog.services.timefmt import iso

DEFAULT_MAX_MB = 25  # models.config.DEFAULT_ATTACHMENT_MAX_MB (a test checks)


def attachments(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Changing the logging configuration")
    copy = call.string_option("copy")
    max_mb = call.options.get("max_mb")
    fields: dict[str, object] = {}
    if copy is not None:
        if copy not in ATTACHMENT_COPY_VALUES:
            raise CommandError("`copy` is on or off.")
        fields["attachments_copy"] = copy == "on"
    if max_mb is not None:
        if isinstance(max_mb, bool) or not isinstance(max_mb, int) or not 1 <= max_mb <= MAX_ATTACHMENT_MAX_MB:
            raise CommandError(f"`max_mb` is a whole number from 1 to {MAX_ATTACHMENT_MAX_MB}.")
        fields["attachments_max_mb"] = max_mb
    if not fields:
        current = ports.reader.get(keys.guild_pk(call.guild_id), keys.CONFIG_SK) or {}
        return Reply(describe(current))
    config = ports.config.update_config(call.guild_id, actor_id=call.user_id, at=iso(call.now), set_fields=fields)
    return Reply(f"{describe(config)} Ingest picks this up within a minute; files already copied stay.")


def describe(config: Item) -> str:
    on = config.get("attachments_copy", True) is not False
    cap = config.get("attachments_max_mb") or DEFAULT_MAX_MB
    if not on:
        return "**Attachment copies: off.** Files of new messages are not copied."
    return (
        f"**Attachment copies: on**, files up to {cap} MB. Files of new messages are kept in the archive; "
        "`/logs message` links them for 15 minutes at a time."
    )
