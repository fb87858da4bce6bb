"""Attachment copies: the files of logged messages kept in the archive bucket, past Discord's CDN links.

Discord's CDN links expire (they are signed for about a day) and a deleted message's files go with
it, so the evidence a moderator wants most is the first to vanish. Ingest hands each file of a
logged message to AttachmentCopyQueue (`jobs_for`: only the enqueue on its hot path, batched);
AttachmentCopyFunction downloads it and stores it under

    attachments/guild=<guild>/<message id>/<file id>-<filename>

with its content type, and writes a record beside the message's versions (`M#<message>` /
`A#<file id>`): where the copy is, or why it could not be made. The bucket blocks public access;
readers get a presigned link that works for 15 minutes (`LINK_SECONDS`).

Files: a message's attachments, its stickers and its embeds' images. Only URLs on Discord's own CDN
hosts are fetched (an embed's `proxy_url` is Discord's copy of an outside image): the function
never requests an address a message's author chose, so a message cannot make it reach anything
else. The CDN base is configuration (`GUILDLOG_DISCORD_CDN_BASE`), so tests and the local stack
serve the files from a fake.

A failed download is retried by SQS (the message comes back after the visibility timeout); at the
`ATTEMPTS`-th receive a failure is recorded instead (`status: failed`, with the reason), so nothing
is dropped silently. A file over the server's size cap is recorded at once, never downloaded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from guildlog.errors import AttachmentCopyError
from guildlog.models.config import DEFAULT_ATTACHMENT_MAX_MB, GuildConfig
from guildlog.models.row import EventRow
from guildlog.services import keys
from guildlog.services.timefmt import iso

ATTACHMENTS_PREFIX = "attachments/"
DEFAULT_CDN_BASE = "https://cdn.discordapp.com"
DISCORD_CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
# Presigned links to a copy: long enough to open it, short enough that a pasted link soon dies.
LINK_SECONDS = 15 * 60
# Receives of a copy job before a failure is recorded instead of retried (the queue's redrive to
# the dead-letter queue is later still, for when even the record cannot be written).
ATTEMPTS = 3
MB = 1024 * 1024
# Sticker format types → file extension on the CDN (1 PNG, 2 APNG, 3 Lottie JSON, 4 GIF).
_STICKER_EXTENSIONS = {1: "png", 2: "png", 3: "json", 4: "gif"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_FILENAME = 100
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")


class CopyJob(BaseModel):
    """One file to copy: what ingest queues, what AttachmentCopyFunction reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    guild_id: str = Field(pattern=r"^[0-9]{15,21}$")
    channel_id: str | None = None
    message_id: str = Field(pattern=r"^[0-9]{15,21}$")
    item_id: str = Field(pattern=r"^[0-9a-z]{1,32}$")
    kind: Literal["attachment", "sticker", "embed"]
    filename: str = Field(min_length=1, max_length=_MAX_FILENAME)
    url: str
    content_type: str | None = None
    size: int | None = Field(default=None, ge=0)
    max_bytes: int = Field(ge=1)
    expires_at: int
    event_id: str

    @property
    def key(self) -> str:
        return object_key(self.guild_id, self.message_id, self.item_id, self.filename)


def object_key(guild_id: str, message_id: str, item_id: str, filename: str) -> str:
    return f"{ATTACHMENTS_PREFIX}guild={guild_id}/{message_id}/{item_id}-{safe_filename(filename)}"


def safe_filename(name: str) -> str:
    """A filename fit for an S3 key and a Content-Disposition: ASCII letters, digits, `.`, `_`, `-`."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "file"
    return cleaned[-_MAX_FILENAME:]


def cdn_url(url: object, cdn_base: str = DEFAULT_CDN_BASE) -> str | None:
    """`url` on `cdn_base` when it is on Discord's CDN; None for any other host (never fetched)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in DISCORD_CDN_HOSTS:
        return None
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return cdn_base.rstrip("/") + tail


