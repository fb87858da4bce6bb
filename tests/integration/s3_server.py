"""moto's S3 on a loopback port, for code that reaches S3 over HTTP (DuckDB's httpfs, presigned URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from guildlog_tools.local.moto_server import moto_server

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class S3Server:
    endpoint_url: str
    s3: Any

    def create_bucket(self, name: str, *, versioned: bool = False) -> str:
        self.s3.create_bucket(Bucket=name)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))

    def sizes(self, bucket: str, prefix: str = "") -> dict[str, int]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {entry["Key"]: entry["Size"] for page in pages for entry in page.get("Contents", [])}


@contextmanager
def moto_s3_server() -> Iterator[S3Server]:
    """A fresh moto server (state reset) on 127.0.0.1 and an S3 client for it."""
    import boto3

    with moto_server() as url:
        client = boto3.session.Session().client("s3", endpoint_url=url, region_name=REGION, **CREDENTIALS)
        yield S3Server(endpoint_url=url, s3=client)


@contextmanager
def sample_archive_server(bucket: str) -> Iterator[S3Server]:
    """A moto S3 server whose `bucket` holds the sample archive (tests.fakes.archive_data)."""
    from guildlog.adapters.s3_archive import S3Archive
    from tests.fakes import archive_data

    with moto_s3_server() as s3_server:
        s3_server.create_bucket(bucket)
        archive_data.ingest(S3Archive(bucket, s3_server.s3))
        yield s3_server
