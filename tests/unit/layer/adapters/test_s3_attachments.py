"""guildlog.adapters.s3_attachments: copies only under attachments/, links that expire in 15 minutes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from guildlog.adapters.s3_attachments import S3AttachmentStore
from guildlog.errors import AttachmentCopyError
from guildlog.services.attachments import LINK_SECONDS


def offline_client() -> object:
    # Presigning is local arithmetic: no request is made.
    return boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )


def test_link_expires_after_fifteen_minutes_when_signed_for_a_copy() -> None:
    store = S3AttachmentStore("archive", offline_client())

    url = store.link("attachments/guild=1/2/3-cat.png", LINK_SECONDS)

    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["900"]


def test_put_refuses_a_key_outside_attachments_when_asked_to_store_one() -> None:
    store = S3AttachmentStore("archive", offline_client())

    with pytest.raises(AttachmentCopyError, match="attachments/ only"):
        store.put("events/year=2026/x.jsonl.gz", b"x", "text/plain")
