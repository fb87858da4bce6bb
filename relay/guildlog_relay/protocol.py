"""Discord Gateway protocol numbers the relay depends on, each with the reason it matters.

Pure data and small pure functions: no I/O, no websockets import. The close-code policy lives here
so that one table decides what every close means (resume, identify again, or stop for good).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# The Gateway and REST version the relay speaks; payload shapes below are v10's.
API_VERSION = 10
DEFAULT_API_BASE = f"https://discord.com/api/v{API_VERSION}"
# JSON, not ETF: the relay forwards `d` as JSON anyway, so there is nothing to convert.
ENCODING = "json"
# One zlib context per connection; cuts Discord's traffic several times over for JSON.
COMPRESS = "zlib-stream"
# Every complete zlib-stream message ends with this Z_SYNC_FLUSH marker; until it arrives, buffer.
ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class Op(enum.IntEnum):
    """Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes)."""

    DISPATCH = 0  # an event: the only op that carries something to log
    HEARTBEAT = 1  # sent by us on the interval; Discord may also ask for one immediately
    IDENTIFY = 2  # start a new session (rate limited by max_concurrency, counted per day)
    RESUME = 6  # continue a session: Discord replays what we missed after `seq`
    REQUEST_GUILD_MEMBERS = 8  # ask for a guild's members: they arrive as GUILD_MEMBERS_CHUNK dispatches
    RECONNECT = 7  # Discord asks us to reconnect and resume
    INVALID_SESSION = 9  # `d` says whether the session can still be resumed
    HELLO = 10  # first frame on a connection: the heartbeat interval
    HEARTBEAT_ACK = 11  # proof the connection is alive; missing one means a zombie connection


# Discord closes a connection that sends more than this many frames in a window (close 4008).
SEND_LIMIT = 120
SEND_WINDOW_S = 60.0
# Frames the limiter keeps free for heartbeats: a beat every ~41 s plus Discord's op 1 requests.
HEARTBEAT_RESERVE = 10
# One IDENTIFY per max_concurrency bucket per this many seconds, or Discord answers op 9.
IDENTIFY_INTERVAL_S = 5.0
# Discord: after op 9, wait a random 1–5 s before identifying again.
INVALID_SESSION_WAIT_S = (1.0, 5.0)
# Guilds above this many members arrive without offline members: 250 is Discord's maximum, the
# most a logger can get without requesting members.
LARGE_THRESHOLD = 250
# Our own close when we want to come back and resume (zombie, op 7, shutdown): Discord invalidates
# the session on 1000 and 1001, keeps it on anything else.
RESUMABLE_CLOSE = 4000
# Closes whose session is gone anyway (op 9 false): a normal close says so.
FINAL_CLOSE = 1000
# What websockets reports when the connection dropped without a close frame.
ABNORMAL_CLOSE = 1006


class Intent(enum.IntFlag):
    """Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1  # privileged: joins, leaves, nick and role changes
    GUILD_MODERATION = 1 << 2  # bans and audit-log entries (who did it)
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8  # privileged and very chatty: not in the default set
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15  # privileged: without it, message text arrives empty
    GUILD_SCHEDULED_EVENTS = 1 << 16
    AUTO_MODERATION_CONFIGURATION = 1 << 20
    AUTO_MODERATION_EXECUTION = 1 << 21
    GUILD_MESSAGE_POLLS = 1 << 24


PRIVILEGED_INTENTS = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT
# Everything a server log records; no presences or typing (volume without history), no DMs.
DEFAULT_INTENTS = (
    Intent.GUILDS
    | Intent.GUILD_MEMBERS
    | Intent.GUILD_MODERATION
    | Intent.GUILD_EXPRESSIONS
    | Intent.GUILD_INTEGRATIONS
    | Intent.GUILD_WEBHOOKS
    | Intent.GUILD_INVITES
    | Intent.GUILD_VOICE_STATES
    | Intent.GUILD_MESSAGES
    | Intent.GUILD_MESSAGE_REACTIONS
    | Intent.MESSAGE_CONTENT
    | Intent.GUILD_SCHEDULED_EVENTS
    | Intent.AUTO_MODERATION_CONFIGURATION
    | Intent.AUTO_MODERATION_EXECUTION
    | Intent.GUILD_MESSAGE_POLLS
)


