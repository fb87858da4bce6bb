"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against one local stack per session.

Nothing is downloaded: Playwright launches the system browser by path. Without it the browser tests
skip with the reason locally and fail under CI, where `make test` installs it first.

One browser and one stack serve every browser test; both are module-scoped rather than
session-scoped because Playwright's sync API keeps an event loop running on the main thread while
it is open (later tests call asyncio.run) and a process holds one local stack at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from guildlog_tools.fakes.discord_oauth import FakeGuild, FakeUser
from guildlog_tools.local.stack import LocalStack
from tests.fakes.web_guild import GUILD_A, GUILD_B, MODERATOR, Seeded, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
A_MODERATOR = FakeUser(MODERATOR, "moderator", (FakeGuild(GUILD_A, "Lantern Guild"),), "Mod")
B_MEMBER = FakeUser("920000000000000199", "outsider", (FakeGuild(GUILD_B, "Other Guild"),))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `make test` installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Seeded]]:
    # Viewer roles are re-checked on every page here, so a role taken away shows on the next refresh.
    recheck = {"GUILDLOG_WEB_ROLE_RECHECK_SECONDS": "0"}
    with LocalStack(dev_file=tmp_path_factory.mktemp("web") / "dev.json", function_environment=recheck) as stack:
        yield stack, seed(stack, datetime.now(UTC), extra_messages=60)


@pytest.fixture
def signed_in(chromium: Any, web_stack: tuple[LocalStack, Seeded]) -> Iterator[Any]:
    """A fresh browser context signed in as guild A's moderator, on the guild's overview."""
    stack, _ = web_stack
    assert stack.discord is not None
    stack.discord.oauth.sign_in_as(A_MODERATOR)
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{stack.web_url}/g/{GUILD_A}/")
    yield page
    context.close()
