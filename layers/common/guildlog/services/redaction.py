"""Secrets kept out of the archive: the fields of a dispatch that are credentials, replaced at ingest.

An interaction's `token` lets whoever holds it answer and edit as the application for 15 minutes;
a VOICE_SERVER_UPDATE's `token` lets whoever holds it join the voice server as the bot. Neither says
anything about what happened, so the raw archive keeps the line with the value replaced by
`REDACTED` and names the field in the line's `redacted` list; every other byte of the event is kept.

Gateway session ids (READY's `session_id`, the envelope's `session_id`) are kept: resuming a session
needs the bot token as well, which never reaches ingest, and the event ids are made from them.
READY's `resume_gateway_url` is a public Discord host. See docs/data-rights.md, "Secrets".
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
# Dispatch type → the fields of `d` that are credentials.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "INTERACTION_CREATE": ("token",),
    "VOICE_SERVER_UPDATE": ("token",),
}


def redact(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The event (`{"t":…, "d":{…}}` as received) with its secret fields replaced, and their paths
    (`d.token`). The event itself is never changed: a copy is returned when anything is redacted."""
    fields = SECRET_FIELDS.get(str(raw.get("t")), ())
    data = raw.get("d")
    if not fields or not isinstance(data, dict):
        return raw, []
    found = [name for name in fields if name in data and data[name] != REDACTED]
    if not found:
        return raw, []
    # Key order is kept (a dict copy keeps it), so the line's other bytes are exactly as received.
    cleaned = {**data, **dict.fromkeys(found, REDACTED)}
    return {**raw, "d": cleaned}, [f"d.{name}" for name in found]
