"""Exports: a channel's (or a server's) log over a day or a range of days, as a file with a link.

The rows come from the S3 archive's `events/` partitions of the asked days (never from a table
scan): each day's objects are read, the guild's (and channel's) rows kept, duplicates left by
at-least-once delivery dropped, and the rest sorted by time. Three formats:

- `json`: `{"guild_id", "channel_id", "from", "to", "exported_at", "events": [row, …]}`, rows as
  the archive holds them (guildlog.models.row);
- `csv`: RFC 4180 for people and their tools (services.csv_render.render_export_csv): the exact
  text, line breaks inside quoted fields, formulas neutralized only where a spreadsheet runs them;
- `dce`: DiscordChatExporter's JSON layout (services.exports.dce), one channel's messages, so the
  viewers and analysers made for those exports open it.

The file is stored under `exports/` (the bucket expires it) and shared as a presigned link.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from guildlog.errors import ExportError
from guildlog.models.row import EventRow
from guildlog.services.attachments import CopyFinder, export_links
from guildlog.services.csv_render import render_export_csv
from guildlog.services.directory import SnapshotReader, lookup_names
from guildlog.services.timefmt import iso

FORMATS = ("json", "csv", "dce")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "dce": "application/json"}
EXTENSIONS = {"json": "json", "csv": "csv", "dce": "json"}
# A longer export is a job for Athena (guildlog query); this keeps a worker's memory and time bounded.
MAX_EXPORT_DAYS = 31
# Presigned links: an hour by default; the signing credentials of a Lambda role last about that long.
DEFAULT_LINK_SECONDS = 3600
MAX_LINK_SECONDS = 12 * 3600
EXPORTS_PREFIX = "exports/"
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
_EXPORT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class ExportRequest:
    """What to export. `channel_id` None: every channel of the guild (not for `dce`)."""

    guild_id: str
    first: date
    last: date
    output_format: str = "json"
    channel_id: str | None = None

    def __post_init__(self) -> None:
        if not _SNOWFLAKE.match(self.guild_id):
            raise ExportError("the guild must be a snowflake")
        if self.channel_id is not None and not _SNOWFLAKE.match(self.channel_id):
            raise ExportError("the channel must be a snowflake")
        if self.output_format not in FORMATS:
            raise ExportError(f"the format must be one of {', '.join(FORMATS)}", format=self.output_format)
        if self.output_format == "dce" and self.channel_id is None:
            raise ExportError("a DiscordChatExporter file holds one channel: name it")
        if self.last < self.first:
            raise ExportError("the range ends before it starts")
        if (self.last - self.first).days >= MAX_EXPORT_DAYS:
            raise ExportError(f"an export spans at most {MAX_EXPORT_DAYS} days; use guildlog query for more")

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class ExportFile:
    name: str
    content_type: str
    body: bytes
    rows: int
    messages: int
    # The names the exported days or the directory gave; None: none is known, the file shows the id.
    guild_name: str | None = None
    channel_name: str | None = None


@dataclass(frozen=True)
class ExportResult:
    key: str
    url: str
    expires_at: datetime
    file: ExportFile


class ArchiveRows(Protocol):
    """The normalized rows of one partition day (adapters.s3_exports reads them from `events/`)."""

    def rows(self, day: date) -> Iterable[dict[str, Any]]: ...


class ExportStore(Protocol):
    def put(self, key: str, file: ExportFile) -> None: ...
    def link(self, key: str, expires_in: int) -> str: ...


@dataclass
class Collected:
    """The request's rows (each event once, in time order) and the names the archive gave on the way."""

    rows: list[dict[str, Any]]
    guild_name: str | None = None
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)


_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE"})
_CHANNEL_EVENTS = frozenset({"CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"})


def collect_rows(archive: ArchiveRows, request: ExportRequest, names: SnapshotReader | None = None) -> Collected:
    """Read the request's days once: its rows, and the guild's and channels' names seen in them;
    what those days do not name is taken from the directory (`names`) when one is given."""
    found: dict[str, dict[str, Any]] = {}
    collected = Collected(rows=[])
    for day in request.days():
        for row in archive.rows(day):
            if row.get("guild_id") != request.guild_id:
                continue
            kind = row.get("event_type")
            if kind in _GUILD_EVENTS or kind in _CHANNEL_EVENTS:
                _learn(collected, row)
            if request.channel_id is not None and not _in_channel(row, request.channel_id):
                continue
            found.setdefault(str(row.get("event_id")), row)
    collected.rows = sorted(found.values(), key=lambda r: (str(r.get("occurred_at")), str(r.get("event_id"))))
    if names is not None:
        _name_from_directory(collected, request, names)
    return collected


