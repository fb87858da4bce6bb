"""Discard run folders: REST captures of message history, and the gateway frames of the run.

A run folder (`<YYYYMMDDTHHMMSS>_<mode>/`) holds `run.jsonl` (the run's HTTP calls and gateway
frames), `run.meta.json`, and per guild `<guild>/guild.jsonl` (the guild's REST captures),
`<guild>/<channel>.jsonl` (pages of `GET /channels/{id}/messages`) with a `*.meta.json` each;
any file may be gzip'd. Every line is `{"type": "http", "datetime_start", "datetime_end",
"request", "response": {"data"}}` or `{"type": "ws", "datetime", "direction", "data"}`.

- A page of messages: one MESSAGE_CREATE per message in its own day's partition (and a
  MESSAGE_UPDATE at the edit time when it was edited), the guild from the folder name.
- A received gateway dispatch: the dispatch as it came (`t`, `d`), to the raw archive and a row.
- Every other HTTP capture and each `*.meta.json`: an `IMPORT_META` event, so the run's metadata
  is kept in the raw archive beside what it describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guildlog.models.envelope import EVENT_TYPE_PATTERN
from guildlog_tools.importers.core import (
    Item,
    Record,
    Skip,
    content_key,
    json_line,
    message_key,
    message_records,
    moment,
    numbered_lines,
    open_binary,
    snowflake,
)

META_TYPE = "IMPORT_META"
_MESSAGES_URL = re.compile(r"/channels/([0-9]{15,21})/messages/?$")
_RUN_TIME = re.compile(r"^([0-9]{8}T[0-9]{6})")
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_RUN_FILES = ("run.jsonl", "run.jsonl.gz", "run.meta.json", "run.meta.json.gz")


def _run_folder(path: Path) -> Path:
    """The run folder a file belongs to: the nearest folder holding the run's own files."""
    for folder in (path.parent, *path.parents):
        if any((folder / name).exists() for name in _RUN_FILES):
            return folder
    return path.parent


def run_time(folder: Path) -> datetime | None:
    """The run's start from its folder name (`20210201T174740_guild`), as UTC."""
    found = _RUN_TIME.match(folder.name)
    if not found:
        return None
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


class Reader:
    name = "discard"

    def __init__(self, guild: str | None = None) -> None:
        self.guild = guild

    def files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(
            p for p in root.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))
        )

    def read(self, path: Path, root: Path) -> Iterator[Item]:
        run = _run_folder(path)
        label = f"{run.name}/{path.relative_to(run).as_posix()}"
        guild = snowflake(path.parent.name) if path.parent != run else None
        guild = guild or self.guild
        if path.name.endswith((".json", ".json.gz")):
            yield self._meta(path, label, guild, run)
            return
        for number, line in numbered_lines(path):
            data, problem = json_line(line)
            if problem:
                yield Item(number, Skip(problem))
                continue
            if not isinstance(data, dict) or data.get("type") not in ("http", "ws"):
                yield Item(number, Skip("line is not a Discard capture (type http or ws)"))
                continue
            values = self._http(data, label, guild) if data["type"] == "http" else self._ws(data)
            for value in values:
                yield Item(number, value)

    def _meta(self, path: Path, label: str, guild: str | None, run: Path) -> Item:
        try:
            with open_binary(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            return Item(1, Skip("metadata file is not JSON", type(exc).__name__))
        at = run_time(run) or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        d = {"format": "discard", "file": label, "guild_id": guild, "meta": data}
        return Item(1, Record(META_TYPE, _clean(d), content_key("discard-meta", {"file": label, "meta": data}), at))

    def _http(self, capture: dict[str, Any], label: str, guild: str | None) -> Iterator[Record | Skip]:
        at = moment(capture.get("datetime_end")) or moment(capture.get("datetime_start"))
        if at is None:
            yield Skip("HTTP capture has no readable time")
            return
        request = capture.get("request") if isinstance(capture.get("request"), dict) else {}
        response = capture.get("response") if isinstance(capture.get("response"), dict) else {}
        url = request.get("url") if isinstance(request.get("url"), str) else ""
        page = response.get("data")
        found = _MESSAGES_URL.search(url.split("?")[0])
        if found and request.get("method", "GET") == "GET" and isinstance(page, list):
            for message in page:
                if not isinstance(message, dict):
                    yield Skip("message in a page is not a JSON object")
                    continue
                data = {**message}
                data.setdefault("channel_id", found.group(1))
                if guild and not data.get("guild_id"):
                    data["guild_id"] = guild
                yield from message_records(data, at)
            return
        d = {"format": "discard", "file": label, "guild_id": guild, "capture": capture}
        yield Record(META_TYPE, _clean(d), content_key("discard-http", capture), at)

    def _ws(self, frame: dict[str, Any]) -> Iterator[Record | Skip]:
        data = frame.get("data") if isinstance(frame.get("data"), dict) else None
        if frame.get("direction") != "recv" or data is None or data.get("op") != 0:
            yield Skip("gateway frame that is not a received dispatch (hello, heartbeat, identify)")
            return
        t = data.get("t")
        d = data.get("d")
        at = moment(frame.get("datetime"))
        if not isinstance(t, str) or not _EVENT_TYPE.match(t) or not isinstance(d, dict) or at is None:
            yield Skip("gateway dispatch without a type, data or time")
            return
        yield Record(t, d, _dispatch_key(t, d, data), at)


def _dispatch_key(t: str, d: dict[str, Any], frame: dict[str, Any]) -> str:
    """A message's create and edit share their keys with the REST pages (the same message seen
    twice is one row); any other dispatch is keyed by the frame's content."""
    message_id = snowflake(d.get("id"))
    if t == "MESSAGE_CREATE" and message_id:
        return message_key(message_id)
    edited = moment(d.get("edited_timestamp"))
    if t == "MESSAGE_UPDATE" and message_id and edited:
        return message_key(message_id, edited)
    return content_key("discard-ws", frame)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
