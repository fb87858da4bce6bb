"""A Secrets Manager secret's string, fetched on first use and kept for the container's life.

The value is never logged and never part of an error: errors name the failure, not the secret.
"""

from __future__ import annotations

from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ConfigurationError


class SecretString:
    """`client` is a boto3 Secrets Manager client (injected, or built lazily)."""

    def __init__(self, secret_id: str, client: Any = None) -> None:
        self.secret_id = secret_id
        self._client = client
        self._value: str | None = None

    def __repr__(self) -> str:
        return f"SecretString({self.secret_id!r})"

    client = BotoClient("secretsmanager")

    def value(self) -> str:
        if self._value is None:
            if not self.secret_id:
                raise ConfigurationError("no secret is configured", variables=["GUILDLOG_BOT_TOKEN_SECRET_ARN"])
            try:
                answer = self.client.get_secret_value(SecretId=self.secret_id)
            except Exception as exc:
                raise ConfigurationError("the secret cannot be read", error=type(exc).__name__) from None
            text = answer.get("SecretString")
            if not isinstance(text, str) or not text.strip():
                raise ConfigurationError("the secret holds no string")
            self._value = text.strip()
        return self._value
