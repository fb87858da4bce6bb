"""guildlog.services.copy_retention: which exports and attachment copies have outlived their guild's limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from guildlog.services.copy_retention import copy_owner, expire_copies
from guildlog.services.object_rewrite import ObjectVersion
from guildlog.services.retention import GuildRetention, RetentionRules
from tests.fakes.archive_data import snowflake

TODAY = date(2026, 12, 1)
WEEK = "900000000000000001"
FACTS = "900000000000000002"


class Bucket:
    """A versioned bucket in memory: key → versions (newest first)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[ObjectVersion]] = {}

    def add(self, key: str, written: date, copies: int = 1) -> None:
        at = datetime(written.year, written.month, written.day, 9, tzinfo=UTC)
        self.keys[key] = [ObjectVersion(key, f"v{n}", f"e{n}", 10, n == 0, modified=at) for n in range(copies)]

    def versions(self, prefix: str) -> list[ObjectVersion]:
        return [v for key, vs in self.keys.items() if key.startswith(prefix) for v in vs]

    def read(self, version: ObjectVersion) -> bytes:
        return b""

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        raise AssertionError("copies are deleted, never rewritten")

    def delete_version(self, key: str, version_id: str) -> None:
        self.keys[key] = [v for v in self.keys[key] if v.version_id != version_id]
        if not self.keys[key]:
            del self.keys[key]


def rules() -> RetentionRules:
    guilds = {WEEK: GuildRetention(7), FACTS: GuildRetention(7, "content-only")}
    return RetentionRules(today=TODAY, max_days=3650, default_days=30, guilds=guilds)


def attachment(guild: str, day: date) -> str:
    return f"attachments/guild={guild}/{snowflake(f'{day.isoformat()}T10:00:00.000Z')}/1-cat.png"


def test_copy_owner_reads_an_attachment_copys_day_from_its_message_id_not_its_write_time() -> None:
    day = TODAY - timedelta(days=40)
    key = attachment(WEEK, day)
    written = [ObjectVersion(key, "v", "e", 1, True, modified=datetime(2026, 11, 30, tzinfo=UTC))]

    assert copy_owner(key, written) == (WEEK, day)


def test_expire_copies_deletes_every_version_past_the_limit_when_the_guild_keeps_content_only() -> None:
    bucket = Bucket()
    old, recent = TODAY - timedelta(days=8), TODAY - timedelta(days=7)
    for guild in (WEEK, FACTS):
        bucket.add(attachment(guild, old), old, copies=2)
        bucket.add(attachment(guild, recent), recent)
        bucket.add(f"exports/{guild}/e1/general.json", old)
        bucket.add(f"exports/{guild}/e2/general.json", recent)

    expiry = expire_copies(bucket, rules())

    assert sorted(bucket.keys) == sorted(
        [attachment(g, recent) for g in (WEEK, FACTS)] + [f"exports/{g}/e2/general.json" for g in (WEEK, FACTS)]
    )
    assert (expiry.exports, expiry.attachments, expiry.versions_deleted) == (2, 2, 6)


def test_expire_copies_leaves_a_key_it_cannot_read_to_the_lifecycle_rule() -> None:
    bucket = Bucket()
    bucket.add("exports/not-a-guild/e1/x.json", TODAY - timedelta(days=400))
    bucket.add("attachments/stray.bin", TODAY - timedelta(days=400))

    expiry = expire_copies(bucket, rules())

    assert len(bucket.keys) == 2 and expiry.unreadable == 2
