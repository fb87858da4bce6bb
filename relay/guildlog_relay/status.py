"""The relay's own events (source "relay", category relay): connects, resumes, disconnects, gaps and
a periodic heartbeat, so the archive says when the relay was listening and what it missed.

`d` is small and guildlog's own: shard, session, sequence numbers, times, a reason. Never a token,
never a URL with credentials, never event content. Ids are derived from what the event describes
(shard, session, sequence, the moment it happened), so a spooled batch sent again maps to the same
events; a gap's id depends only on the session and the first missing sequence number, so the same
loss detected twice (a crash before the gap was spooled) is one gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guildlog.services.timefmt import iso, parse_time
from guildlog_relay.checkpoint import PendingGap
from guildlog_relay.events import HEARTBEAT as HEARTBEAT  # defined beside the events: the batcher reads it
from guildlog_relay.events import RelayEvent, Shard, relay_event
from guildlog_relay.pipeline import Dropped

CONNECT = "GUILDLOG_CONNECT"
RESUME = "GUILDLOG_RESUME"
DISCONNECT = "GUILDLOG_DISCONNECT"
GAP = "GUILDLOG_GAP"

# Gap reasons (d.reason).
SESSION_EXPIRED = "session_expired"  # a saved or interrupted session could not be resumed (op 9 false)
INVALID_SESSION = "invalid_session"  # Discord invalidated a running session (op 9 false)
INVALID_SEQ = "invalid_seq"  # close 4007
SESSION_TIMED_OUT = "session_timed_out"  # close 4009
SHARD_COUNT_CHANGED = "shard_count_changed"  # the saved session belongs to another shard layout
CHECKPOINT_UNREADABLE = "checkpoint_unreadable"  # the saved session could not be read back
TOO_LARGE = "too_large"  # one event over the webhook's size cap, kept in rejected/
UNREADABLE_SPOOL_FILE = "unreadable_spool_file"  # a spooled batch that could not be read back

# Long session ids are hashed in event ids so that ids stay well under the envelope's 200 chars.
_MAX_SESSION_IN_ID = 100


def _session_key(session_id: str | None) -> str:
    if session_id is None:
        return "none"
    if len(session_id) <= _MAX_SESSION_IN_ID:
        return session_id
    return "h" + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _event(t: str, d: dict[str, Any], event_id: str, at: datetime, shard: Shard) -> RelayEvent:
    return relay_event(t, d, event_id=event_id, received_at=at, shard=shard)


@dataclass(frozen=True)
class StatusEvents:
    """Builds the relay events of one shard."""

    shard: Shard

    def connect(self, at: datetime, session_id: str, guilds: int | None) -> RelayEvent:
        """A new session started (READY)."""
        d: dict[str, Any] = {"shard": list(self.shard), "session_id": session_id}
        if guilds is not None:
            d["guilds"] = guilds
        return _event(CONNECT, d, f"connect-{self.shard[0]}-{_session_key(session_id)}", at, self.shard)

    def resume(self, at: datetime, session_id: str, from_seq: int, replayed: int) -> RelayEvent:
        """A session resumed (RESUMED): Discord replayed `replayed` events after `from_seq`."""
        d = {"shard": list(self.shard), "session_id": session_id, "from_seq": from_seq, "replayed": replayed}
        event_id = f"resume-{self.shard[0]}-{_session_key(session_id)}-{from_seq}-{_ms(at)}"
        return _event(RESUME, d, event_id, at, self.shard)

    def disconnect(
        self, at: datetime, session_id: str | None, seq: int | None, code: int | None, reason: str, next_step: str
    ) -> RelayEvent:
        """A connection ended; `next_step` is resume, identify, stop or fatal."""
        d = {
            "shard": list(self.shard),
            "session_id": session_id,
            "seq": seq,
            "code": code,
            "reason": reason[:200],
            "next": next_step,
        }
        event_id = f"disconnect-{self.shard[0]}-{_session_key(session_id)}-{seq}-{_ms(at)}"
        return _event(DISCONNECT, d, event_id, at, self.shard)

    def heartbeat(self, at: datetime, facts: dict[str, Any]) -> RelayEvent:
        """The periodic sign of life (`/logs status` reads the newest per shard)."""
        d = {"shard": list(self.shard), **facts}
        return _event(HEARTBEAT, d, f"heartbeat-{self.shard[0]}-{_ms(at)}", at, self.shard)

    def gap(self, gap: PendingGap, until: datetime) -> RelayEvent:
        """A lost session: every seq of `gap.session_id` from `last_seq + 1` on is missing, from
        `since` until `until` (when the next session started). Placed in time at `since`."""
        since = parse_time(gap.since) or until
        d: dict[str, Any] = {
            "shard": list(self.shard),
            "session_id": gap.session_id,
            "last_seq": gap.last_seq,
            "from_seq": gap.last_seq + 1,
            "to_seq": None,
            "since": iso(since),
            "until": iso(until),
            "reason": gap.reason,
        }
        if gap.detail:
            d["detail"] = gap.detail[:200]
        return _event(GAP, d, self.gap_id(gap), since, self.shard)

    def gap_id(self, gap: PendingGap) -> str:
        """The id of the gap event for `gap`: the session and the first missing seq, nothing else."""
        return f"gap-{self.shard[0]}-{_session_key(gap.session_id)}-{gap.last_seq + 1}"

    def dropped(self, dropped: Dropped, at: datetime) -> RelayEvent:
        """Events the webhook will never take, kept in rejected/ (a single event over its size cap,
        an unreadable spool file): named by session and seq range like any other gap."""
        when = parse_time(dropped.received_at) or at
        d: dict[str, Any] = {
            "shard": list(self.shard),
            "session_id": dropped.session_id,
            "last_seq": None if dropped.first_seq is None else dropped.first_seq - 1,
            "from_seq": dropped.first_seq,
            "to_seq": dropped.last_seq,
            "since": iso(when),
            "until": iso(when),
            "reason": dropped.reason,
            "events": dropped.events,
            "batch_id": dropped.batch_id,
        }
        if dropped.event_type:
            d["t"] = dropped.event_type
        if dropped.size is not None:
            d["bytes"] = dropped.size
        if dropped.kept_as:
            d["kept_as"] = f"rejected/{dropped.kept_as}"
        if dropped.first_seq is not None:
            event_id = f"gap-{self.shard[0]}-{_session_key(dropped.session_id)}-{dropped.first_seq}-{dropped.last_seq}"
        else:
            event_id = f"gap-{self.shard[0]}-batch-{dropped.batch_id}"
        return _event(GAP, d, event_id[:200], when, self.shard)
