"""Attachment copies on S3: stored under `attachments/` with their content type, shown through presigned links."""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import AttachmentCopyError, StorageError
from guildlog.services.attachments import ATTACHMENTS_PREFIX


class S3AttachmentStore:
    client = BotoClient("s3")

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    def put(self, key: str, body: bytes, content_type: str) -> None:
        if not key.startswith(ATTACHMENTS_PREFIX):
            raise AttachmentCopyError("attachment copies are stored under attachments/ only", retryable=False, key=key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except Exception as exc:
            raise StorageError("S3 refused the attachment copy", key=key, error=type(exc).__name__) from exc

    def exists(self, key: str) -> bool:
        """Whether a copy is stored under `key` (HEAD: GetObject's permission, no body read)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (403, 404):
                return False
            raise StorageError("S3 did not say whether a copy exists", key=key, error=type(exc).__name__) from exc
        return True

    def link(self, key: str, expires_in: int) -> str:
        """A presigned GET of the copy, valid `expires_in` seconds (the bucket itself is never public)."""
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        except Exception as exc:
            raise StorageError("the attachment link could not be signed", key=key, error=type(exc).__name__) from exc
        return url
