"""guildlog.web.markdown: Discord markdown rendered, and nothing in the text ever becomes markup."""

from __future__ import annotations

import pytest

from guildlog.web.markdown import Names, render


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "**<b onmouseover=alert(1)>x</b>**",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "`</code><script>alert(1)</script>`",
        "[<script>](https://example.com/<script>)",
        "||<iframe src=x>||",
    ],
)
def test_render_escapes_markup_when_the_text_carries_tags(hostile: str) -> None:
    html = str(render(hostile))
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<b " not in html
    assert "&lt;" in html


@pytest.mark.parametrize("text", ["[click](javascript:alert(1))", "javascript:alert(1)", "<javascript:alert(1)>"])
def test_render_makes_no_link_when_the_scheme_is_not_http(text: str) -> None:
    assert "href" not in str(render(text))


def test_render_links_https_urls_with_noopener_when_written_bare() -> None:
    html = str(render("see https://example.com/a?b=1&c=2."))
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow"' in html
    assert html.endswith("</a>.")


def test_render_shows_the_real_host_when_a_link_is_masked() -> None:
    html = str(render("[discord.com](https://evil.example/steal)"))
    assert 'href="https://evil.example/steal"' in html
    assert "(evil.example)" in html


def test_render_formats_bold_italics_strike_and_spoilers_when_marked() -> None:
    html = str(render("**b** *i* __u__ ~~s~~ ||hidden|| snake_case_name"))
    assert "<strong>b</strong>" in html and "<em>i</em>" in html and "<u>u</u>" in html and "<s>s</s>" in html
    assert '<span class="spoiler" tabindex="0">hidden</span>' in html
    assert "snake_case_name" in html


def test_render_leaves_code_unformatted_when_it_holds_markdown() -> None:
    html = str(render("`**not bold**` and ```\n**nor this**\n```"))
    assert "<strong>" not in html
    assert "<code>**not bold**</code>" in html


def test_render_shows_mentions_as_names_when_known() -> None:
    names = Names(users={"910000000000000101": "alice<x>"}, channels={"910000000000000010": "general"})
    html = str(render("hi <@910000000000000101> in <#910000000000000010> and <@&910000000000000999>", names))
    assert "@alice&lt;x&gt;" in html and "#general" in html and "@910000000000000999" in html


def test_render_keeps_rtl_and_zero_width_characters_as_text_when_present() -> None:
    html = str(render("a\u202eb\u200bc"))
    assert "a\u202eb\u200bc" in html
