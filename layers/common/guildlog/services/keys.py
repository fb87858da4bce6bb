"""The hot table's key strings (docs/design.md, "DynamoDB keys"): the one place they are spelled.

Pure functions, no I/O. Every writer (hot_items, the command store) and every reader (the commands,
the local stack's reports, the tests) builds its keys here, so a key's shape changes in one file.
"""

from __future__ import annotations

NO_GUILD = "-"
# "$" sorts right after "#": `X#` … `X$` bounds every sort key that starts with `X#`.
FEED_FIRST, FEED_LAST = "E#", "E$"
CONTACT_FIRST, CONTACT_LAST = "C#", "C$"
VERSION_PREFIX = "V#"
DELETED_SK = "DEL"
CONFIG_SK = "CONFIG"
# A guild's feed shard plan (services/feed_shards.py): absent for every guild that never needed one.
SHARDS_SK = "SHARDS"
CLAIM_SK = "CLAIM"
# A hosted relay keeps each shard's checkpoint in the table instead of on a disk it would lose.
CHECKPOINT_SK = "CHECKPOINT"
RELAY_INDEX_PK = "RELAYS"
# Daily counters: one delta item per batch (`B#<batch>[#<part>]`). Stacks from before kept one
# `TOTAL` item and one `U#<user>` item per day; readers fold those in too.
DELTA_PREFIX = "B#"
LEGACY_TOTAL_SK = "TOTAL"
LEGACY_MEMBER_PREFIX = "U#"
# Categories GSI3 does not hold: a search for them reads the guild's feed (see search.index_for).
FEED_ONLY_CATEGORIES = frozenset({"message"})


def guild_pk(guild_id: str | None) -> str:
    """`G#<guild>` (`G#-` for none): a guild's feed partition and its CONFIG item."""
    return f"G#{guild_id or NO_GUILD}"


def guild_of_pk(pk: str) -> str:
    """The guild id of a `G#<guild>` key."""
    return pk[len("G#") :]


def feed_pk(guild_id: str | None, shard: int = 0) -> str:
    """A guild's feed partition: shard 0 is `G#<guild>` itself (every guild's keys before sharding),
    shard n > 0 is `G#<guild>#F#<n>`."""
    return guild_pk(guild_id) if shard == 0 else f"{guild_pk(guild_id)}#F#{shard}"


def feed_sk(occurred_at: str, event_id: str) -> str:
    return f"E#{occurred_at}#{event_id}"


def feed_sk_at(moment: str) -> str:
    """The lowest feed sort key at an ISO instant (a range bound)."""
    return f"E#{moment}"


def member_index_pk(guild_id: str | None, user_id: str) -> str:
    """GSI1: a guild's events by member."""
    return f"{guild_pk(guild_id)}#U#{user_id}"


def channel_index_pk(guild_id: str | None, channel_id: str) -> str:
    """GSI2: a guild's events by channel."""
    return f"{guild_pk(guild_id)}#C#{channel_id}"


def category_index_pk(guild_id: str | None, category: str) -> str:
    """GSI3: a guild's events by category."""
    return f"{guild_pk(guild_id)}#K#{category}"


def index_shard_pk(base_pk: str, shard: int = 0) -> str:
    """A GSI partition key of a sharded guild (services/feed_shards.py): shard 0 is the key itself
    (`G#<guild>#U#<user>`, `…#C#<channel>`, `…#K#<category>`: every guild's keys before sharding), shard
    n > 0 is `<key>#S#<n>`. An event's index entries go to the shard its feed item goes to."""
    return base_pk if shard == 0 else f"{base_pk}#S#{shard}"


# GSI3 partition listing the guilds whose config sets a retention or an archive mode: the nightly
# retention pass reads it with one Query (the config item carries GSI3PK/GSI3SK once either is set).
ARCHIVE_RETENTION_INDEX_PK = "ARCHIVE#RETENTION"


# The rules of the last full sweep of the archive (their fingerprint), written by the nightly pass.
ARCHIVE_SWEEP_PK = "ARCHIVE#SWEEP"
ARCHIVE_SWEEP_SK = "RULES"


def archive_retention_index(guild_id: str) -> dict[str, str]:
    """The attributes that put a guild's config item in the archive retention index (GSI3)."""
    return {"GSI3PK": ARCHIVE_RETENTION_INDEX_PK, "GSI3SK": guild_pk(guild_id)}


def message_pk(message_id: str) -> str:
    return f"M#{message_id}"


def version_sk(occurred_at: str) -> str:
    return f"{VERSION_PREFIX}{occurred_at}"


# --- attachment copies (services/attachments.py): one item per copied or failed file of a message,
# beside its versions under `M#<message>`, so the Query `/logs message` already makes reads them.
ATTACHMENT_PREFIX = "A#"


def attachment_sk(item_id: str) -> str:
    """`A#<attachment, sticker or embed-image id>`: a file of the message and where its copy is."""
    return f"{ATTACHMENT_PREFIX}{item_id}"


