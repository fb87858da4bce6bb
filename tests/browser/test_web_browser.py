"""The web viewer in real headless Chromium: sign in through the fake Discord, read, filter, page,
search, sign out; no access without the guild; hostile text stays text and the CSP stops script."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from guildlog_tools.fakes.discord_oauth import FakeGuild, FakeUser
from guildlog_tools.local.stack import LocalStack
from tests.browser.conftest import B_MEMBER
from tests.fakes.web_guild import ALICE, B_SECRET, GENERAL, GUILD_A, LONG_LINE, Seeded
from tests.paths import REPO

# `GUILDLOG_SCREENSHOTS=1` refreshes the README's pictures.
SCREENSHOTS = REPO / "docs" / "screenshots"


def follow(page: Any, target: Any) -> None:
    """Click a link or a button and wait until the page it leads to has loaded."""
    with page.expect_navigation(wait_until="load"):
        target.click()


def shoot(page: Any, name: str) -> None:
    if os.environ.get("GUILDLOG_SCREENSHOTS"):
        page.screenshot(path=str(Path(SCREENSHOTS, name)), full_page=False)


def test_viewer_shows_every_page_when_a_moderator_signs_in(
    signed_in: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    page = signed_in
    stack, seeded = web_stack
    assert page.url == f"{stack.web_url}/g/{GUILD_A}/"
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("svg.chart rect.bar").count() >= 14
    top_channel = page.locator("section").filter(has_text="Top channels").locator("li").first.inner_text()
    assert top_channel.startswith("#general: ") and int(top_channel.split(": ")[1]) >= 70
    shoot(page, "overview.png")
    follow(page, page.get_by_role("link", name="Feed", exact=True))
    assert page.locator("ol.events li.event").count() == 50
    page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}")
    assert page.locator("li.message").count() >= 4
    assert page.locator(f"#m{seeded.deleted_message_id} .tag.warn").inner_text().startswith("deleted")
    edited = page.locator(f"#m{seeded.edited_message_id}")
    assert "the second text" in edited.locator(".body > .content").inner_text()
    edited.locator("summary").click()
    assert "the first text" in edited.locator("details .content").inner_text()
    edited.evaluate("element => element.scrollIntoView({block: 'start'})")
    shoot(page, "transcript.png")
    follow(page, page.locator(f"#m{seeded.edited_message_id} a.author"))
    assert "alice" in page.locator("h1").inner_text().lower()
    assert page.locator("section").filter(has_text="Messages").locator("li.event").count() > 0


def test_feed_filters_and_pages_when_asked(signed_in: Any, web_stack: tuple[LocalStack, Seeded]) -> None:
    page = signed_in
    follow(page, page.get_by_role("link", name="Feed", exact=True))
    page.get_by_label("Category").select_option("member")
    follow(page, page.get_by_role("button", name="Filter"))
    tags = page.locator("li.event .tag").all_inner_texts()
    assert tags and all(tag.startswith("member") for tag in tags)
    page.get_by_label("Category").select_option("message")
    follow(page, page.get_by_role("button", name="Filter"))
    first = page.locator("li.event time").all_inner_texts()
    follow(page, page.get_by_role("link", name="Older"))
    second = page.locator("li.event time").all_inner_texts()
    assert second and max(second) <= min(first)
    follow(page, page.get_by_role("link", name="Newer"))
    assert page.locator("li.event time").all_inner_texts() == first


def test_search_finds_messages_of_this_guild_only_when_text_is_given(signed_in: Any) -> None:
    page = signed_in
    follow(page, page.get_by_role("link", name="Search", exact=True))
    page.get_by_label("Text").fill("lanterns")
    follow(page, page.get_by_role("button", name="Search"))
    results = page.locator("li.event .content").all_inner_texts()
    assert len(results) == 12 and all("lanterns" in text for text in results)
    page.get_by_label("Text").fill("secret plans")
    follow(page, page.get_by_role("button", name="Search"))
    assert B_SECRET not in page.content()
    assert page.locator("li.event").count() == 0


def test_sign_out_ends_the_session_when_clicked(signed_in: Any, web_stack: tuple[LocalStack, Seeded]) -> None:
    page = signed_in
    follow(page, page.get_by_role("button", name="Sign out"))
    assert page.get_by_role("link", name="Sign in with Discord").first.is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "guildlog_session"]


def test_guild_is_forbidden_when_the_member_cannot_manage_it(
    chromium: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    stack, seeded = web_stack
    assert stack.discord is not None
    stack.discord.oauth.sign_in_as(B_MEMBER)
    context = chromium.new_context()
    try:
        page = context.new_page()
        answer = page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}")
        assert answer is not None and answer.status == 403
        assert "lanterns" not in page.content() and "Lantern Guild" not in page.content()
    finally:
        context.close()


def test_hostile_message_renders_as_text_and_csp_blocks_injected_script_when_shown(
    signed_in: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    page = signed_in
    stack, seeded = web_stack
    page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}")
    hostile = page.locator(f"#m{seeded.hostile_message_id}")
    text = hostile.locator(".body > .content").inner_text()
    assert "<script>document.title='pwned'</script>" in text and "<img src=x onerror=" in text
    assert "\u202eevil-rtl" in text and "zero\u200bwidth" in text and LONG_LINE in text
    assert page.title() != "pwned"
    assert hostile.locator(".body").locator("script, img, iframe").count() == 0  # the avatar is outside .body
    assert hostile.locator("a[href^='javascript']").count() == 0
    assert "Mallory<B>X</B>" in hostile.locator("a.author").inner_text()  # the global name, title-cased by the seed
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    blocked = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective));
            const s = document.createElement('script');
            s.textContent = "document.title = 'injected'";
            document.body.appendChild(s);
        })"""
    )
    assert blocked.startswith("script-src")
    assert page.title() != "injected"


