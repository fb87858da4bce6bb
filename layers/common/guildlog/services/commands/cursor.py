"""The Prev/Next cursor of `/logs search`, carried whole in a button's custom id and HMAC-signed.

Nothing is stored server-side: the button says what the search was (filters), where the page ended
and which page it is. The signature covers the server and the member it was made for, which are
never in the id itself: a custom id copied to another server, or clicked by another member, or
edited in any byte, does not verify. Discord caps a custom id at 100 characters; a search whose
filters do not fit is shown without paging buttons (`encode` returns None).

Layout (bytes, then base64url without padding, after the `s1.` prefix):

    flags(1) page(1) boundary_ms(6) boundary_hash(4) [user(8)] [channel(8)] [since_min(4)] [contains…] tag(10)

flags: bit 0 direction (1 = newer), bits 1-4 which optional parts follow (user, channel, since,
contains), bits 5-7 the category (index + 1, 0 = any). The boundary is the page's edge item: its
time in ms and 4 bytes of a hash of its sort key, so the next page starts exactly after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass

from guildlog.errors import CommandError
from guildlog.services.commands import protocol as p
from guildlog.services.commands.definitions import SEARCHABLE_CATEGORIES

PREFIX = "s1."
TAG_BYTES = 10  # 80 bits: forging one means ~2^79 tries through Discord's rate limits
HASH_BYTES = 4
_KEY_LABEL = b"guildlog search cursor key v1"
_TAG_LABEL = b"guildlog-search-v1"
_OLDER, _NEWER = 0, 1
_HAS_USER, _HAS_CHANNEL, _HAS_SINCE, _HAS_CONTAINS = 1 << 1, 1 << 2, 1 << 3, 1 << 4

EXPIRED = "This button no longer works (it belongs to another search or another member). Run /logs search again."


@dataclass(frozen=True)
class SearchFilters:
    """What a search asked for. `since_minute`: unix minutes (the filter's lower bound)."""

    user: str | None = None
    channel: str | None = None
    category: str | None = None
    contains: str | None = None
    since_minute: int | None = None


@dataclass(frozen=True)
class Boundary:
    """The edge item of a page: its time (unix ms) and a short hash of its sort key."""

    ms: int
    sk_hash: bytes

    @classmethod
    def of(cls, occurred_at_ms: int, sort_key: str) -> Boundary:
        return cls(occurred_at_ms, sk_hash(sort_key))


def sk_hash(sort_key: str) -> bytes:
    return hashlib.sha256(sort_key.encode("utf-8")).digest()[:HASH_BYTES]


@dataclass(frozen=True)
class Cursor:
    filters: SearchFilters
    newer: bool  # True: the page newer than the boundary (Prev); False: older (Next)
    boundary: Boundary
    page: int


def derive_key(bot_token: str) -> bytes:
    """The cursor key: derived from the bot token secret, so it exists wherever the stack does."""
    return hmac.new(bot_token.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


class HmacCursorCodec:
    """Encodes and verifies cursors. `key` is bytes, or a callable fetched once on first use."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key = key if isinstance(key, bytes) else None
        self._source = None if isinstance(key, bytes) else key

    @property
    def key(self) -> bytes:
        if self._key is None:
            assert self._source is not None
            self._key = self._source()
        return self._key

    def encode(self, cursor: Cursor, guild_id: str, requester_id: str) -> str | None:
        """The custom id for `cursor`, or None when it does not fit Discord's 100 characters."""
        payload = _pack(cursor)
        text = PREFIX + _b64(payload + self._tag(payload, guild_id, requester_id))
        return text if len(text) <= p.MAX_CUSTOM_ID_CHARS else None

    def decode(self, custom_id: str, guild_id: str, requester_id: str) -> Cursor:
        """The cursor in `custom_id`; CommandError unless it was made here for this member, unaltered."""
        if not custom_id.startswith(PREFIX):
            raise CommandError(EXPIRED)
        try:
            raw = base64.urlsafe_b64decode(_padded(custom_id[len(PREFIX) :]))
        except (binascii.Error, ValueError):
            raise CommandError(EXPIRED) from None
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(raw) <= TAG_BYTES or not hmac.compare_digest(tag, self._tag(payload, guild_id, requester_id)):
            raise CommandError(EXPIRED)
        try:
            return _unpack(payload)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError):
            raise CommandError(EXPIRED) from None

    def _tag(self, payload: bytes, guild_id: str, requester_id: str) -> bytes:
        message = b"\0".join((_TAG_LABEL, guild_id.encode(), requester_id.encode(), payload))
        return hmac.new(self.key, message, hashlib.sha256).digest()[:TAG_BYTES]


def _pack(cursor: Cursor) -> bytes:
    f = cursor.filters
    category = SEARCHABLE_CATEGORIES.index(f.category) + 1 if f.category else 0
    flags = (_NEWER if cursor.newer else _OLDER) | (category << 5)
    tail = b""
    if f.user:
        flags |= _HAS_USER
        tail += struct.pack(">Q", int(f.user))
    if f.channel:
        flags |= _HAS_CHANNEL
        tail += struct.pack(">Q", int(f.channel))
    if f.since_minute is not None:
        flags |= _HAS_SINCE
        tail += struct.pack(">I", f.since_minute)
    if f.contains:
        flags |= _HAS_CONTAINS
        tail += f.contains.encode("utf-8")
    page = max(1, min(cursor.page, 255))
    head = struct.pack(">BB", flags, page) + cursor.boundary.ms.to_bytes(6, "big") + cursor.boundary.sk_hash
    return head + tail


def _unpack(payload: bytes) -> Cursor:
    flags, page = struct.unpack(">BB", payload[:2])
    ms = int.from_bytes(payload[2:8], "big")
    digest = payload[8 : 8 + HASH_BYTES]
    if len(digest) != HASH_BYTES:
        raise ValueError("short cursor")
    rest = payload[8 + HASH_BYTES :]
    user = channel = contains = None
    since = None
    if flags & _HAS_USER:
        user, rest = str(struct.unpack(">Q", rest[:8])[0]), rest[8:]
    if flags & _HAS_CHANNEL:
        channel, rest = str(struct.unpack(">Q", rest[:8])[0]), rest[8:]
    if flags & _HAS_SINCE:
        since, rest = struct.unpack(">I", rest[:4])[0], rest[4:]
    if flags & _HAS_CONTAINS:
        contains = rest.decode("utf-8")
    elif rest:
        raise ValueError("trailing bytes")
    category_index = flags >> 5
    category = SEARCHABLE_CATEGORIES[category_index - 1] if category_index else None
    filters = SearchFilters(user=user, channel=channel, category=category, contains=contains, since_minute=since)
    return Cursor(filters=filters, newer=bool(flags & _NEWER), boundary=Boundary(ms, digest), page=page)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)
