"""One renderer per kind; `render` picks it and keeps the embed within Discord's limits."""

from __future__ import annotations

from collections.abc import Callable

from guildlog.services.modlog import members, messages, server, voice
from guildlog.services.modlog.common import RenderContext, Rendered, Row
from guildlog.services.modlog.kinds import kind_of
from guildlog.services.modlog.limits import fit_embed

RENDERERS: dict[str, Callable[[Row, RenderContext], Rendered]] = {
    "message_delete": messages.deleted,
    "message_edit": messages.edited,
    "message_bulk_delete": messages.bulk_deleted,
    "member_join": members.joined,
    "member_leave": members.left,
    "member_update": members.updated,
    "member_ban": members.banned,
    "member_unban": members.unbanned,
    "member_kick": members.kicked,
    "role": server.role_changed,
    "channel": server.channel_changed,
    "thread": server.thread_changed,
    "emoji": server.emoji_changed,
    "guild": server.guild_changed,
    "invite": server.invite_changed,
    "voice": voice.voice_changed,
}


def render(row: Row, context: RenderContext | None = None) -> Rendered | None:
    """The post of a row (an embed cut to Discord's limits, and any files), or None when it is not posted."""
    kind = kind_of(row)
    if kind is None:
        return None
    rendered = RENDERERS[kind](row, context or RenderContext())
    return Rendered(fit_embed(rendered.embed), rendered.files)
