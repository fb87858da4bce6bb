"""`/logs config viewers role:<@&r> [remove]`: the roles whose members may open the web viewer for this server.

Members with Manage Server (or Administrator, or the owner) can always read the server's log in the
viewer; the roles listed here add readers who need neither. The roles are a string set on the
configuration item (`viewer_roles`); the viewer reads it at sign-in and whenever it re-checks a
member's roles, so a role removed here stops working within the viewer's re-check interval.
"""

from __future__ import annotations

import re

from guildlog.errors import CommandError
from guildlog.services.commands.context import Call, Item, Ports, Reply
from guildlog.services.timefmt import iso

VIEWER_ROLES = "viewer_roles"
_SNOWFLAKE = re.compile(r"^\d{15,21}$")


def run(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Choosing who may read the log in the web viewer")
    role_id = str(call.required("role"))
    if not _SNOWFLAKE.match(role_id):
        raise CommandError("`role` should be picked from the list.")
    if role_id == call.guild_id:
        raise CommandError("@everyone cannot be a viewer role: every member would read the whole log.")
    remove = call.options.get("remove", False)
    if not isinstance(remove, bool):
        raise CommandError("`remove` is true or false.")
    if remove:
        config = _write(call, ports, delete={VIEWER_ROLES: role_id})
        head = f"<@&{role_id}> may no longer open the web viewer (members lose access within a few minutes)."
    else:
        config = _write(call, ports, add={VIEWER_ROLES: role_id})
        head = f"Members with <@&{role_id}> may read this server's log in the web viewer."
    return Reply(f"{head}\n\n{render(config)}")


def render(config: Item) -> str:
    roles = sorted(config.get(VIEWER_ROLES) or [])
    listed = " ".join(f"<@&{r}>" for r in roles) if roles else "none"
    return f"**Web viewer**\nreaders: Manage Server holders, and roles: {listed}"


def _write(
    call: Call, ports: Ports, *, add: dict[str, str] | None = None, delete: dict[str, str] | None = None
) -> Item:
    return ports.config.update_config(
        call.guild_id, actor_id=call.user_id, at=iso(call.now), add_to_sets=add, delete_from_sets=delete
    )
