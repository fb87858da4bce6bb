"""A secret's text from Secrets Manager, read on first use and kept for the container's life.

For the web viewer's two secrets: the Discord application's OAuth2 client secret (a string, or a
JSON object with `client_secret`) and the session key CloudFormation generates. The value is never
logged and never part of an error.
"""

from __future__ import annotations

import json
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ConfigurationError


class SecretText:
    """`value()` is the secret's string (or its `json_key` when it holds a JSON object)."""

    client = BotoClient("secretsmanager")

    def __init__(self, secret_id: str, *, variable: str, json_key: str | None = None, client: Any = None) -> None:
        self.secret_id = secret_id
        self.variable = variable
        self.json_key = json_key
        self._client = client
        self._value: str | None = None

    def __repr__(self) -> str:
        return f"SecretText({self.secret_id!r})"

    def value(self) -> str:
        if self._value is None:
            if not self.secret_id:
                raise ConfigurationError("no secret is configured", variables=[self.variable])
            try:
                answer = self.client.get_secret_value(SecretId=self.secret_id)
            except Exception as exc:  # botocore's errors name the secret, never its value
                code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
                raise ConfigurationError("cannot read a secret", variables=[self.variable], error=code) from None
            text = answer.get("SecretString")
            if not isinstance(text, str) or not text.strip():
                raise ConfigurationError("a secret is empty", variables=[self.variable])
            self._value = self._pick(text.strip())
        return self._value

    def _pick(self, text: str) -> str:
        if self.json_key is None or not text.startswith("{"):
            return text
        try:
            found = json.loads(text).get(self.json_key)
        except (ValueError, AttributeError):
            raise ConfigurationError("a secret looks like JSON but is not", variables=[self.variable]) from None
        if not isinstance(found, str) or not found:
            raise ConfigurationError(f"a JSON secret has no {self.json_key!r}", variables=[self.variable])
        return found