READERS_ROLE = "910000000000000300"
READER = FakeUser("910000000000000150", "reader", (FakeGuild(GUILD_A, "Lantern Guild", permissions=0),))


def test_role_holder_reads_then_is_refused_on_refresh_when_the_role_is_taken_away(
    chromium: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    stack, _ = web_stack
    assert stack.discord is not None
    stack.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"PK": {"S": f"G#{GUILD_A}"}, "SK": {"S": "CONFIG"}},
        UpdateExpression="SET guild_id = :g ADD viewer_roles :r",
        ExpressionAttributeValues={":g": {"S": GUILD_A}, ":r": {"SS": [READERS_ROLE]}},
    )
    stack.discord.set_member(GUILD_A, READER.id, [READERS_ROLE])
    stack.discord.oauth.sign_in_as(READER)
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        answer = page.goto(f"{stack.web_url}/g/{GUILD_A}/feed")
        assert answer is not None and answer.status == 200
        assert page.locator("ol.events li.event").count() > 0
        stack.discord.set_member(GUILD_A, READER.id, [])
        refused = page.reload()
        assert refused is not None and refused.status == 403
        assert page.locator("ol.events li.event").count() == 0 and "lanterns" not in page.content()
        assert [c for c in context.cookies() if c["name"] == "guildlog_session"]  # still signed in
    finally:
        context.close()


def test_avatars_come_from_the_cdn_origin_alone_when_a_transcript_is_shown(
    signed_in: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    page = signed_in
    stack, seeded = web_stack
    assert stack.discord is not None
    answer = page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}")
    assert answer is not None
    fake_origin = stack.discord.url
    assert f"img-src 'self' data: {fake_origin};" in answer.headers["content-security-policy"]
    avatar = page.locator(f"li.message:has(a.author[href$='/member/{ALICE}']) img.avatar").first
    assert avatar.get_attribute("loading") == "lazy"
    expected = f"{fake_origin}/embed/avatars/{(int(ALICE) >> 22) % 6}.png"
    assert avatar.get_attribute("src") == expected
    avatar.scroll_into_view_if_needed()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=avatar.element_handle())
    blocked = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective));
            const image = document.createElement('img');
            image.src = 'https://elsewhere.example/tracker.png';
            document.body.appendChild(image);
        })"""
    )
    assert blocked.startswith("img-src")


def test_export_button_starts_the_worker_and_offers_the_file_when_it_is_ready(
    signed_in: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    page = signed_in
    stack, seeded = web_stack
    page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={seeded.today}")
    form = page.locator("form.export")
    form.get_by_label("Format").select_option("json")
    follow(page, form.get_by_role("button", name="Export this day"))
    assert "/exports/w" in page.url
    link = page.locator("a.download")
    link.wait_for(state="visible", timeout=120_000)  # the page reloads itself until the worker is done
    assert link.inner_text().endswith(f"{GENERAL}-{seeded.today}.json")
    with urllib.request.urlopen(str(link.get_attribute("href")), timeout=60) as answer:  # noqa: S310 - the stack's S3
        document = json.loads(answer.read())
    contents = [e.get("content") for e in document["events"]]
    assert document["channel_id"] == GENERAL and "the first text of an edited message" in contents
    assert all(e["guild_id"] == GUILD_A for e in document["events"])


def test_old_day_is_read_from_the_archive_and_says_so_when_older_than_the_hot_retention(
    signed_in: Any, web_stack: tuple[LocalStack, Seeded]
) -> None:
    page = signed_in
    stack, seeded = web_stack
    first_day = (date.fromisoformat(seeded.today) - timedelta(days=3)).isoformat()
    config = {"TableName": stack.table, "Key": {"PK": {"S": f"G#{GUILD_A}"}, "SK": {"S": "CONFIG"}}}
    dynamodb = stack.client("dynamodb")
    dynamodb.update_item(
        **config,
        UpdateExpression="SET guild_id = :g, retention_days = :d",
        ExpressionAttributeValues={":g": {"S": GUILD_A}, ":d": {"N": "1"}},
    )
    assert stack.athena_api is not None
    stack.athena_api.gate.clear()  # the archive query stays running until the waiting page has been seen
    try:
        page.goto(f"{stack.web_url}/g/{GUILD_A}/channel/{GENERAL}?day={first_day}")
        assert page.locator("h1").inner_text() == "Reading the archive"
        assert page.locator("p.archive.pending").inner_text().startswith("Reading the archive…")
        assert "run=" in page.url
        stack.athena_api.gate.set()
        page.locator("p.notice.archive").wait_for()  # the page reloads itself until the rows are there
        assert page.locator("p.notice.archive").inner_text().startswith("Read from the S3 archive")
        contents = page.locator("li.message .body > .content").all_inner_texts()
        assert any(text.startswith("message 0-0 about lanterns") for text in contents)
        assert B_SECRET not in page.content()
    finally:
        stack.athena_api.gate.set()
        dynamodb.update_item(**config, UpdateExpression="REMOVE retention_days")