def jobs_for(
    row: EventRow,
    data: Mapping[str, Any] | None,
    config: GuildConfig | None,
    *,
    retention_days: int = 30,
) -> list[CopyJob]:
    """The copy jobs of one logged event: a message's create (its files) or update (embeds unfurled later).

    None when the server switched copies off, or for any other event.
    """
    if row.category != "message" or row.action not in ("create", "update") or not isinstance(data, Mapping):
        return []
    if not row.guild_id or not row.message_id or (config is not None and not config.attachments_copy):
        return []
    max_mb = config.attachments_max_mb if config is not None else DEFAULT_ATTACHMENT_MAX_MB
    occurred = datetime.fromisoformat(row.occurred_at.replace("Z", "+00:00"))
    base = {
        "guild_id": row.guild_id,
        "channel_id": row.channel_id,
        "message_id": row.message_id,
        "max_bytes": max_mb * MB,
        # The record lives as long as the message's other hot items; the copy itself stays in S3.
        "expires_at": int(occurred.timestamp()) + retention_days * 86_400,
        "event_id": row.event_id,
    }
    found: dict[str, dict[str, Any]] = {}
    if row.action == "create":
        for attachment in _dicts(data.get("attachments")):
            url = cdn_url(attachment.get("url"))
            item = str(attachment.get("id") or "")
            if url and _SNOWFLAKE.match(item):
                size = attachment.get("size")
                found[item] = {
                    "kind": "attachment",
                    "filename": safe_filename(str(attachment.get("filename") or "file")),
                    "url": url,
                    "content_type": _text(attachment.get("content_type")),
                    "size": size if isinstance(size, int) and size >= 0 else None,
                }
        for sticker in _dicts(data.get("sticker_items")):
            item = str(sticker.get("id") or "")
            extension = _STICKER_EXTENSIONS.get(sticker.get("format_type"))  # type: ignore[arg-type]
            if _SNOWFLAKE.match(item) and extension:
                found[item] = {
                    "kind": "sticker",
                    "filename": safe_filename(f"{sticker.get('name') or 'sticker'}.{extension}"),
                    "url": f"{DEFAULT_CDN_BASE}/stickers/{item}.{extension}",
                }
    for embed in _dicts(data.get("embeds")):
        for part in ("image", "thumbnail"):
            media = embed.get(part)
            if not isinstance(media, Mapping):
                continue
            url = cdn_url(media.get("proxy_url")) or cdn_url(media.get("url"))
            if url:
                item = "e" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
                name = urlsplit(url).path.rsplit("/", 1)[-1] or "image"
                found[item] = {"kind": "embed", "filename": safe_filename(name), "url": url}
    return [CopyJob.model_validate({**base, **fields, "item_id": item}) for item, fields in found.items()]


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------- the copy


@dataclass(frozen=True)
class Fetched:
    body: bytes
    content_type: str | None


class Fetcher(Protocol):
    def fetch(self, url: str, max_bytes: int) -> Fetched:
        """The file; AttachmentCopyError (retryable or not) when it cannot be had within `max_bytes`."""
        ...


class CopyStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...


class CopyRecords(Protocol):
    def put_items(self, items: list[dict[str, Any]]) -> int: ...


@dataclass(frozen=True)
class CopyOutcome:
    status: Literal["copied", "failed"]
    reason: str | None = None


def copy(
    job: CopyJob,
    fetcher: Fetcher,
    store: CopyStore,
    records: CopyRecords,
    *,
    attempt: int,
    now: datetime,
    cdn_base: str = DEFAULT_CDN_BASE,
) -> CopyOutcome:
    """Copy one file and record it. Raises AttachmentCopyError while a retry may still help (the
    job's `attempt`-th receive, below ATTEMPTS); StorageError when S3 or DynamoDB refuse.

    The job holds Discord's own URL; it is fetched from `cdn_base` (the same path on a fake locally).
    """
    if job.size is not None and job.size > job.max_bytes:
        return _failed(job, records, f"larger than this server's {job.max_bytes // MB} MB cap", now)
    url = cdn_url(job.url, cdn_base)
    if url is None:
        return _failed(job, records, "not a file on Discord's CDN", now)
    try:
        fetched = fetcher.fetch(url, job.max_bytes)
    except AttachmentCopyError as exc:
        if exc.retryable and attempt < ATTEMPTS:
            raise
        return _failed(job, records, exc.message, now)
    content_type = job.content_type or fetched.content_type or "application/octet-stream"
    store.put(job.key, fetched.body, content_type)
    records.put_items([record(job, "copied", now, content_type=content_type, size=len(fetched.body))])
    return CopyOutcome("copied")