def parse_intents(text: str) -> int:
    """`--intents`: a number, or names joined by commas (`GUILDS,GUILD_MESSAGES`), or `default`."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    total = 0
    for part in value.split(","):
        name = part.strip().upper()
        if not name:
            continue
        if name == "DEFAULT":
            total |= DEFAULT_INTENTS
            continue
        try:
            total |= Intent[name]
        except KeyError:
            raise ValueError(f"unknown intent {part.strip()!r}") from None
    return int(total)


class CloseAction(enum.Enum):
    RESUME = "resume"  # reconnect and resume the session (identify if there is none)
    REIDENTIFY = "identify"  # the session is gone: record a gap, identify a new one
    FATAL = "fatal"  # retrying cannot help: stop and tell a person why


@dataclass(frozen=True)
class ClosePolicy:
    action: CloseAction
    meaning: str


# https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
CLOSE_CODES: dict[int, ClosePolicy] = {
    4000: ClosePolicy(CloseAction.RESUME, "unknown error"),
    4001: ClosePolicy(CloseAction.RESUME, "unknown opcode"),
    4002: ClosePolicy(CloseAction.RESUME, "decode error"),
    4003: ClosePolicy(CloseAction.RESUME, "not authenticated"),
    4004: ClosePolicy(
        CloseAction.FATAL,
        "authentication failed: Discord refused the bot token (check DISCORD_TOKEN, the token file or the secret)",
    ),
    4005: ClosePolicy(CloseAction.RESUME, "already authenticated"),
    4007: ClosePolicy(CloseAction.REIDENTIFY, "invalid seq: the session cannot be resumed from that sequence"),
    4008: ClosePolicy(CloseAction.RESUME, "rate limited: too many frames sent"),
    4009: ClosePolicy(CloseAction.REIDENTIFY, "session timed out"),
    4010: ClosePolicy(CloseAction.FATAL, "invalid shard: --shards / --shard-count do not fit this bot"),
    4011: ClosePolicy(
        CloseAction.FATAL, "sharding required: the bot is in too many guilds for one shard; set --shard-count"
    ),
    4012: ClosePolicy(CloseAction.FATAL, "invalid API version: this relay speaks a version Discord no longer serves"),
    4013: ClosePolicy(CloseAction.FATAL, "invalid intents: --intents is not a valid intents number"),
    4014: ClosePolicy(
        CloseAction.FATAL,
        "disallowed intents: a privileged intent (Server Members, Message Content or Presence) is not enabled "
        "for this bot; enable it in the Developer Portal (Bot → Privileged Gateway Intents) or drop it from --intents",
    ),
}


def close_policy(code: int | None) -> ClosePolicy:
    """What to do after Discord (or the network) closed the connection with `code`.

    Codes not in the table, and closes without a code (a dropped connection), resume: the
    session may well still be there, and trying costs one RESUME.
    """
    if code is None:
        return ClosePolicy(CloseAction.RESUME, "connection lost")
    policy = CLOSE_CODES.get(code)
    if policy is not None:
        return policy
    if code == ABNORMAL_CLOSE:
        return ClosePolicy(CloseAction.RESUME, "connection lost without a close frame")
    return ClosePolicy(CloseAction.RESUME, f"closed with {code}")


def gateway_url(base: str) -> str:
    """`base` with the query the relay connects with (`v`, `encoding`, `compress`), other parts kept."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("v", "encoding", "compress")]
    query += [("v", str(API_VERSION)), ("encoding", ENCODING), ("compress", COMPRESS)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))
