"""boto3 clients for `guildlog setup` and `guildlog doctor`: one session, one client per service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guildlog.errors import ConfigurationError


def client_factory(region: str | None, endpoint_url: str | None = None) -> Callable[[str], Any]:
    """`client(service)` for `region`; with `endpoint_url` (the local stack's moto) every client goes there."""
    import boto3

    session = boto3.session.Session(region_name=region)
    made: dict[str, Any] = {}
    extra: dict[str, str] = {}
    if endpoint_url:  # moto takes any credentials; these keep boto3 from looking for real ones
        extra = {"endpoint_url": endpoint_url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = session.client(service, **extra)
        return made[service]

    return client


def default_region() -> str:
    """The AWS configuration's region; ConfigurationError when there is none."""
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise ConfigurationError("no AWS region: pass --region or set AWS_REGION")
    return str(region)
