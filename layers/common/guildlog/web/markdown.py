"""Discord markdown to HTML that can never carry markup or script of its own.

Every piece of the text is escaped; the only tags in the output are the ones written here. Code
(blocks and inline), mentions, custom emoji, timestamps and links are cut out of the raw text
first and kept as finished HTML behind placeholders, so the formatting pass (bold, italics,
underline, strike, spoilers, quotes), which runs on the escaped rest, never reaches inside them.
Links are made only for http(s) URLs; a masked link shows its real host beside its label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_CODE_BLOCK = re.compile(r"```(?:([A-Za-z0-9_+-]{1,20})\n)?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"``([^`]+?)``|`([^`\n]+?)`")
_MENTION = re.compile(
    r"<@!?(\d{15,21})>|<@&(\d{15,21})>|<#(\d{15,21})>|<a?:(\w{1,32}):\d{15,21}>|<t:(-?\d{1,13})(?::[tTdDfFR])?>"
)
_MASKED_LINK = re.compile(r"\[([^\[\]\n]{1,200})\]\(<?(https?://[^\s()<>]{1,2000})>?\)")
_URL = re.compile(r"<?(https?://[^\s<>\"']{1,2000})>?")
_TRAILING = ".,:;!?)]}'\""
_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\*\*(.+?)\*\*", re.DOTALL), "<strong>{}</strong>"),
    (re.compile(r"__(.+?)__", re.DOTALL), "<u>{}</u>"),
    (re.compile(r"\*(?!\s)(.+?)(?<!\s)\*", re.DOTALL), "<em>{}</em>"),
    (re.compile(r"(?<![A-Za-z0-9])_(?!\s)(.+?)(?<!\s)_(?![A-Za-z0-9])", re.DOTALL), "<em>{}</em>"),
    (re.compile(r"~~(.+?)~~", re.DOTALL), "<s>{}</s>"),
    (re.compile(r"\|\|(.+?)\|\|", re.DOTALL), '<span class="spoiler" tabindex="0">{}</span>'),
)
_QUOTE = re.compile(r"^&gt; ?(.*)$", re.MULTILINE)


@dataclass
class Names:
    """What mentions are shown as: user, channel and role names by id (an unknown id shows as the id)."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)


def render(text: str | None, names: Names | None = None) -> Markup:
    """`text` (a message's content) as safe HTML."""
    if not text:
        return Markup("")
    known = names or Names()
    stash: list[str] = []

    def keep(html: str) -> str:
        stash.append(html)
        return f"\x00{len(stash) - 1}\x00"

    # A NUL would be read as a placeholder's edge; nothing legitimate carries one.
    source = text.replace("\x00", "\ufffd")
    source = _CODE_BLOCK.sub(lambda m: keep(f"<pre><code>{escape(m.group(2).strip(chr(10)))}</code></pre>"), source)
    source = _INLINE_CODE.sub(lambda m: keep(f"<code>{escape(m.group(1) or m.group(2))}</code>"), source)
    source = _MENTION.sub(lambda m: keep(_mention(m, known)), source)
    source = _MASKED_LINK.sub(lambda m: keep(_masked_link(m.group(1), m.group(2))), source)
    source = _URL.sub(lambda m: _bare_link(m.group(1), keep), source)
    html = str(escape(source))
    for pattern, template in _FORMATS:
        html = _apply(pattern, template, html)
    html = _QUOTE.sub(lambda m: f'<span class="quote">{m.group(1)}</span>', html)
    html = html.replace("\n", "<br>")
    return Markup(_restore(html, stash))  # noqa: S704 - built from escaped text and fixed tags only


def _apply(pattern: re.Pattern[str], template: str, html: str) -> str:
    return pattern.sub(lambda m: template.format(m.group(1)), html)


def _restore(html: str, stash: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: stash[int(m.group(1))], html)


def _mention(found: re.Match[str], names: Names) -> str:
    user, role, channel, emoji, stamp = found.groups()
    if user:
        return f'<span class="mention">@{escape(names.users.get(user, user))}</span>'
    if role:
        return f'<span class="mention">@{escape(names.roles.get(role, role))}</span>'
    if channel:
        return f'<span class="mention">#{escape(names.channels.get(channel, channel))}</span>'
    if emoji:
        return f'<span class="emoji">:{escape(emoji)}:</span>'
    try:
        moment = datetime.fromtimestamp(int(stamp), UTC)
    except (OverflowError, OSError, ValueError):
        return str(escape(found.group(0)))
    shown = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{moment.isoformat()}">{shown}</time>'


def _link(url: str, label: str) -> str:
    return f'<a href="{escape(url)}" rel="noopener noreferrer nofollow" target="_blank">{label}</a>'


def _masked_link(label: str, url: str) -> str:
    host = urlsplit(url).hostname or ""
    return f'{_link(url, str(escape(label)))} <span class="host">({escape(host)})</span>'


def _bare_link(url: str, keep: Callable[[str], str]) -> str:
    trimmed = url.rstrip(_TRAILING)
    rest = url[len(trimmed) :]
    if not urlsplit(trimmed).hostname:
        return url
    return keep(_link(trimmed, str(escape(trimmed)))) + rest
