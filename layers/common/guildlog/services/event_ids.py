"""Deterministic event ids: one delivery retried maps to one id; two Discord events never share one."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from guildlog.models.envelope import Envelope, EnvelopeEvent

# The sources whose MESSAGE_CREATE is Discord's own message object: the relay's dispatch and the
# REST history read back by backfill and gap repair. Imports keep their source's natural key.
MESSAGE_ID_SOURCES = frozenset({"gateway", "backfill"})
MESSAGE_CREATE_PREFIX = "msg:"
_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")


def message_create_id(message_id: str) -> str:
    """The event id of a message's create, whichever path captured it (`msg:<message id>`)."""
    return MESSAGE_CREATE_PREFIX + message_id


def created_message(event: EnvelopeEvent) -> str | None:
    """The message id when the event is a message's create from the gateway or a backfill, else None."""
    if event.t != "MESSAGE_CREATE" or event.source not in MESSAGE_ID_SOURCES or not isinstance(event.d, dict):
        return None
    message_id: Any = event.d.get("id")
    return message_id if isinstance(message_id, str) and _SNOWFLAKE.match(message_id) else None


def event_id(event: EnvelopeEvent, envelope: Envelope) -> str:
    """`msg:<message id>` for a message's create (gateway or backfill), `gw:<session>:<seq>` for other
    gateway dispatches, `<source>:<id>` for imports and relay events, else a content hash.

    A message is created once, so its id names its create whichever path saw it: the relay's
    dispatch and the same message read back from REST history land on one item. Discord never
    reuses a (session, seq) pair, and replays after a RESUME repeat the same pair, so a replayed
    event lands on the item it already wrote.
    """
    created = created_message(event)
    if created is not None:
        return message_create_id(created)
    if event.id:
        return f"{event.source}:{event.id}"
    session = event.session_id or envelope.relay.session_id
    if event.source == "gateway" and session and event.seq is not None:
        return f"gw:{session}:{event.seq}"
    canonical = json.dumps({"t": event.t, "d": event.d}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
