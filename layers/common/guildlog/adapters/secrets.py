"""The bot token in Secrets Manager: one reading of it for the Lambda functions and the relay.

The secret holds the token itself, or a JSON object with the token under `token` (or `bot_token`,
`DISCORD_TOKEN`, `discord_token`); a `Bot ` prefix and surrounding whitespace are dropped. The
value is never logged and never part of an error: errors name the secret and the failure.
"""

from __future__ import annotations

import json
import re
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ConfigurationError

SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):[0-9]{12}:secret:.+$")
# Keys a JSON secret may keep the token under.
TOKEN_KEYS = ("token", "bot_token", "DISCORD_TOKEN", "discord_token")


def clean_token(value: str, where: str) -> str:
    """The token without surrounding whitespace or a `Bot ` prefix; ConfigurationError if unusable."""
    token = value.strip()
    if token.lower().startswith("bot "):
        token = token[4:].strip()
    if not token:
        raise ConfigurationError(f"{where} is empty: it must hold the bot token")
    if any(c.isspace() for c in token) or not token.isprintable():
        raise ConfigurationError(f"{where} does not look like a bot token (it contains spaces or control characters)")
    return token


def token_from_secret_text(value: str, where: str) -> str:
    """The token in a secret's string: the string itself, or a JSON object's token key."""
    if value.lstrip().startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            raise ConfigurationError(f"{where} looks like JSON but is not") from None
        found = next((data[k] for k in TOKEN_KEYS if isinstance(data, dict) and isinstance(data.get(k), str)), None)
        if found is None:
            raise ConfigurationError(f"{where} is a JSON object without a 'token' key")
        value = found
    return clean_token(value, where)


def read_secret_text(arn: str, what: str, client: Any | None = None) -> str:
    """The SecretString of the secret `arn` (`what` names it in errors, which never hold the value).
    Without a client, one is made for the ARN's region."""
    match = SECRET_ARN.match(arn)
    if not match:
        raise ConfigurationError(f"{arn!r} is not a Secrets Manager secret ARN")
    if client is None:
        import boto3

        client = boto3.client("secretsmanager", region_name=match["region"])
    try:
        answer = client.get_secret_value(SecretId=arn)
    except Exception as exc:  # botocore's errors; their text names the ARN, never the value
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise ConfigurationError(f"cannot read {what} {arn}: {code}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str):
        raise ConfigurationError(f"{what} {arn} has no SecretString")
    return value


def read_token_secret(arn: str, client: Any | None = None) -> str:
    """The bot token kept in the secret `arn`."""
    return token_from_secret_text(read_secret_text(arn, "the token secret", client), f"the token secret {arn}")


class BotTokenSecret:
    """The bot token, read from its secret on first use and kept for the container's life.
    `client` is a boto3 Secrets Manager client (injected, or built lazily)."""

    client = BotoClient("secretsmanager")

    def __init__(self, secret_id: str, client: Any = None) -> None:
        self.secret_id = secret_id
        self._client = client
        self._value: str | None = None

    def __repr__(self) -> str:
        return f"BotTokenSecret({self.secret_id!r})"

    def value(self) -> str:
        if self._value is None:
            if not self.secret_id:
                raise ConfigurationError("no secret is configured", variables=["GUILDLOG_BOT_TOKEN_SECRET_ARN"])
            self._value = read_token_secret(self.secret_id, self.client)
        return self._value
