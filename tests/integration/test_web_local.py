"""The web viewer on the local stack: served at dev.json's web_url, signed in through the fake Discord's
OAuth endpoints over real HTTP, where a code is good once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from guildlog_tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str, cookies: list[str] | None = None) -> tuple[int, dict[str, str], list[str]]:
    """(status, headers, Set-Cookie values) of one GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": "; ".join(cookies or [])})  # noqa: S310 - loopback
    try:
        answer = opener.open(request, timeout=60)
    except urllib.error.HTTPError as exc:
        answer = exc
    with answer:
        answer.read()
        return answer.status, dict(answer.headers.items()), answer.headers.get_all("set-cookie") or []


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "dev.json") as running:
        yield running


def test_local_stack_writes_web_url_to_the_dev_file_when_started(stack: LocalStack) -> None:
    written = json.loads(stack.dev_file.read_text(encoding="utf-8"))
    assert written["web_url"] == stack.web_url
    status, headers, _ = fetch(written["web_url"])
    assert status == 200
    assert headers["content-security-policy"].startswith("default-src 'none'")


def test_local_sign_in_is_refused_when_the_callback_is_replayed(stack: LocalStack) -> None:
    status, headers, cookies = fetch(f"{stack.web_url}/auth/login")
    assert status == 303 and headers["location"].startswith(f"{stack.discord.url}/oauth2/authorize?")  # type: ignore[union-attr]
    sign_in = [c.split(";", 1)[0] for c in cookies]
    assert "Secure" not in cookies[0]  # plain http on 127.0.0.1: a Secure cookie would never come back
    status, headers, _ = fetch(headers["location"])
    assert status == 302
    callback = headers["location"]
    first = fetch(callback, sign_in)
    replay = fetch(callback, sign_in)
    assert first[0] == 303 and any(c.startswith("guildlog_session=") for c in first[2])
    assert replay[0] == 400 and not any(c.startswith("guildlog_session=") for c in replay[2])
