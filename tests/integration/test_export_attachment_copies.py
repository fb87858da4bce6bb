"""Exports link the archive's attachment copies (moto's S3 on loopback): a DCE attachment's url is the
copy's presigned link, the JSON export lists them, and a file never copied keeps Discord's url."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date

import pytest

from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_attachments import S3AttachmentStore
from guildlog.adapters.s3_exports import S3ArchiveRows, S3ExportStore
from guildlog.services.attachments import object_key
from guildlog.services.exports import Exporter, ExportRequest
from tests.fakes import archive_data as data
from tests.integration.s3_server import S3Server, moto_s3_server

pytestmark = pytest.mark.integration

BUCKET = "export-copies"
CAT = "700000000000000500"  # M3's attachment in #random (tests/fakes/archive_data.py)
PNG = b"\x89PNG\r\n\x1a\ncat"


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with moto_s3_server() as s3_server:
        s3_server.create_bucket(BUCKET)
        data.ingest(S3Archive(BUCKET, s3_server.s3))
        yield s3_server


@pytest.fixture
def copied(server: S3Server) -> Iterator[str]:
    """M3's cat.png, copied into the archive as AttachmentCopyFunction would have."""
    key = object_key(data.GUILD, data.M3, CAT, "cat.png")
    server.s3.put_object(Bucket=BUCKET, Key=key, Body=PNG, ContentType="image/png")
    yield key
    server.s3.delete_object(Bucket=BUCKET, Key=key)


def exporter(server: S3Server) -> Exporter:
    return Exporter(
        S3ArchiveRows(BUCKET, server.s3), S3ExportStore(BUCKET, server.s3), copies=S3AttachmentStore(BUCKET, server.s3)
    )


def request(output_format: str) -> ExportRequest:
    return ExportRequest(data.GUILD, date(2026, 11, 19), date(2026, 11, 19), output_format, data.RANDOM)


def test_export_points_a_dce_attachment_at_its_copy_when_the_archive_has_one(server: S3Server, copied: str) -> None:
    result = exporter(server).export(request("dce"))

    [message] = json.loads(result.file.body)["messages"]
    [attachment] = message["attachments"]
    with urllib.request.urlopen(attachment["url"], timeout=10) as answer:  # noqa: S310 - a loopback URL we signed
        assert (answer.read(), answer.headers.get_content_type()) == (PNG, "image/png")
    assert copied in urllib.parse.unquote(attachment["url"])


def test_export_keeps_discords_url_when_the_file_was_never_copied(server: S3Server) -> None:
    result = exporter(server).export(request("dce"))

    [message] = json.loads(result.file.body)["messages"]
    assert message["attachments"][0]["url"] == "https://cdn.example/cat.png"


def test_export_lists_the_copies_in_the_json_file_when_the_archive_has_them(server: S3Server, copied: str) -> None:
    result = exporter(server).export(request("json"))

    copies = json.loads(result.file.body)["attachment_copies"]
    assert list(copies) == [CAT] and copied in urllib.parse.unquote(copies[CAT])
