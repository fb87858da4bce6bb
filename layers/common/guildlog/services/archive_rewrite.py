"""Rewriting archive lines: the content of an event taken out, its facts kept.

One function per dataset's line format (raw and quarantine JSON lines, normalized event rows as JSON
lines and as the archive's CSV). What stays is what a server's statistics need — which event, when,
in which guild and channel, by and about which member (ids only) — and nothing that was said or
shown: message text, embeds, attachments, names, nicknames, avatars, reasons, before → after.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from guildlog.models.row import ROW_FIELDS

# Top-level fields of a dispatch's `d` that are facts; everything else is removed.
RAW_FACT_FIELDS = frozenset(
    {
        "id",
        "type",
        "guild_id",
        "channel_id",
        "parent_id",
        "message_id",
        "user_id",
        "target_id",
        "application_id",
        "webhook_id",
        "action_type",
        "timestamp",
        "edited_timestamp",
        "joined_at",
        "ids",
        "unavailable",
    }
)
# Nested objects reduced to their id: who did it, not what they were called.
_RAW_WHO = ("author", "user", "member")
# Normalized row fields that hold content; `details` keeps `{}` (its columns are typed as JSON text).
ROW_CONTENT_FIELDS = ("user_name", "content", "reason", "attachments", "details", "changes")
_EMPTY = {"details": "{}"}
_CSV_INDEX = {name: i for i, name in enumerate(ROW_FIELDS)}


def _who(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("id"), str | int):
        return {"id": value["id"]}
    user = value.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str | int):
        return {"user": {"id": user["id"]}}
    return None


def strip_event(event: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An envelope event (`{"t":…, "d":{…}}`) with `d` cut to its facts, and the paths removed or cut."""
    data = event.get("d")
    if not isinstance(data, dict):
        return event, []
    kept: dict[str, Any] = {}
    removed: list[str] = []
    for name, value in data.items():
        if name in RAW_FACT_FIELDS:
            kept[name] = value
        elif name in _RAW_WHO and (who := _who(value)) is not None:
            kept[name] = who
            if who != value:
                removed.append(f"d.{name}")
        else:
            removed.append(f"d.{name}")
    return {**event, "d": kept}, removed


def strip_raw_line(line: dict[str, Any]) -> dict[str, Any]:
    """A raw or quarantine line (`{"event": {…}, …}`) with the event's content removed; a raw line
    names what went in `redacted` (after anything redacted before)."""
    event = line.get("event")
    if not isinstance(event, dict):
        return line
    stripped, removed = strip_event(event)
    if not removed:
        return line
    out = {**line, "event": stripped}
    if "reason" not in line:  # a raw line: quarantine lines have a fixed shape
        out["redacted"] = list(dict.fromkeys([*(line.get("redacted") or []), *removed]))
    return out


def strip_row(row: dict[str, Any]) -> dict[str, Any]:
    """A normalized event row (as its JSON line holds it) without its content fields."""
    return {name: (_EMPTY.get(name) if name in ROW_CONTENT_FIELDS else value) for name, value in row.items()}


def csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def strip_csv_line(line: str) -> str:
    """An `events_csv` record (one physical line, every field quoted) without its content cells."""
    fields = csv_fields(line)
    for name in ROW_CONTENT_FIELDS:
        index = _CSV_INDEX[name]
        if index < len(fields):
            fields[index] = _EMPTY.get(name, "")
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)
    return buffer.getvalue()


def dumps(value: dict[str, Any]) -> str:
    """Compact JSON like the archive's own lines (pydantic's model_dump_json: no spaces, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
