"""guildlog.services.commands.cursor: the Prev/Next cursor cannot be forged, moved or reused elsewhere."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from guildlog.errors import CommandError
from guildlog.services.commands import protocol as p
from guildlog.services.commands.cursor import (
    PREFIX,
    Boundary,
    Cursor,
    HmacCursorCodec,
    SearchFilters,
    derive_key,
)
from tests.fakes import interactions as fx

CODEC = HmacCursorCodec(b"k" * 32)
FULL = SearchFilters(
    user=fx.MEMBER, channel=fx.CHANNEL, category="moderation", contains="phishing link", since_minute=29_000_000
)
CURSOR = Cursor(filters=FULL, newer=False, boundary=Boundary.of(1_795_132_290_647, "E#x#gw:s:1"), page=3)


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(),
        FULL,
        SearchFilters(contains="ümlaut ✓"),
        SearchFilters(category="other"),
        SearchFilters(since_minute=0),
    ],
)
def test_cursor_round_trips_when_decoded_for_the_same_server_and_member(filters: SearchFilters) -> None:
    cursor = replace(CURSOR, filters=filters, newer=True)
    custom_id = CODEC.encode(cursor, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None and len(custom_id) <= p.MAX_CUSTOM_ID_CHARS
    assert CODEC.decode(custom_id, fx.GUILD, fx.MODERATOR) == cursor


def test_cursor_is_refused_when_clicked_in_another_server() -> None:
    custom_id = CODEC.encode(CURSOR, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None
    with pytest.raises(CommandError):
        CODEC.decode(custom_id, fx.OTHER_GUILD, fx.MODERATOR)


def test_cursor_is_refused_when_clicked_by_another_member() -> None:
    custom_id = CODEC.encode(CURSOR, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None
    with pytest.raises(CommandError):
        CODEC.decode(custom_id, fx.GUILD, fx.MEMBER)


def test_cursor_is_refused_when_signed_with_another_key() -> None:
    custom_id = HmacCursorCodec(b"x" * 32).encode(CURSOR, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None
    with pytest.raises(CommandError):
        CODEC.decode(custom_id, fx.GUILD, fx.MODERATOR)


def test_cursor_is_refused_when_any_byte_is_changed() -> None:
    custom_id = CODEC.encode(CURSOR, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None
    raw = bytearray(base64.urlsafe_b64decode(custom_id[len(PREFIX) :] + "=" * (-len(custom_id) % 4)))
    for index in range(len(raw)):
        forged = bytearray(raw)
        forged[index] ^= 0x01
        text = PREFIX + base64.urlsafe_b64encode(bytes(forged)).decode().rstrip("=")
        with pytest.raises(CommandError):
            CODEC.decode(text, fx.GUILD, fx.MODERATOR)


@pytest.mark.parametrize("custom_id", ["", "s1.", "s1.!!!", "s2.AAAA", "x" * 100, PREFIX + "A" * 20])
def test_cursor_is_refused_when_custom_id_is_garbage(custom_id: str) -> None:
    with pytest.raises(CommandError):
        CODEC.decode(custom_id, fx.GUILD, fx.MODERATOR)


def test_encode_returns_none_when_the_filters_do_not_fit_a_custom_id() -> None:
    crowded = replace(CURSOR, filters=replace(FULL, contains="✓" * 40))
    assert CODEC.encode(crowded, fx.GUILD, fx.MODERATOR) is None


def test_codec_fetches_its_key_once_when_the_key_is_lazy() -> None:
    calls = []

    def key() -> bytes:
        calls.append(1)
        return b"k" * 32

    lazy = HmacCursorCodec(key)
    custom_id = lazy.encode(CURSOR, fx.GUILD, fx.MODERATOR)
    assert custom_id is not None
    assert lazy.decode(custom_id, fx.GUILD, fx.MODERATOR) == CURSOR
    assert calls == [1]
    assert CODEC.decode(custom_id, fx.GUILD, fx.MODERATOR) == CURSOR  # same key, same tag


def test_derive_key_differs_when_the_bot_token_differs() -> None:
    assert derive_key("a") != derive_key("b")
    assert derive_key("a") == derive_key("a")
    assert len(derive_key("a")) == 32
