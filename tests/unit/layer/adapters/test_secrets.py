"""guildlog.adapters.secrets: the Lambda functions read the bot token's secret as the relay does."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.adapters.secrets import BotTokenSecret
from guildlog.errors import ConfigurationError

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:guildlog/bot-token-AbCdEf"


class Secrets:
    def __init__(self, value: Any) -> None:
        self.value, self.calls = value, 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls += 1
        return {"SecretString": self.value}


@pytest.mark.parametrize(
    "stored",
    [
        "made-up.token.value",
        "  Bot made-up.token.value\n",
        '{"token": "made-up.token.value"}',
        '{"bot_token": "Bot made-up.token.value"}',
    ],
)
def test_bot_token_secret_gives_the_bare_token_when_the_secret_holds_it_in_any_accepted_form(stored: str) -> None:
    secret = BotTokenSecret(ARN, Secrets(stored))

    assert secret.value() == "made-up.token.value"


def test_bot_token_secret_reads_the_secret_once_when_asked_twice() -> None:
    client = Secrets("made-up.token.value")
    secret = BotTokenSecret(ARN, client)

    secret.value(), secret.value()

    assert client.calls == 1


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("", "is empty"),
        ('{"other": "x"}', "without a 'token' key"),
        ("{not json", "looks like JSON"),
        (None, "no SecretString"),
    ],
)
def test_bot_token_secret_names_the_secret_and_not_the_value_when_it_is_unusable(stored: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BotTokenSecret(ARN, Secrets(stored)).value()

    assert message in caught.value.message and ARN in caught.value.message


def test_bot_token_secret_refuses_to_read_when_no_secret_is_configured() -> None:
    with pytest.raises(ConfigurationError, match="no secret is configured"):
        BotTokenSecret("", Secrets("x")).value()
