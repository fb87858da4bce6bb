"""Voice: joined, moved, left, muted, deafened — read from the previous voice state when guildlog had it."""

from __future__ import annotations

from guildlog.services.modlog.common import (
    BEFORE_UNKNOWN,
    BLUE,
    GREY,
    RenderContext,
    Rendered,
    Row,
    channel,
    embed,
    user,
)
from guildlog.services.modlog.kinds import changes_of, details_of

_ACTIONS = {
    "join": "joined",
    "leave": "left",
    "move": "moved",
    "mute": "was muted",
    "unmute": "was unmuted",
    "deafen": "was deafened",
    "undeafen": "was undeafened",
}
# Flags as the voice state names them, in words.
_FLAGS = {
    "mute": "server muted",
    "deaf": "server deafened",
    "self_mute": "muted",
    "self_deaf": "deafened",
    "self_stream": "streaming",
    "self_video": "camera on",
}


def voice_changed(row: Row, context: RenderContext) -> Rendered:
    action = str(row.get("action") or "state")
    changes, unknown = changes_of(row)
    who = user(row.get("user_id"), row.get("user_name"))
    moved = changes.get("channel_id") or {}
    before = None if "channel_id" in unknown else moved.get("before")
    here = row.get("channel_id")
    if action == "move":
        source = channel(before) if before else BEFORE_UNKNOWN
        text = f"{who} moved {source} → {channel(moved.get('after') or here)}"
    elif action == "leave":
        text = f"{who} left {channel(before) if before else 'voice (' + BEFORE_UNKNOWN + ')'}"
    elif action in _ACTIONS:
        text = f"{who} {_ACTIONS[action]} in {channel(here)}"
    else:
        # One `state` row (no previous voice state known): what the member is now.
        flags = [word for name, word in _FLAGS.items() if details_of(row).get(name)]
        text = f"{who} is in {channel(here)}" + (f" ({', '.join(flags)})" if flags else "") + f"; {BEFORE_UNKNOWN}"
    return Rendered(embed("Voice", BLUE if action in ("join", "move") else GREY, row, description=text))