def claim_pk(interaction_id: str) -> str:
    return f"I#{interaction_id}"


def day_pk(guild_id: str, day: str) -> str:
    """`G#<guild>#D#<yyyy-mm-dd>`: the day's counter items."""
    return f"G#{guild_id}#D#{day}"


def delta_sk(batch_id: str, part: int = 0) -> str:
    """A batch's counter delta; a delta too large for one item continues in parts 1, 2, …"""
    return f"{DELTA_PREFIX}{batch_id}" if part == 0 else f"{DELTA_PREFIX}{batch_id}#{part}"


def legacy_member_sk(user_id: str) -> str:
    return f"{LEGACY_MEMBER_PREFIX}{user_id}"


def relay_pk(shard_id: int) -> str:
    return f"RELAY#{shard_id}"


# A hosted relay run as several tasks (relay/guildlog_relay/shard_groups.py): the layout every task
# derives its shards from, and one lease per shard group.
RELAY_LAYOUT_PK = "RELAY#GROUPS"
LAYOUT_SK = "LAYOUT"
LEASE_SK = "LEASE"


def relay_group_pk(group: int) -> str:
    return f"RELAY#GROUP#{group}"


# The IDENTIFY turn of one max_concurrency bucket, shared by every relay process of the stack.
IDENTIFY_SLOT_SK = "SLOT"


def relay_identify_pk(bucket: int) -> str:
    return f"RELAY#IDENTIFY#{bucket}"


def contact_sk(occurred_at: str, event_id: str) -> str:
    return f"C#{occurred_at}#{event_id}"


def contact_sk_at(moment: str) -> str:
    return f"C#{moment}"


def relay_index_sk(day: str, shard_id: int) -> str:
    """`D#<day>#S#<shard>`: shard seen on that day (a plain put, the same item however often)."""
    return f"D#{day}#S#{shard_id}"


def relay_index_range(first_day: str) -> tuple[str, str]:
    return f"D#{first_day}", "D$"


def shard_of_index_sk(sk: str) -> int | None:
    """The shard of a `D#<day>#S#<shard>` sort key; None for anything else."""
    _, _, shard = sk.partition("#S#")
    return int(shard) if shard.isascii() and shard.isdigit() else None


def feed_access_path(
    guild_id: str, *, member: str | None = None, channel: str | None = None, category: str | None = None
) -> tuple[str | None, str]:
    """(index, partition key) of the most selective way to read a guild's events with these filters:
    a member's index, a channel's, a category's (message events are in the feed only), else the feed."""
    if member:
        return "GSI1", member_index_pk(guild_id, member)
    if channel:
        return "GSI2", channel_index_pk(guild_id, channel)
    if category and category not in FEED_ONLY_CATEGORIES:
        return "GSI3", category_index_pk(guild_id, category)
    return None, guild_pk(guild_id)


# -- gap repairs (services/gap_repair.py): one record per relay gap, beside the shard's contacts

REPAIR_FIRST, REPAIR_LAST = "R#", "R$"


def repair_sk(since: str, gap_event_id: str) -> str:
    """A gap's repair record in `RELAY#<shard>`: `R#<since>#<gap event id>`, so a shard's gaps sort by time."""
    return f"R#{since}#{gap_event_id}"


def repair_sk_at(moment: str) -> str:
    return f"R#{moment}"


# --- erasure (services/erasure/, docs/data-rights.md) ---------------------------------------------
# One partition per guild holds its tombstones, erasure jobs and receipts: ingest reads a guild's
# tombstones with one Query (cached), `/logs forget receipts` its receipts with another.
TOMBSTONE_PREFIX = "T#"
ERASURE_JOB_PREFIX = "J#"
RECEIPT_PREFIX = "R#"
# A guild that removed the bot: its deletion, due at a time, and the stack-wide index of due deletions.
GUILD_DELETION_SK = "GUILD"
DUE_DELETIONS_PK = "ERASE#DUE"


def erasure_pk(guild_id: str) -> str:
    """`G#<guild>#ERASE`: the guild's tombstones, erasure jobs, receipts and scheduled deletion."""
    return f"G#{guild_id}#ERASE"


def tombstone_sk(user_id: str) -> str:
    return f"{TOMBSTONE_PREFIX}{user_id}"


def erasure_job_sk(job_id: str) -> str:
    return f"{ERASURE_JOB_PREFIX}{job_id}"


def receipt_sk(finished_at: str, job_id: str) -> str:
    """`R#<finished_at>#<job>`: newest last, so a Query read backwards lists the latest first."""
    return f"{RECEIPT_PREFIX}{finished_at}#{job_id}"


def due_deletion_sk(due_at: str, guild_id: str) -> str:
    """`<due_at>#<guild>` under `ERASE#DUE`: a Query up to now finds the deletions that are due."""
    return f"{due_at}#{guild_id}"
