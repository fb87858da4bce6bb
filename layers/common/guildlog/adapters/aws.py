"""The boto3 client of an adapter: the one it was given, else one made on first use.

No client is made at import time or in a constructor, so a cold start pays for botocore only
when a request needs AWS, and tests inject a moto-backed or fake client through the constructor.
"""

from __future__ import annotations

from typing import Any


class BotoClient:
    """`client = BotoClient("s3")` on an adapter class whose constructor stores `self._client`
    (the injected client, or None)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __get__(self, adapter: object, owner: type | None = None) -> Any:
        if adapter is None:
            return self
        client = adapter.__dict__.get("_client")
        if client is None:
            import boto3

            client = boto3.client(self.service)
            adapter.__dict__["_client"] = client
        return client
