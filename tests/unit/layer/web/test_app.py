"""guildlog.web.app without a browser: sign-in checks, access by guild, redirects, headers, forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from guildlog.errors import SignInError
from guildlog.models.row import EventRow
from guildlog.web.app import WebApp, content_security_policy, safe_next
from guildlog.web.avatars import DISCORD_CDN
from guildlog.web.oauth import DiscordOAuth, Member
from guildlog.web.sessions import SESSION_COOKIE, SIGN_IN_COOKIE, CookieSigner, new_session
from tests.fakes.memory_table import MemoryTable

GUILD_A = "910000000000000001"
GUILD_B = "920000000000000001"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EPOCH = NOW.timestamp()
SIGNER = CookieSigner(b"s" * 32)


class FakeOAuth(DiscordOAuth):
    """Discord's side in memory: each code is good once and names the member it was issued for."""

    def __init__(self) -> None:
        super().__init__("https://discord.test/api/v10", "1234567890123456", lambda: "secret")
        self.codes = {"good": Member("910000000000000101", "alice", {GUILD_A: "Lantern Guild"})}
        self.used: set[str] = set()

    def sign_in(self, code: str, verifier: str, redirect_uri: str) -> Member:
        if code in self.used or code not in self.codes:
            raise SignInError("Discord refused /oauth2/token (400)", status=400)
        self.used.add(code)
        return self.codes[code]


def row(guild: str, content: str, n: int = 1) -> EventRow:
    return EventRow(
        event_id=f"gw:s:{guild}:{n}", batch_id="b", source="gateway", event_type="MESSAGE_CREATE", category="message",
        action="create", occurred_at=f"2026-11-20T10:00:0{n}.000Z", received_at="2026-11-20T10:00:09.000Z",
        guild_id=guild, channel_id=guild[:-2] + "10", user_id=guild[:-3] + "101", message_id=str(int(guild) + 500 + n),
        user_name="alice", content=content,
    )  # fmt: skip


@pytest.fixture
def table() -> MemoryTable:
    memory = MemoryTable()
    memory.add_rows([row(GUILD_A, "hello from A"), row(GUILD_B, "guild B's secret plans")])
    return memory


@pytest.fixture
def oauth() -> FakeOAuth:
    return FakeOAuth()


@pytest.fixture
def app(table: MemoryTable, oauth: FakeOAuth) -> WebApp:
    return WebApp(
        signer=lambda: SIGNER, oauth=lambda: oauth, reader=lambda: table, now=lambda: NOW, epoch=lambda: EPOCH
    )


def event(path: str, *, method: str = "GET", cookies: list[str] | None = None, body: str = "") -> dict[str, Any]:
    split = urlsplit(path)
    query = {k: v[-1] for k, v in parse_qs(split.query).items()}
    return {
        "rawPath": split.path,
        "queryStringParameters": query or None,
        "cookies": cookies or [],
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
        "body": body,
        "requestContext": {"domainName": "abc.execute-api.us-east-1.amazonaws.com", "http": {"method": method}},
    }


def session_cookie(guilds: dict[str, str], expires_in: int = 600) -> str:
    session = new_session("910000000000000101", "alice", guilds, int(EPOCH) + expires_in - 3600)
    return f"{SESSION_COOKIE}={SIGNER.session_cookie(session)}"


def set_cookies(answer: dict[str, Any]) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.split(";", 1)[0] for c in answer.get("cookies", [])}


