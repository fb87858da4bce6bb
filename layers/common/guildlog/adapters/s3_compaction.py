"""The compaction store on S3: list a partition, read objects as listed, write the merged object
conditionally (If-Match / If-None-Match), delete the batch objects that went into it."""

from __future__ import annotations

import builtins
import gzip
import itertools
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError
from guildlog.services.compaction import ConcurrentWriteError, StoredObject

# S3 answers 412 when a condition does not hold, 409 when a conditional write races another.
_LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_DELETE_BATCH = 1000  # DeleteObjects' limit
# Objects read at once while merging; the merged lines stay in order.
READ_AHEAD = 16
# The object metadata naming the night whose retention rules a merged object went through.
RETENTION_NIGHT_METADATA = "retention-night"
# Merged objects are built on local disk first (Lambda's /tmp), never in memory as a whole.
_SPOOL_IN_MEMORY = 16 * 1024 * 1024


class S3CompactionStore:
    """`client` is a boto3 S3 client (injected, or built lazily)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    client = BotoClient("s3")

    def list(self, prefix: str) -> builtins.list[StoredObject]:
        found = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    found.append(StoredObject(entry["Key"], entry["ETag"], int(entry["Size"])))
        except Exception as exc:
            raise StorageError("S3 did not list the partition", prefix=prefix, error=type(exc).__name__) from exc
        return found

    def read_texts(self, objects: builtins.list[StoredObject]) -> Iterator[str]:
        """The objects' texts in order, up to READ_AHEAD fetched at once (a day can hold thousands of
        small batch objects: one at a time, S3's latency alone would outlast the function)."""
        with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="compaction-read") as pool:
            pending: deque[Future[str]] = deque()
            upcoming = iter(objects)
            for obj in itertools.islice(upcoming, READ_AHEAD):
                pending.append(pool.submit(self.read_text, obj))
            while pending:
                text = pending.popleft().result()
                for obj in itertools.islice(upcoming, 1):
                    pending.append(pool.submit(self.read_text, obj))
                yield text

    def read_text(self, obj: StoredObject) -> str:
        """The object's text, exactly the version that was listed (IfMatch on its ETag)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=obj.key, IfMatch=obj.etag)["Body"].read()
        except Exception as exc:
            if _error_code(exc) in _LOST_RACE_CODES:
                raise ConcurrentWriteError("an input changed after it was listed", key=obj.key) from exc
            raise StorageError("S3 did not return an archive object", key=obj.key, error=type(exc).__name__) from exc
        return gzip.decompress(body).decode("utf-8")

    def write_merged(
        self, key: str, chunks: Iterable[str], *, replaces: StoredObject | None, night: date | None = None
    ) -> int:
        """Write gzip(chunks) to `key` if it is still `replaces` (or absent when None); the size written.
        `night` is kept as the object's metadata (RETENTION_NIGHT_METADATA)."""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            # mtime 0: the same lines always give the same bytes, like every other archive object.
            with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6, mtime=0) as packed:
                for chunk in chunks:
                    packed.write(chunk.encode("utf-8"))
            size = spool.tell()
            spool.seek(0)
            condition: dict[str, Any] = {"IfMatch": replaces.etag} if replaces else {"IfNoneMatch": "*"}
            if night is not None:
                condition["Metadata"] = {RETENTION_NIGHT_METADATA: night.isoformat()}
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=spool, ContentType="application/gzip", **condition
                )
            except Exception as exc:
                if _error_code(exc) in _LOST_RACE_CODES:
                    raise ConcurrentWriteError("the merged object changed meanwhile", key=key) from exc
                raise StorageError("S3 refused the merged object", key=key, error=type(exc).__name__) from exc
        return size

    def retention_night(self, obj: StoredObject) -> date | None:
        """The night recorded on the object (a HEAD: no body is read); None when it has none."""
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=obj.key, IfMatch=obj.etag)
        except Exception as exc:
            if _error_code(exc) in _LOST_RACE_CODES:
                return None  # changed since the listing: read it again
            raise StorageError("S3 did not describe an archive object", key=obj.key, error=type(exc).__name__) from exc
        try:
            return date.fromisoformat(str(answer.get("Metadata", {}).get(RETENTION_NIGHT_METADATA, "")))
        except ValueError:
            return None

    def delete(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            chunk = keys[start : start + _DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
            except Exception as exc:
                raise StorageError("S3 did not delete the merged inputs", error=type(exc).__name__) from exc
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError("S3 kept some merged inputs", key=first.get("Key"), error=first.get("Code"))


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
    return ""
