"""guildlog.services.keys: the hot table's key strings, as docs/design.md's key table spells them."""

from __future__ import annotations

import pytest

from guildlog.services import keys

GUILD = "100000000000000001"


@pytest.mark.parametrize(
    ("made", "spelled"),
    [
        pytest.param(keys.guild_pk(GUILD), f"G#{GUILD}", id="feed-and-config"),
        pytest.param(keys.guild_pk(None), "G#-", id="feed-without-guild"),
        pytest.param(
            keys.feed_sk("2026-03-07T12:00:00.000Z", "gw:s:1"), "E#2026-03-07T12:00:00.000Z#gw:s:1", id="feed"
        ),
        pytest.param(keys.member_index_pk(GUILD, "7"), f"G#{GUILD}#U#7", id="gsi1"),
        pytest.param(keys.channel_index_pk(GUILD, "8"), f"G#{GUILD}#C#8", id="gsi2"),
        pytest.param(keys.category_index_pk(GUILD, "voice"), f"G#{GUILD}#K#voice", id="gsi3"),
        pytest.param(keys.message_pk("9"), "M#9", id="message"),
        pytest.param(keys.version_sk("2026-03-07T12:00:00.000Z"), "V#2026-03-07T12:00:00.000Z", id="version"),
        pytest.param(keys.claim_pk("5"), "I#5", id="claim"),
        pytest.param(keys.day_pk(GUILD, "2026-03-07"), f"G#{GUILD}#D#2026-03-07", id="day"),
        pytest.param(keys.delta_sk("s1-0-1-9"), "B#s1-0-1-9", id="delta"),
        pytest.param(keys.delta_sk("s1-0-1-9", 2), "B#s1-0-1-9#2", id="delta-part"),
        pytest.param(keys.relay_pk(3), "RELAY#3", id="relay"),
        pytest.param(keys.CHECKPOINT_SK, "CHECKPOINT", id="relay-checkpoint"),
        pytest.param(
            keys.contact_sk("2026-03-07T12:00:00.000Z", "r:1"), "C#2026-03-07T12:00:00.000Z#r:1", id="contact"
        ),
        pytest.param(keys.relay_index_sk("2026-03-07", 3), "D#2026-03-07#S#3", id="shard-seen"),
        pytest.param(keys.attachment_sk("300000000000000001"), "A#300000000000000001", id="attachment-copy"),
        pytest.param(keys.archive_retention_index(GUILD)["GSI3PK"], "ARCHIVE#RETENTION", id="retention-index"),
        pytest.param(keys.archive_retention_index(GUILD)["GSI3SK"], f"G#{GUILD}", id="retention-index-sk"),
        pytest.param(f"{keys.ARCHIVE_SWEEP_PK}/{keys.ARCHIVE_SWEEP_SK}", "ARCHIVE#SWEEP/RULES", id="archive-sweep"),
    ],
)
def test_keys_spell_each_key_as_documented_when_built(made: str, spelled: str) -> None:
    assert made == spelled


def test_guild_of_pk_gives_the_guild_back_when_given_its_feed_key() -> None:
    assert keys.guild_of_pk(keys.guild_pk(GUILD)) == GUILD


@pytest.mark.parametrize(("sk", "shard"), [("D#2026-03-07#S#12", 12), ("D#2026-03-07", None), ("D#x#S#y", None)])
def test_shard_of_index_sk_reads_the_shard_when_the_key_names_one(sk: str, shard: int | None) -> None:
    assert keys.shard_of_index_sk(sk) == shard
