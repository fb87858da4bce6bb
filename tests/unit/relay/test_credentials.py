"""Where the bot token comes from, and that it never reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from guildlog.errors import ConfigurationError
from guildlog_relay.credentials import REDACTED, RedactingFilter, resolve_token

# Token-shaped but made up: three dot-separated parts, like a real bot token.
TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Gfake1.made-up-token-for-these-tests-only"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:guildlog/bot-token-AbCdEf"


class FakeSecrets:
    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value, self.error, self.asked = value, error, []

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.asked.append(SecretId)
        if self.error:
            raise self.error
        return {"SecretString": self.value}


def test_resolve_token_reads_the_file_and_drops_a_bot_prefix_when_given_a_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"Bot {TOKEN}\n")

    assert resolve_token(token_file=path, secret_arn=None, environ={"DISCORD_TOKEN": "other"}) == (
        TOKEN,
        f"token file {path}",
    )


@pytest.mark.parametrize("stored", [TOKEN, json.dumps({"token": TOKEN}), json.dumps({"DISCORD_TOKEN": TOKEN})])
def test_resolve_token_reads_the_secret_as_text_or_json_when_given_an_arn(stored: str) -> None:
    client = FakeSecrets(stored)

    token, where = resolve_token(token_file=None, secret_arn=ARN, environ={}, secrets_client=client)

    assert token == TOKEN and where == f"secret {ARN}" and client.asked == [ARN]


def test_resolve_token_takes_discord_token_when_no_flag_is_given() -> None:
    assert resolve_token(token_file=None, secret_arn=None, environ={"DISCORD_TOKEN": f" {TOKEN} "})[0] == TOKEN


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"token_file": None, "secret_arn": None, "environ": {}}, "no bot token"),
        ({"token_file": Path("/nonexistent/token"), "secret_arn": None, "environ": {}}, "no such file"),
        ({"token_file": Path("t"), "secret_arn": ARN, "environ": {}}, "not both"),
        ({"token_file": None, "secret_arn": "arn:aws:s3:::bucket", "environ": {}}, "not a Secrets Manager"),
        ({"token_file": None, "secret_arn": None, "environ": {"DISCORD_TOKEN": "has space"}}, "does not look"),
    ],
)
def test_resolve_token_says_what_to_fix_when_the_token_cannot_be_had(arguments: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        resolve_token(**arguments)


def test_resolve_token_names_the_arn_but_not_the_value_when_the_secret_is_json_without_a_token() -> None:
    client = FakeSecrets(json.dumps({"password": TOKEN}))

    with pytest.raises(ConfigurationError) as raised:
        resolve_token(token_file=None, secret_arn=ARN, environ={}, secrets_client=client)

    assert ARN in raised.value.message and TOKEN not in raised.value.message


def test_redacting_filter_hides_the_token_everywhere_in_a_record_when_logged() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(url)s"))
    handler.addFilter(RedactingFilter(TOKEN))
    logger = logging.getLogger("guildlog_relay.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("sent %s", f'{{"token":"{TOKEN}"}}', extra={"url": f"wss://x/?t={TOKEN}"})
    finally:
        logger.removeHandler(handler)

    assert TOKEN not in stream.getvalue() and stream.getvalue().count(REDACTED) == 2
