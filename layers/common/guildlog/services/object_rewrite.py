"""Rewrite archive objects line by line, keeping or changing each line by a function, on a versioned bucket.

One object at a time: read its current version, run every line through `edit` (the line unchanged, a
new line, or None to drop it), and when anything changed write the new body over the same key with a
condition on the version read (`If-Match`), then delete the version read. The key never changes, so an
object is never present twice (no duplicate row for a reader) and never absent (nothing lost): S3
replaces an object's current version in one step. A run killed between the write and the delete leaves
the old version behind as a noncurrent version; `purge_old_versions` finds such versions (and those
that compaction's deletes left) by the same test and deletes them, so a second run ends where an
uninterrupted one would have.

Pure logic over a store port (`adapters/s3_rewrite.py` is the S3 one); gzip with mtime 0 so the same
lines always give the same bytes, like every archive object.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Edit = Callable[[str], "str | None"]


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    etag: str
    size: int
    latest: bool
    delete_marker: bool = False
    modified: datetime | None = None  # when this version was written (S3's LastModified)


class VersionedObjects(Protocol):
    """What a rewrite needs from the bucket."""

    def versions(self, prefix: str) -> list[ObjectVersion]:
        """Every version and delete marker under `prefix`, newest first per key."""
        ...

    def read(self, version: ObjectVersion) -> bytes: ...

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        """Write `body` as the key's new current version if its current ETag is `if_match`; the new version id.
        Raises ConcurrentWriteError (services.compaction) when the object changed meanwhile."""
        ...

    def delete_version(self, key: str, version_id: str) -> None: ...


@dataclass
class LineCounts:
    lines: int = 0
    changed: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class RewriteOutcome:
    key: str
    state: str  # "rewritten", "unchanged" or "deleted"
    bytes_read: int
    counts: LineCounts


def is_gzip(key: str) -> bool:
    return key.endswith(".gz")


def decode(key: str, body: bytes) -> str:
    return (gzip.decompress(body) if is_gzip(key) else body).decode("utf-8")


def encode(key: str, text: str) -> bytes:
    data = text.encode("utf-8")
    return gzip.compress(data, compresslevel=6, mtime=0) if is_gzip(key) else data


def edit_lines(text: str, edit: Edit) -> tuple[str, LineCounts]:
    """`text` with each line through `edit` (the line without its `\\n` or `\\r\\n`, which are kept), and what
    changed. Lines split at `\\n` only: JSON text may hold U+2028 and other separators unescaped."""
    counts = LineCounts()
    out: list[str] = []
    parts = text.split("\n")
    ends_with_newline = parts[-1] == ""
    if ends_with_newline:
        parts.pop()
    for part in parts:
        cr = part.endswith("\r")
        line = part[:-1] if cr else part
        if not line:
            out.append(part)
            continue
        counts.lines += 1
        new = edit(line)
        if new is None:
            counts.dropped += 1
            continue
        if new != line:
            counts.changed += 1
        out.append(new + "\r" if cr else new)
    return "\n".join(out) + ("\n" if ends_with_newline and out else ""), counts


def rewrite_object(
    store: VersionedObjects,
    current: ObjectVersion,
    edit_text: Callable[[str], tuple[str, LineCounts]],
    *,
    older: Iterable[ObjectVersion] = (),
) -> RewriteOutcome:
    """Rewrite one object's current version through `edit_text` (e.g. `lambda t: edit_lines(t, edit)`).

    The new body replaces the current version only if something changed; then the version read and
    `older` versions of the key are deleted. An object edited down to nothing is deleted (its versions)."""
    body = store.read(current)
    text = decode(current.key, body)
    new_text, counts = edit_text(text)
    if counts.changed == 0 and counts.dropped == 0:
        return RewriteOutcome(current.key, "unchanged", len(body), counts)
    if not new_text.strip():
        for version in (current, *older):
            store.delete_version(current.key, version.version_id)
        return RewriteOutcome(current.key, "deleted", len(body), counts)
    new_version = store.replace(current.key, encode(current.key, new_text), if_match=current.etag)
    for version in (current, *older):
        # An unversioned bucket gives every write the same version id ("null"): that one is the new body.
        if version.version_id != new_version:
            store.delete_version(current.key, version.version_id)
    return RewriteOutcome(current.key, "rewritten", len(body), counts)


def by_key(versions: Iterable[ObjectVersion]) -> dict[str, list[ObjectVersion]]:
    """Versions grouped per key, the current one (if any) first."""
    grouped: dict[str, list[ObjectVersion]] = {}
    for version in versions:
        grouped.setdefault(version.key, []).append(version)
    for items in grouped.values():
        items.sort(key=lambda v: not v.latest)
    return grouped


def purge_old_versions(
    store: VersionedObjects, versions: Iterable[ObjectVersion], holds: Callable[[str], bool]
) -> tuple[int, int]:
    """Delete the noncurrent versions whose text `holds` what is being removed; (deleted, bytes read)."""
    deleted = read = 0
    for version in versions:
        if version.latest or version.delete_marker:
            continue
        body = store.read(version)
        read += len(body)
        if holds(decode(version.key, body)):
            store.delete_version(version.key, version.version_id)
            deleted += 1
    return deleted, read
