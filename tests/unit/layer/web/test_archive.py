"""guildlog.web.archive: a channel's day rebuilt from the archive's rows, as the hot transcript shows it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from guildlog.web.archive import archive_transcript

GUILD = "910000000000000001"
CHANNEL = "910000000000000010"
DAY = date(2026, 10, 1)


def row(n: int, action: str, **fields: Any) -> dict[str, Any]:
    event_type = {"create": "MESSAGE_CREATE", "update": "MESSAGE_UPDATE", "delete": "MESSAGE_DELETE"}.get(action, "X")
    return {
        "event_id": f"gw:{n}", "event_type": event_type, "category": "message", "action": action,
        "occurred_at": f"2026-10-01T10:00:{n:02d}.000Z", "guild_id": GUILD, "channel_id": CHANNEL,
        "message_id": "910000000000000500", "user_id": "910000000000000101", "user_name": "alice", **fields,
    }  # fmt: skip


class Archive:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.days: list[date] = []
        self._rows = rows

    def rows(self, day: date) -> list[dict[str, Any]]:
        self.days.append(day)
        return self._rows


def test_archive_transcript_reads_only_the_day_shown_when_asked() -> None:
    archive = Archive([row(1, "create", content="hello")])
    archive_transcript(archive, GUILD, CHANNEL, DAY)
    assert archive.days == [DAY]


def test_archive_transcript_keeps_earlier_texts_and_marks_the_deletion_when_the_message_changed() -> None:
    rows = [
        row(1, "create", content="first"),
        row(2, "update", content="second"),
        row(3, "reaction_add", details=json.dumps({"emoji": {"name": "🔥"}})),
        row(4, "delete"),
    ]
    [message], cut = archive_transcript(Archive(rows), GUILD, CHANNEL, DAY)
    assert message.content == "second" and message.versions == [{"at": "2026-10-01T10:00:01.000Z", "content": "first"}]
    assert message.edited_at == "2026-10-01T10:00:02.000Z" and message.deleted_at == "2026-10-01T10:00:04.000Z"
    assert message.reactions["🔥"] == 1 and not cut


def test_archive_transcript_leaves_out_other_guilds_and_channels_when_the_day_holds_them() -> None:
    rows = [
        row(1, "create", content="ours"),
        row(2, "create", content="another guild's", guild_id="920000000000000001", message_id="920000000000000500"),
        row(3, "create", content="another channel's", channel_id="910000000000000011", message_id="910000000000000501"),
    ]
    messages, _ = archive_transcript(Archive(rows), GUILD, CHANNEL, DAY)
    assert [m.content for m in messages] == ["ours"]


def test_archive_transcript_counts_each_event_once_when_the_archive_holds_it_twice() -> None:
    rows = [row(1, "create", content="hi"), row(2, "reaction_add", details=json.dumps({"emoji": {"name": "x"}}))]
    [message], _ = archive_transcript(Archive(rows + rows), GUILD, CHANNEL, DAY)
    assert message.reactions["x"] == 1
