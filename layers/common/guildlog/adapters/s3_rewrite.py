"""Archive objects with their versions on S3 (the bucket is versioned): the port services/archive_rewrite.py uses."""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.adapters.s3_compaction import _LOST_RACE_CODES, _error_code
from guildlog.errors import StorageError
from guildlog.services.compaction import ConcurrentWriteError
from guildlog.services.object_rewrite import ObjectVersion


class S3VersionedObjects:
    """`client` is a boto3 S3 client (injected, or built lazily)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    client = BotoClient("s3")

    def versions(self, prefix: str) -> list[ObjectVersion]:
        found: list[ObjectVersion] = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Versions", []):
                    found.append(
                        ObjectVersion(
                            entry["Key"],
                            str(entry.get("VersionId") or "null"),
                            entry["ETag"],
                            int(entry["Size"]),
                            bool(entry.get("IsLatest")),
                            modified=entry.get("LastModified"),
                        )
                    )
                for entry in page.get("DeleteMarkers", []):
                    found.append(
                        ObjectVersion(
                            entry["Key"],
                            str(entry.get("VersionId") or "null"),
                            "",
                            0,
                            bool(entry.get("IsLatest")),
                            delete_marker=True,
                            modified=entry.get("LastModified"),
                        )
                    )
        except Exception as exc:
            raise StorageError("S3 did not list the versions", prefix=prefix, error=type(exc).__name__) from exc
        return found

    def read(self, version: ObjectVersion) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=version.key, VersionId=version.version_id)
            body: bytes = answer["Body"].read()
        except Exception as exc:
            raise StorageError("S3 did not return an object", key=version.key, error=type(exc).__name__) from exc
        return body

    def replace(self, key: str, body: bytes, *, if_match: str) -> str:
        content_type = "application/gzip" if key.endswith(".gz") else "application/octet-stream"
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, IfMatch=if_match
            )
        except Exception as exc:
            if _error_code(exc) in _LOST_RACE_CODES:
                raise ConcurrentWriteError("the object changed while it was rewritten", key=key) from exc
            raise StorageError("S3 refused the rewritten object", key=key, error=type(exc).__name__) from exc
        return str(answer.get("VersionId") or "null")

    def delete_version(self, key: str, version_id: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except Exception as exc:
            raise StorageError("S3 did not delete an object version", key=key, error=type(exc).__name__) from exc