def _failed(job: CopyJob, records: CopyRecords, reason: str, now: datetime) -> CopyOutcome:
    records.put_items([record(job, "failed", now, reason=reason)])
    return CopyOutcome("failed", reason)


def record(
    job: CopyJob,
    status: Literal["copied", "failed"],
    now: datetime,
    *,
    content_type: str | None = None,
    size: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The hot item of a copy (`M#<message>` / `A#<file>`): `key` when copied, `reason` when not."""
    item: dict[str, Any] = {
        "PK": keys.message_pk(job.message_id),
        "SK": keys.attachment_sk(job.item_id),
        "guild_id": job.guild_id,
        "kind": job.kind,
        "filename": job.filename,
        "status": status,
        "at": iso(now),
        "expires_at": job.expires_at,
    }
    if status == "copied":
        item.update({"key": job.key, "content_type": content_type, "size": size})
    else:
        item["reason"] = reason
    return {k: v for k, v in item.items() if v is not None}


# ---------------------------------------------------------------- reading the records


class Linker(Protocol):
    def link(self, key: str, expires_in: int) -> str: ...


class CopyFinder(Linker, Protocol):
    def exists(self, key: str) -> bool: ...


def export_links(guild_id: str, rows: list[dict[str, Any]], copies: CopyFinder) -> dict[str, str]:
    """Attachment id → a 15-minute link to its copy, for the attachments of the rows' messages that
    have one (an export: its key follows from the row, its existence is asked of the bucket)."""
    links: dict[str, str] = {}
    for row in rows:
        message_id = row.get("message_id")
        if row.get("event_type") != "MESSAGE_CREATE" or not message_id or not row.get("attachments"):
            continue
        try:
            files = json.loads(str(row["attachments"]))
        except ValueError:
            continue
        for item in files if isinstance(files, list) else []:
            if not isinstance(item, dict) or not _SNOWFLAKE.match(str(item.get("id") or "")):
                continue
            key = object_key(guild_id, str(message_id), str(item["id"]), str(item.get("filename") or "file"))
            if copies.exists(key):
                links[str(item["id"])] = copies.link(key, LINK_SECONDS)
    return links


def copies_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The copy records among a message's `M#<id>` items."""
    return [i for i in items if str(i.get("SK", "")).startswith(keys.ATTACHMENT_PREFIX)]


def copy_lines(
    records: list[dict[str, Any]], linker: Linker | None, limit: int = 5, *, plain: bool = False
) -> list[str]:
    """One markdown line per record: a 15-minute link to a copy, or why there is none.

    `plain`: a bare masked link (embeds); otherwise `<url>`, which keeps Discord from previewing it.
    """
    lines = []
    for item in sorted(records, key=lambda i: str(i.get("SK")))[:limit]:
        name = _UNSAFE.sub("_", str(item.get("filename") or "file"))[:60]
        if item.get("status") == "copied" and item.get("key") and linker is not None:
            url = linker.link(str(item["key"]), LINK_SECONDS)
            target = url if plain else f"<{url}>"
            lines.append(f"📎 [{name}]({target}) (archived copy, link valid 15 min)")
        elif item.get("status") == "copied":
            lines.append(f"📎 {name}: archived copy kept")
        else:
            lines.append(f"📎 {name}: attachment could not be copied: {str(item.get('reason') or 'unknown')[:120]}")
    return lines