def _name_from_directory(collected: Collected, request: ExportRequest, reader: SnapshotReader) -> None:
    wanted = {str(c) for c in (request.channel_id,) if c}
    wanted |= {str(r["channel_id"]) for r in collected.rows if r.get("channel_id")}
    wanted |= {str(f["parent_id"]) for f in collected.channels.values() if f.get("parent_id")}
    missing = sorted(c for c in wanted if not collected.channels.get(c, {}).get("name"))
    if collected.guild_name and not missing:
        return
    found = lookup_names(reader, request.guild_id, missing)
    collected.guild_name = collected.guild_name or found.guild
    _learn_channels(collected, found.channels)
    # A channel the directory named may sit in a category the first read could not know of.
    parents = {str(f["parent_id"]) for f in collected.channels.values() if f.get("parent_id")}
    unnamed = sorted(c for c in parents if c not in missing and not collected.channels.get(c, {}).get("name"))
    if unnamed:
        _learn_channels(collected, lookup_names(reader, request.guild_id, unnamed).channels)


def _learn_channels(collected: Collected, states: dict[str, dict[str, Any]]) -> None:
    for channel_id, state in states.items():
        facts = collected.channels.setdefault(channel_id, {})
        for key in ("name", "type", "parent_id", "topic"):
            if state.get(key) is not None:
                facts.setdefault(key, state[key])


def _learn(collected: Collected, row: dict[str, Any]) -> None:
    try:
        details = json.loads(row.get("details") or "{}")
    except ValueError:
        return
    if not isinstance(details, dict):
        return
    if row.get("event_type") in _GUILD_EVENTS:
        collected.guild_name = str(details.get("name") or collected.guild_name or "") or None
    elif row.get("target_id"):
        facts = collected.channels.setdefault(str(row["target_id"]), {})
        facts.update({k: details[k] for k in ("name", "type", "parent_id", "topic") if k in details})


def _in_channel(row: dict[str, Any], channel_id: str) -> bool:
    # A channel's own create/update rows name it as their target too.
    return row.get("channel_id") == channel_id or (
        row.get("category") == "server" and row.get("target_id") == channel_id
    )


def build_file(
    request: ExportRequest, collected: Collected, exported_at: datetime, copy_links: dict[str, str] | None = None
) -> ExportFile:
    """The export file for what collect_rows found. `copy_links`: attachment id → a short-lived link
    to its copy in the archive (json: `attachment_copies`; dce: the attachment's `url`)."""
    rows = collected.rows
    stem = f"guildlog-{request.guild_id}-{request.channel_id or 'all'}-{request.first.isoformat()}"
    if request.last != request.first:
        stem += f"_{request.last.isoformat()}"
    name = f"{stem}{'.dce' if request.output_format == 'dce' else ''}.{EXTENSIONS[request.output_format]}"
    messages = sum(1 for r in rows if r.get("event_type") == "MESSAGE_CREATE")
    if request.output_format == "csv":
        body = render_export_csv(EventRow.model_validate(r) for r in rows).encode("utf-8")
    elif request.output_format == "json":
        document: dict[str, Any] = {
            "guild_id": request.guild_id,
            "channel_id": request.channel_id,
            "from": request.first.isoformat(),
            "to": request.last.isoformat(),
            "exported_at": iso(exported_at),
            "events": [EventRow.model_validate(r).model_dump() for r in rows],
        }
        if copy_links:
            document["attachment_copies"] = dict(copy_links)
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    else:
        from guildlog.services.exports.dce import to_dce

        document = to_dce(request, collected, exported_at, copy_links)
        messages = len(document["messages"])
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    channel_name = collected.channels.get(str(request.channel_id), {}).get("name") if request.channel_id else None
    return ExportFile(
        name,
        CONTENT_TYPES[request.output_format],
        body,
        len(rows),
        messages,
        guild_name=collected.guild_name,
        channel_name=str(channel_name) if channel_name else None,
    )


def export_key(request: ExportRequest, export_id: str, file: ExportFile) -> str:
    if not _EXPORT_ID.match(export_id):
        raise ExportError("the export id must be 1 to 64 letters, digits or hyphens")
    return f"{EXPORTS_PREFIX}{request.guild_id}/{export_id}/{file.name}"


class Exporter:
    """Builds an export from the archive, stores it and links to it."""

    def __init__(
        self,
        archive: ArchiveRows,
        store: ExportStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        link_seconds: int = DEFAULT_LINK_SECONDS,
        names: SnapshotReader | None = None,
        copies: CopyFinder | None = None,
    ) -> None:
        if not 60 <= link_seconds <= MAX_LINK_SECONDS:
            raise ExportError(f"a link lasts between a minute and {MAX_LINK_SECONDS // 3600} hours")
        self.archive = archive
        self.store = store
        self.clock = clock
        self.link_seconds = link_seconds
        self.names = names
        # Attachment copies (adapters.s3_attachments): linked from the json and dce files.
        self.copies = copies

    def export(self, request: ExportRequest, export_id: str | None = None) -> ExportResult:
        now = self.clock()
        collected = collect_rows(self.archive, request, self.names)
        links = None
        if self.copies is not None and request.output_format in ("json", "dce"):
            links = export_links(request.guild_id, collected.rows, self.copies)
        file = build_file(request, collected, now, links)
        key = export_key(request, export_id or uuid.uuid4().hex, file)
        self.store.put(key, file)
        url = self.store.link(key, self.link_seconds)
        return ExportResult(key=key, url=url, expires_at=now + timedelta(seconds=self.link_seconds), file=file)
