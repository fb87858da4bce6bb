"""GET /gateway/bot, with a scripted opener (no network)."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message
from typing import Any

import pytest

from guildlog.errors import ConfigurationError
from guildlog_relay.discovery import DiscoveryError, GatewayInfo, fetch_gateway_bot

ANSWER = {
    "url": "wss://gateway.discord.gg",
    "shards": 9,
    "session_start_limit": {"total": 1000, "remaining": 998, "reset_after": 14_400_000, "max_concurrency": 16},
}


class Opener:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            headers = Message()
            headers["Retry-After"] = "0.5"
            raise urllib.error.HTTPError(request.full_url, answer, "no", headers, io.BytesIO(b"{}"))
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(json.dumps(answer).encode())


def test_fetch_gateway_bot_reads_url_shards_and_limits_with_the_bot_header_when_discord_answers() -> None:
    opener = Opener(ANSWER)

    info = fetch_gateway_bot("https://discord.com/api/v10/", "tok", opener=opener)

    assert info == GatewayInfo("wss://gateway.discord.gg", 9, 16, 998, 14_400.0)
    [request] = opener.requests
    assert request.full_url == "https://discord.com/api/v10/gateway/bot"
    assert request.get_header("Authorization") == "Bot tok" and "DiscordBot" in request.get_header("User-agent")


def test_fetch_gateway_bot_retries_when_discord_answers_429_5xx_or_the_network_fails() -> None:
    sleeps: list[float] = []
    opener = Opener(429, 502, urllib.error.URLError(ConnectionRefusedError("refused")), ANSWER)

    info = fetch_gateway_bot("https://d/api/v10", "tok", opener=opener, sleep=sleeps.append)

    assert info.shards == 9 and len(sleeps) == 3 and sleeps[0] == 0.5


@pytest.mark.parametrize("status", [401, 403])
def test_fetch_gateway_bot_raises_a_configuration_error_without_the_token_when_refused(status: int) -> None:
    with pytest.raises(ConfigurationError) as raised:
        fetch_gateway_bot("https://d/api/v10", "secret-token-value", opener=Opener(status))

    assert "refused the bot token" in raised.value.message and "secret-token-value" not in raised.value.message


def test_fetch_gateway_bot_gives_up_naming_the_last_problem_when_retries_run_out() -> None:
    with pytest.raises(DiscoveryError, match="HTTP 503"):
        fetch_gateway_bot("https://d/api/v10", "t", opener=Opener(*[503] * 6), sleep=lambda s: None)
