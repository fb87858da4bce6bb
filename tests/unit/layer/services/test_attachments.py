"""guildlog.services.attachments: which files of a message are copied, how a copy goes, what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from guildlog.errors import AttachmentCopyError
from guildlog.models.config import GuildConfig
from guildlog.models.row import EventRow
from guildlog.services import keys
from guildlog.services.attachments import (
    ATTEMPTS,
    LINK_SECONDS,
    MB,
    CopyJob,
    Fetched,
    copy,
    copy_lines,
    jobs_for,
    object_key,
    safe_filename,
)

GUILD = "100000000000000001"
MESSAGE = "200000000000000001"
NOW = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
CDN = "https://cdn.discordapp.com"


def row(action: str = "create", **fields: Any) -> EventRow:
    base: dict[str, Any] = {
        "event_id": "gw:s:1",
        "batch_id": "b1",
        "source": "gateway",
        "event_type": "MESSAGE_CREATE" if action == "create" else "MESSAGE_UPDATE",
        "category": "message",
        "action": action,
        "occurred_at": "2026-03-08T00:59:00.000Z",
        "received_at": "2026-03-08T00:59:00.000Z",
        "guild_id": GUILD,
        "channel_id": "100000000000000002",
        "message_id": MESSAGE,
    }
    return EventRow(**{**base, **fields})


def attachment(n: int = 1, url: str | None = None, **fields: Any) -> dict[str, Any]:
    item = str(300000000000000000 + n)
    return {
        "id": item,
        "filename": f"cat {n}.png",
        "size": 2048,
        "content_type": "image/png",
        "url": url or f"{CDN}/attachments/1/{item}/cat.png?ex=1",
        **fields,
    }


def test_jobs_for_queues_each_attachment_with_its_key_when_a_message_is_created() -> None:
    jobs = jobs_for(row(), {"attachments": [attachment(1), attachment(2)]}, None)

    assert [j.key for j in jobs] == [
        f"attachments/guild={GUILD}/{MESSAGE}/300000000000000001-cat_1.png",
        f"attachments/guild={GUILD}/{MESSAGE}/300000000000000002-cat_2.png",
    ]
    assert jobs[0].content_type == "image/png" and jobs[0].max_bytes == 25 * MB


def test_jobs_for_queues_stickers_and_embed_images_when_the_message_has_them() -> None:
    data = {
        "sticker_items": [{"id": "400000000000000001", "name": "wave", "format_type": 4}],
        "embeds": [
            {
                "image": {
                    "url": "https://example.com/x.jpg",
                    "proxy_url": "https://media.discordapp.net/external/abc/x.jpg",
                }
            }
        ],
    }

    jobs = jobs_for(row(), data, None)

    assert sorted((j.kind, j.filename) for j in jobs) == [("embed", "x.jpg"), ("sticker", "wave.gif")]
    assert next(j for j in jobs if j.kind == "sticker").url == f"{CDN}/stickers/400000000000000001.gif"


def test_jobs_for_leaves_out_files_off_discords_cdn_when_a_message_links_elsewhere() -> None:
    data = {
        "attachments": [attachment(1, url="https://evil.example/attachments/1/2/x.png")],
        "embeds": [{"image": {"url": "http://169.254.169.254/latest/meta-data"}}],
    }

    assert jobs_for(row(), data, None) == []


def test_jobs_for_queues_nothing_when_the_server_switched_copies_off() -> None:
    config = GuildConfig(guild_id=GUILD, attachments_copy=False)

    assert jobs_for(row(), {"attachments": [attachment()]}, config) == []


def test_jobs_for_takes_only_embeds_when_a_message_is_updated() -> None:
    data = {"attachments": [attachment()], "embeds": [{"thumbnail": {"proxy_url": f"{CDN}/x/y/z.png"}}]}

    assert [j.kind for j in jobs_for(row("update"), data, None)] == ["embed"]


def test_jobs_for_uses_the_servers_cap_when_it_set_one() -> None:
    config = GuildConfig(guild_id=GUILD, attachments_max_mb=3)

    [job] = jobs_for(row(), {"attachments": [attachment()]}, config)

    assert job.max_bytes == 3 * MB


def test_safe_filename_keeps_keys_plain_when_a_name_has_paths_or_odd_characters() -> None:
    assert safe_filename("../../etc/pass wd.png") == "etc_pass_wd.png"
    assert object_key(GUILD, MESSAGE, "1", "é.png").endswith("/1-png")


# --- the copy ---------------------------------------------------------------------------------


class Fetcher:
    def __init__(self, *answers: Fetched | AttachmentCopyError) -> None:
        self.answers = list(answers)
        self.urls: list[str] = []

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        self.urls.append(url)
        answer = self.answers.pop(0)
        if isinstance(answer, AttachmentCopyError):
            raise answer
        return answer


class Store:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)


class Records:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_items(self, items: list[dict[str, Any]]) -> int:
        self.items.extend(items)
        return 1


def job(**fields: Any) -> CopyJob:
    [made] = jobs_for(row(), {"attachments": [attachment(**fields)]}, None)
    return made


def test_copy_stores_the_bytes_and_records_the_key_when_the_download_works() -> None:
    store, records = Store(), Records()
    fetcher = Fetcher(Fetched(b"png", "image/png"))

    outcome = copy(job(), fetcher, store, records, attempt=1, now=NOW, cdn_base="http://127.0.0.1:9/cdn")

    assert outcome.status == "copied"
    assert fetcher.urls == ["http://127.0.0.1:9/cdn/attachments/1/300000000000000001/cat.png?ex=1"]
    assert list(store.objects.values()) == [(b"png", "image/png")]
    [item] = records.items
    assert (item["PK"], item["SK"]) == (keys.message_pk(MESSAGE), keys.attachment_sk("300000000000000001"))
    assert item["status"] == "copied" and item["key"] in store.objects


def test_copy_raises_for_a_retry_when_a_download_fails_before_the_last_attempt() -> None:
    records = Records()
    failing = Fetcher(AttachmentCopyError("the CDN answered 503", retryable=True))

    with pytest.raises(AttachmentCopyError):
        copy(job(), failing, Store(), records, attempt=ATTEMPTS - 1, now=NOW)
    assert records.items == []


def test_copy_records_the_reason_when_the_last_attempt_fails() -> None:
    records, store = Records(), Store()
    failing = Fetcher(AttachmentCopyError("the CDN answered 404 (the file is gone from Discord's CDN)", retryable=True))

    outcome = copy(job(), failing, store, records, attempt=ATTEMPTS, now=NOW)

    assert outcome.status == "failed" and store.objects == {}
    assert records.items[0]["status"] == "failed" and "404" in records.items[0]["reason"]


def test_copy_records_the_cap_without_downloading_when_discord_says_the_file_is_larger() -> None:
    records, fetcher = Records(), Fetcher()

    outcome = copy(job(size=26 * MB), fetcher, Store(), records, attempt=1, now=NOW)

    assert outcome.status == "failed" and fetcher.urls == []
    assert "25 MB cap" in records.items[0]["reason"]


# --- reading the records ------------------------------------------------------------------------


class Linker:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def link(self, key: str, expires_in: int) -> str:
        self.asked.append((key, expires_in))
        return f"https://bucket.example/{key}?X-Amz-Expires={expires_in}"


def test_copy_lines_link_a_copy_for_fifteen_minutes_when_it_was_copied() -> None:
    linker = Linker()
    copied = {"SK": "A#1", "status": "copied", "key": "attachments/guild=1/2/1-cat.png", "filename": "cat.png"}

    [line] = copy_lines([copied], linker)

    assert linker.asked == [("attachments/guild=1/2/1-cat.png", LINK_SECONDS)]
    assert LINK_SECONDS == 15 * 60 and "cat.png" in line and "X-Amz-Expires=900" in line


def test_copy_lines_say_why_when_a_copy_failed() -> None:
    failed = {"SK": "A#1", "status": "failed", "reason": "the CDN answered 404", "filename": "cat.png"}

    assert copy_lines([failed], Linker()) == ["📎 cat.png: attachment could not be copied: the CDN answered 404"]
