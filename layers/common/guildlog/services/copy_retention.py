"""Retention for what is copied out of the archive: exports and attachment copies.

A guild's retention (`/logs config retention`, capped by the stack's `ArchiveMaxRetentionDays`) holds
for its copies as it does for its archive lines (services/retention.py), on the same nightly run:

- an attachment copy `attachments/guild=<g>/<message id>/<file>` belongs to its message's day (the
  message id's snowflake time), so it goes on the night its message's day goes past the guild's limit;
- an export `exports/<g>/<export id>/<file>` belongs to the day it was written (its newest version's
  LastModified): it is a copy of that day's archive, and goes when that day goes past the limit.

A copy is content whichever mode the guild chose (`content-only` keeps the facts of a line, and a
copy has none to keep), so past the limit it is deleted, every version of it: a presigned link to an
expired export then answers 404. S3 lifecycle rules on both prefixes are the backstop (exports after 7
days, attachment copies after the stack's maximum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guildlog.services.object_rewrite import ObjectVersion, VersionedObjects, by_key
from guildlog.services.retention import RetentionRules
from guildlog.services.timefmt import snowflake_time

EXPORTS_PREFIX = "exports/"
ATTACHMENTS_PREFIX = "attachments/"


@dataclass
class CopyExpiry:
    """What one night's pass did: copies deleted per prefix, the versions that took, and the keys left
    alone because their guild or day could not be read from them."""

    exports: int = 0
    attachments: int = 0
    versions_deleted: int = 0
    unreadable: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "exports_expired": self.exports,
            "attachments_expired": self.attachments,
            "versions_deleted": self.versions_deleted,
            "unreadable_keys": self.unreadable,
        }


def copy_owner(key: str, versions: list[ObjectVersion]) -> tuple[str, date] | None:
    """(guild, day) of an export or attachment copy, or None when its key or time says neither."""
    parts = key.split("/")
    if key.startswith(ATTACHMENTS_PREFIX) and len(parts) >= 4 and parts[1].startswith("guild="):
        guild, message_id = parts[1][len("guild=") :], parts[2]
        if not (guild.isdigit() and message_id.isdigit()):
            return None
        return guild, snowflake_time(message_id).date()
    if key.startswith(EXPORTS_PREFIX) and len(parts) >= 3 and parts[1].isdigit():
        written = [v.modified for v in versions if v.modified is not None]
        return (parts[1], max(written).date()) if written else None
    return None


def expire_copies(objects: VersionedObjects, rules: RetentionRules) -> CopyExpiry:
    """Delete every version of each export and attachment copy past its guild's limit on `rules.today`."""
    expiry = CopyExpiry()
    for prefix in (EXPORTS_PREFIX, ATTACHMENTS_PREFIX):
        for key, versions in by_key(objects.versions(prefix)).items():
            owner = copy_owner(key, versions)
            if owner is None:
                expiry.unreadable += 1  # the lifecycle rule ends it at the backstop
                continue
            guild, day = owner
            if rules.verdict(guild, day) == "keep":
                continue
            for version in versions:
                objects.delete_version(key, version.version_id)
                expiry.versions_deleted += 1
            if prefix == EXPORTS_PREFIX:
                expiry.exports += 1
            else:
                expiry.attachments += 1
    return expiry
