"""guildlog.web.avatars: CDN URLs from the directory's hashes, the default picture, the CDN's origin."""

from __future__ import annotations

import json

from guildlog.services.directory import dir_pk
from guildlog.web.avatars import DISCORD_CDN, avatar_url, avatars, cdn_origin
from tests.fakes.memory_table import MemoryTable

GUILD = "910000000000000001"
ALICE = "910000000000000101"
BOB = "910000000000000102"
HASH = "a" * 32


def test_avatar_url_is_the_cdn_picture_when_the_user_has_a_hash() -> None:
    assert avatar_url(DISCORD_CDN, ALICE, HASH) == f"https://cdn.discordapp.com/avatars/{ALICE}/{HASH}.png?size=64"


def test_avatar_url_is_the_default_picture_by_id_when_the_user_has_no_hash() -> None:
    expected = (int(ALICE) >> 22) % 6
    assert avatar_url(DISCORD_CDN, ALICE, None) == f"https://cdn.discordapp.com/embed/avatars/{expected}.png"


def test_avatar_url_ignores_the_hash_when_it_is_not_a_hash() -> None:
    assert "/embed/avatars/" in avatar_url(DISCORD_CDN, ALICE, '../../evil"><script>')


def test_cdn_origin_is_discords_cdn_when_the_api_is_discords() -> None:
    assert cdn_origin("https://discord.com/api/v10") == "https://cdn.discordapp.com"


def test_cdn_origin_is_the_api_origin_when_the_api_is_a_fake() -> None:
    assert cdn_origin("http://127.0.0.1:8123/api/v10") == "http://127.0.0.1:8123"


def test_avatars_read_hashes_from_member_and_passing_names_when_a_page_asks() -> None:
    table = MemoryTable()
    table.put({"PK": dir_pk(GUILD), "SK": f"M#{ALICE}", "state": json.dumps({"user_avatar": HASH})})
    table.put({"PK": dir_pk(GUILD), "SK": f"N#{BOB}", "state": json.dumps({"user_avatar": "a_" + "b" * 32})})
    found = avatars(table, DISCORD_CDN, GUILD, [ALICE, BOB, ALICE, "not-an-id"])
    assert found == {
        ALICE: f"{DISCORD_CDN}/avatars/{ALICE}/{HASH}.png?size=64",
        BOB: f"{DISCORD_CDN}/avatars/{BOB}/a_{'b' * 32}.png?size=64",
    }
