"""A deleted message's log post and `/logs message` link its attachment copies, or say why there is none."""

from __future__ import annotations

from typing import Any

from guildlog.services import keys
from guildlog.services.attachments import LINK_SECONDS
from guildlog.services.commands import message
from guildlog.services.modlog.lookup import context_for
from guildlog.services.modlog.messages import deleted
from tests.fakes.memory_table import MemoryTable

GUILD = "1300000000000000100"
CHAT = "1300000000000000300"
MEMBER = "1300000000000000400"
MESSAGE = "1300000000000009001"
KEY = f"attachments/guild={GUILD}/{MESSAGE}/1300000000000007001-cat.png"


class Linker:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def link(self, key: str, expires_in: int) -> str:
        self.asked.append((key, expires_in))
        return f"https://archive.s3.example/{key}?X-Amz-Expires={expires_in}&X-Amz-Signature=abc"


def seeded(*records: dict[str, Any]) -> MemoryTable:
    table = MemoryTable()
    table.put(
        {
            "PK": keys.message_pk(MESSAGE),
            "SK": "V#2026-03-01T09:00:00.000Z",
            "version": "create",
            "guild_id": GUILD,
            "channel_id": CHAT,
            "user_id": MEMBER,
            "content": "see picture",
            "occurred_at": "2026-03-01T09:00:00.000Z",
        }
    )
    for record in records:
        table.put({"PK": keys.message_pk(MESSAGE), "guild_id": GUILD, **record})
    return table


COPIED = {"SK": keys.attachment_sk("1300000000000007001"), "status": "copied", "key": KEY, "filename": "cat.png"}
FAILED = {
    "SK": keys.attachment_sk("1300000000000007002"),
    "status": "failed",
    "reason": "the CDN answered 404 (the file is gone from Discord's CDN)",
    "filename": "dog.png",
}
ROW = {
    "event_id": "gw:s:9",
    "event_type": "MESSAGE_DELETE",
    "category": "message",
    "action": "delete",
    "occurred_at": "2026-03-01T10:00:00.000Z",
    "guild_id": GUILD,
    "channel_id": CHAT,
    "message_id": MESSAGE,
}


def test_deleted_post_links_the_copy_for_fifteen_minutes_when_the_message_had_a_copied_file() -> None:
    linker = Linker()
    context = context_for("message_delete", ROW, seeded(COPIED), new_account_days=7, links=linker)

    description = deleted(ROW, context).embed["description"]

    assert linker.asked == [(KEY, LINK_SECONDS)]
    assert f"[cat.png](https://archive.s3.example/{KEY}?X-Amz-Expires=900" in description


def test_deleted_post_says_why_when_a_file_could_not_be_copied() -> None:
    context = context_for("message_delete", ROW, seeded(FAILED), new_account_days=7, links=Linker())

    description = deleted(ROW, context).embed["description"]

    assert "dog.png: attachment could not be copied: the CDN answered 404" in description


def test_deleted_post_names_no_copies_when_the_message_had_no_files() -> None:
    context = context_for("message_delete", ROW, seeded(), new_account_days=7, links=Linker())

    assert "Archived copies" not in deleted(ROW, context).embed["description"]


def test_message_lookup_links_copies_and_failures_when_rendered() -> None:
    history = message.message_history(seeded(COPIED, FAILED), MESSAGE, GUILD)
    assert history is not None

    text = message.render(history, links=Linker())

    assert f"(<https://archive.s3.example/{KEY}?X-Amz-Expires=900" in text
    assert "attachment could not be copied: the CDN answered 404" in text


def test_message_lookup_keeps_links_whole_when_the_versions_are_long() -> None:
    table = seeded(COPIED)
    table.put(
        {
            "PK": keys.message_pk(MESSAGE),
            "SK": "V#2026-03-01T09:30:00.000Z",
            "version": "edit",
            "guild_id": GUILD,
            "content": "x" * 3000,
            "occurred_at": "2026-03-01T09:30:00.000Z",
        }
    )
    history = message.message_history(table, MESSAGE, GUILD)
    assert history is not None

    text = message.render(history, links=Linker())

    assert len(text) <= 2000 and "X-Amz-Signature=abc>)" in text
