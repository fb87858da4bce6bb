"""The cold archive: one gzip object per dataset, partition day and batch, with deterministic bytes."""

from __future__ import annotations

import gzip
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import StorageError


def gzip_bytes(text: str) -> bytes:
    """gzip with mtime 0: the same text always gives the same object (a retried batch changes nothing)."""
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


class S3Archive:
    """Writes archive objects. `client` is a boto3 S3 client (injected, or built lazily)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    client = BotoClient("s3")

    def put(self, key: str, text: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=gzip_bytes(text),
                # The object *is* a .gz file (Athena and DuckDB read it by its extension); no
                # Content-Encoding, or HTTP clients would unpack it on download.
                ContentType="application/gzip",
            )
        except Exception as exc:
            raise StorageError("S3 refused an archive object", key=key, error=type(exc).__name__) from exc