def start_sign_in(app: WebApp, next_path: str = "/app") -> tuple[str, str]:
    """(the sign-in cookie to send back, the state Discord will return)."""
    answer = app.handle(event(f"/app/auth/login?next={next_path}"))
    location = answer["headers"]["location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    return set_cookies(answer)[SIGN_IN_COOKIE], state


def test_login_redirects_to_discord_with_pkce_and_state_when_started(app: WebApp) -> None:
    answer = app.handle(event("/app/auth/login"))
    location = urlsplit(answer["headers"]["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert answer["statusCode"] == 303
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://discord.test/oauth2/authorize"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "identify guilds" and len(query["state"]) >= 32
    assert query["redirect_uri"] == "https://abc.execute-api.us-east-1.amazonaws.com/app/auth/callback"
    assert "Secure" in answer["cookies"][0] and "HttpOnly" in answer["cookies"][0]


def test_callback_signs_in_and_returns_to_the_asked_page_when_state_matches(app: WebApp) -> None:
    cookie, state = start_sign_in(app, f"/app/g/{GUILD_A}/feed")
    answer = app.handle(event(f"/app/auth/callback?code=good&state={state}", cookies=[cookie]))
    assert answer["statusCode"] == 303
    assert answer["headers"]["location"] == f"/app/g/{GUILD_A}/feed"
    assert SESSION_COOKIE in set_cookies(answer)


def test_callback_is_refused_when_the_state_is_wrong(app: WebApp) -> None:
    cookie, _ = start_sign_in(app)
    answer = app.handle(event("/app/auth/callback?code=good&state=someone-elses", cookies=[cookie]))
    assert answer["statusCode"] == 400
    assert SESSION_COOKIE not in set_cookies(answer)


def test_callback_is_refused_when_no_sign_in_was_started_in_this_browser(app: WebApp) -> None:
    _, state = start_sign_in(app)
    answer = app.handle(event(f"/app/auth/callback?code=good&state={state}"))
    assert answer["statusCode"] == 400


def test_callback_is_refused_when_the_code_is_replayed(app: WebApp) -> None:
    cookie, state = start_sign_in(app)
    first = app.handle(event(f"/app/auth/callback?code=good&state={state}", cookies=[cookie]))
    replay = app.handle(event(f"/app/auth/callback?code=good&state={state}", cookies=[cookie]))
    assert first["statusCode"] == 303
    assert replay["statusCode"] == 400
    assert SESSION_COOKIE not in set_cookies(replay)


@pytest.mark.parametrize(
    "target",
    ["//evil.example/app", "https://evil.example/app", "/app\\@evil.example", "/\\evil.example", "/app/../../x",
     "/apps", "javascript:alert(1)", "/app/%0d%0aSet-Cookie:x"],
)  # fmt: skip
def test_sign_in_returns_home_when_the_return_url_leaves_the_viewer(app: WebApp, target: str) -> None:
    cookie, state = start_sign_in(app, target)
    answer = app.handle(event(f"/app/auth/callback?code=good&state={state}", cookies=[cookie]))
    assert answer["headers"]["location"] == "/app"
    assert safe_next(target) == "/app"


def test_guild_page_is_forbidden_and_shows_nothing_when_the_session_is_for_another_guild(app: WebApp) -> None:
    answer = app.handle(event(f"/app/g/{GUILD_B}/feed", cookies=[session_cookie({GUILD_A: "Lantern Guild"})]))
    assert answer["statusCode"] == 403
    assert "secret plans" not in answer["body"]


def test_guild_page_shows_the_guild_when_the_session_may_read_it(app: WebApp) -> None:
    answer = app.handle(event(f"/app/g/{GUILD_A}/feed", cookies=[session_cookie({GUILD_A: "Lantern Guild"})]))
    assert answer["statusCode"] == 200
    assert "hello from A" in answer["body"] and "secret plans" not in answer["body"]


@pytest.mark.parametrize("kind", ["forged", "expired", "tampered"])
def test_guild_page_sends_to_sign_in_when_the_cookie_is_not_valid(app: WebApp, kind: str) -> None:
    cookie = session_cookie({GUILD_B: "B"}, expires_in=-1 if kind == "expired" else 600)
    if kind == "forged":
        forged = CookieSigner(b"f" * 32).session_cookie(new_session("1", "x", {GUILD_B: "B"}, int(EPOCH)))
        cookie = f"{SESSION_COOKIE}={forged}"
    if kind == "tampered":
        name, value = cookie.split("=", 1)
        payload, tag = value.split(".")
        cookie = f"{name}={payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{tag}"
    answer = app.handle(event(f"/app/g/{GUILD_B}/feed", cookies=[cookie]))
    assert answer["statusCode"] == 303
    assert answer["headers"]["location"].startswith("/app/auth/login?next=")
    assert "secret plans" not in answer["body"]


@pytest.mark.parametrize("path", ["/app", f"/app/g/{GUILD_A}/", "/app/nowhere", f"/app/g/{GUILD_B}/"])
def test_every_page_sends_a_strict_csp_when_answered(app: WebApp, path: str) -> None:
    answer = app.handle(event(path, cookies=[session_cookie({GUILD_A: "Lantern Guild"})]))
    csp = answer["headers"]["content-security-policy"]
    assert csp == content_security_policy(DISCORD_CDN)
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "img-src 'self' data: https://cdn.discordapp.com;" in csp
    assert answer["headers"]["x-frame-options"] == "DENY"


def test_sign_out_is_refused_when_the_form_has_no_csrf_token(app: WebApp) -> None:
    cookie = session_cookie({GUILD_A: "Lantern Guild"})
    refused = app.handle(event("/app/auth/logout", method="POST", cookies=[cookie], body="csrf=wrong"))
    assert refused["statusCode"] == 403
    assert SESSION_COOKIE not in set_cookies(refused)


def test_sign_out_clears_the_session_when_the_form_carries_its_token(app: WebApp) -> None:
    cookie = session_cookie({GUILD_A: "Lantern Guild"})
    session = SIGNER.read_session(cookie.split("=", 1)[1], int(EPOCH))
    assert session is not None
    answer = app.handle(
        event("/app/auth/logout", method="POST", cookies=[cookie], body=f"csrf={SIGNER.csrf_token(session)}")
    )
    assert answer["statusCode"] == 303
    assert "Max-Age=0" in answer["cookies"][0]


@pytest.mark.parametrize("query", ["category=nope", "channel=abc", "before=E%23x", "from=2026-13-01", "q=" + "x" * 101])
def test_feed_answers_400_when_a_filter_is_malformed(app: WebApp, query: str) -> None:
    answer = app.handle(event(f"/app/g/{GUILD_A}/feed?{query}", cookies=[session_cookie({GUILD_A: "L"})]))
    assert answer["statusCode"] == 400


def test_static_file_is_cached_for_good_when_its_version_matches(app: WebApp) -> None:
    page = app.handle(event("/app"))["body"]
    href = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    answer = app.handle(event(href))
    assert answer["statusCode"] == 200 and "immutable" in answer["headers"]["cache-control"]
    assert answer["headers"]["content-type"].startswith("text/css")


def test_login_says_sign_in_is_not_set_up_when_the_stack_has_no_client_secret(table: MemoryTable) -> None:
    unconfigured = DiscordOAuth("https://discord.test/api/v10", "1234567890123456", lambda: "", configured=False)
    app = WebApp(signer=lambda: SIGNER, oauth=lambda: unconfigured, reader=lambda: table, epoch=lambda: EPOCH)
    answer = app.handle(event("/app/auth/login"))
    assert answer["statusCode"] == 503
    assert "DiscordClientSecretArn" in answer["body"]
    assert "location" not in answer["headers"]
