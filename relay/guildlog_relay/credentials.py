"""The bot token: where it comes from, and keeping it out of every log line.

The token is read from exactly one place — a file, a Secrets Manager secret, or `DISCORD_TOKEN` —
and lives only in memory. Error messages name the place, never the value. `RedactingFilter`, set
on the relay's loggers, replaces the token wherever it would still appear.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guildlog.adapters.secrets import clean_token, read_token_secret
from guildlog.errors import ConfigurationError

TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the variable's name, not a token
REDACTED = "[token redacted]"


def read_token_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"token file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"token file {path}: {getattr(exc, 'strerror', None) or 'not a text file'}") from None
    return clean_token(text, f"token file {path}")


def resolve_token(
    *,
    token_file: Path | None,
    secret_arn: str | None,
    environ: Mapping[str, str],
    secrets_client: Any | None = None,
) -> tuple[str, str]:
    """(token, where it came from): `--token-file`, else `--token-secret-arn`, else `DISCORD_TOKEN`.

    The flags fall back to GUILDLOG_TOKEN_FILE / GUILDLOG_TOKEN_SECRET_ARN in the caller.
    """
    if token_file is not None and secret_arn:
        raise ConfigurationError("give the token one way: --token-file or --token-secret-arn, not both")
    if token_file is not None:
        return read_token_file(token_file), f"token file {token_file}"
    if secret_arn:
        return read_token_secret(secret_arn, secrets_client), f"secret {secret_arn}"
    value = environ.get(TOKEN_ENV)
    if value:
        return clean_token(value, TOKEN_ENV), TOKEN_ENV
    raise ConfigurationError(
        f"no bot token: set {TOKEN_ENV}, or pass --token-file PATH or --token-secret-arn ARN "
        "(or --replay FILE to forward a recorded session)"
    )


class RedactingFilter(logging.Filter):
    """Replaces the token in a record's message, arguments and extra fields."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str) and self.secret in value:
            return value.replace(self.secret, REDACTED)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and self.secret in value:
                setattr(record, key, value.replace(self.secret, REDACTED))
        if record.exc_info and record.exc_info[1] is not None and self.secret in str(record.exc_info[1]):
            record.exc_text = REDACTED
            record.exc_info = None
        return True
