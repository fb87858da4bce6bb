"""Deterministic event ids: one delivery retried maps to one id; two Discord events never share one."""

from __future__ import annotations

import hashlib
import json

from guildlog.models.envelope import Envelope, EnvelopeEvent


def event_id(event: EnvelopeEvent, envelope: Envelope) -> str:
    """`gw:<session>:<seq>` for gateway dispatches, `<source>:<id>` for imports and relay events, else a content hash.

    Discord never reuses a (session, seq) pair, and replays after a RESUME repeat the same pair,
    so a replayed event lands on the item it already wrote.
    """
    if event.id:
        return f"{event.source}:{event.id}"
    session = event.session_id or envelope.relay.session_id
    if event.source == "gateway" and session and event.seq is not None:
        return f"gw:{session}:{event.seq}"
    canonical = json.dumps({"t": event.t, "d": event.d}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
