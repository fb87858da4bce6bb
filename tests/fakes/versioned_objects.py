"""An in-memory versioned bucket: the port services/archive_rewrite.py rewrites through."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

from guildlog.services.compaction import ConcurrentWriteError
from guildlog.services.object_rewrite import ObjectVersion


@dataclass
class MemoryVersions:
    # key → versions, oldest first: (version id, body)
    objects: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    deleted_versions: list[tuple[str, str]] = field(default_factory=list)
    writes: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def put(self, key: str, body: bytes) -> str:
        version = f"v{next(self._ids)}"
        self.objects.setdefault(key, []).append((version, body))
        return version

    def current(self, key: str) -> bytes | None:
        versions = self.objects.get(key) or []
        return versions[-1][1] if versions else None

    def versions(self, prefix: str) -> list[ObjectVersion]:
        found = []
        for key, versions in sorted(self.objects.items()):
            if not key.startswith(prefix):
                continue
            for n, (version, body) in enumerate(reversed(versions)):
                etag = hashlib.md5(body).hexdigest()  # noqa: S324 - S3's ETag of a simple upload
                found.append(ObjectVersion(key, version, etag, len(body), latest=n == 0))
        return found

    def read(self, version: ObjectVersion) -> bytes:
        return dict(self.objects[version.key])[version.version_id]

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        current = self.current(key)
        if current is None or hashlib.md5(current).hexdigest() != if_match:  # noqa: S324
            raise ConcurrentWriteError("changed", key=key)
        self.writes += 1
        return self.put(key, body)

    def delete_version(self, key: str, version_id: str) -> None:
        self.objects[key] = [(v, b) for v, b in self.objects.get(key, []) if v != version_id]
        if not self.objects[key]:
            del self.objects[key]
        self.deleted_versions.append((key, version_id))
