"""Exports on S3: the rows of a partition day read from `events/`, the file stored under `exports/`
and shared with a presigned GET link."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ExportError, StorageError
from guildlog.services.exports import EXPORTS_PREFIX, ExportFile
from guildlog.services.partition import partition_prefix


class _Client:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    client = BotoClient("s3")


class S3ArchiveRows(_Client):
    """Every normalized row of a day: the `events/` objects of its partition, one after the other."""

    def rows(self, day: date) -> Iterator[dict[str, Any]]:
        prefix = partition_prefix("events", day)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            keys = sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))
        except Exception as exc:
            raise StorageError("S3 did not list the archive", prefix=prefix, error=type(exc).__name__) from exc
        for key in keys:
            if not key.endswith(".jsonl.gz"):
                continue
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except Exception as exc:
                raise StorageError("S3 did not return an archive object", key=key, error=type(exc).__name__) from exc
            for line in gzip.decompress(body).decode("utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)


class S3ExportStore(_Client):
    """Writes export files under `exports/` and signs links to them."""

    def put(self, key: str, file: ExportFile) -> None:
        if not key.startswith(EXPORTS_PREFIX):
            raise ExportError("exports are stored under exports/ only", key=key)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=file.body,
                ContentType=file.content_type,
                # The browser saves it under its own name instead of showing it.
                ContentDisposition=f'attachment; filename="{file.name}"',
            )
        except Exception as exc:
            raise StorageError("S3 refused the export", key=key, error=type(exc).__name__) from exc

    def link(self, key: str, expires_in: int) -> str:
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        except Exception as exc:
            raise StorageError("the export link could not be signed", key=key, error=type(exc).__name__) from exc
        return url
