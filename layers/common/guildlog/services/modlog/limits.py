"""Discord's embed limits, and cutting text to them so that a cut says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
AUTHOR = 256
# All the text of all the embeds of one message.
MESSAGE_TOTAL = 6000
EMBEDS_PER_MESSAGE = 10
# Room left in a message when an embed has to be cut to fit alone.
_CUT_NOTE = "… [cut: {n} more characters]"


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters; a cut one ends by saying how much was left out."""
    if len(text) <= limit:
        return text
    for _ in range(3):  # the note's own length depends on the number it holds
        note = _CUT_NOTE.format(n=len(text) - (limit - len(_CUT_NOTE.format(n=len(text)))))
        keep = limit - len(note)
        if keep >= 0:
            return text[:keep] + _CUT_NOTE.format(n=len(text) - keep)
    return text[:limit]


def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts toward a message's 6,000: title, description, fields, footer, author."""
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def fit_embed(embed: dict[str, Any], total: int = MESSAGE_TOTAL) -> dict[str, Any]:
    """The embed with every part cut to its limit, and the whole to `total` (the description gives way first)."""
    out = dict(embed)
    if "title" in out:
        out["title"] = cut(str(out["title"]), TITLE)
    if "description" in out:
        out["description"] = cut(str(out["description"]), DESCRIPTION)
    if out.get("fields"):
        out["fields"] = [
            {
                **f,
                "name": cut(str(f["name"]), FIELD_NAME) or "\u200b",
                "value": cut(str(f["value"]), FIELD_VALUE) or "\u200b",
            }
            for f in out["fields"][:FIELDS]
        ]
    if out.get("footer"):
        out["footer"] = {**out["footer"], "text": cut(str(out["footer"].get("text") or ""), FOOTER)}
    over = embed_length(out) - total
    if over > 0 and out.get("description"):
        description = str(out["description"])
        out["description"] = cut(description, max(40, len(description) - over))
    over = embed_length(out) - total
    while over > 0 and out.get("fields"):
        last = out["fields"][-1]
        value = str(last["value"])
        if len(value) - over >= 40:
            out["fields"] = [*out["fields"][:-1], {**last, "value": cut(value, len(value) - over)}]
        else:
            out["fields"] = out["fields"][:-1]
        over = embed_length(out) - total
    return out
