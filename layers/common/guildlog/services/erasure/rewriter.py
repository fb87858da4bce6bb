"""The member's lines in each archive dataset, and their hot items: how each is recognised and redacted.

`MemberEdits` holds who is erased (guild, user, their message ids and names) and gives, per dataset,
the line edit that `services.object_rewrite` applies and the test that says a line is the member's
(true before and after the edit, so counts and the verification are the same on every run).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guildlog.models.envelope import QuarantineLine, RawArchiveLine
from guildlog.models.row import ROW_FIELDS, EventRow
from guildlog.services.csv_render import render_csv, unescape_cell
from guildlog.services.erasure import scrub

ARCHIVE_DATASETS = ("raw", "events", "events_csv", "quarantine")
_DIGITS = re.compile(r"[0-9]+")
_INT_FIELDS = frozenset({"seq", "shard_id"})
# Hot attributes that hold what the member wrote, or their name, on an item about them.
_CONTENT_ATTRS = ("content", "content_truncated", "attachments", "whole_text")
_JSON_ATTRS = ("details", "changes", "state", "prev", "invite")


@dataclass
class MemberEdits:
    guild_id: str
    user_id: str
    message_ids: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    _ids: tuple[frozenset[str], frozenset[str]] | None = field(default=None, init=False, repr=False, compare=False)

    # ---------------------------------------------------------------- events (JSON lines of rows)
    def event_line(self, line: str) -> str:
        row = json.loads(line)
        new = scrub.scrub_row(row, self.guild_id, self.user_id, self.message_ids, self.names)
        if new == row:
            return line
        return EventRow.model_validate(new).model_dump_json()

    def event_line_is_members(self, line: str) -> bool:
        return scrub.row_is_members(json.loads(line), self.guild_id, self.user_id, self.message_ids)

    # ---------------------------------------------------------------- events_csv (a header, then one record per line)
    def _csv_row(self, line: str) -> dict[str, Any] | None:
        if line.startswith('"event_id"'):
            return None
        cells = next(csv.reader([line]))
        row: dict[str, Any] = {}
        for name, cell in zip(ROW_FIELDS, cells, strict=False):
            if cell == "":
                row[name] = None
            elif name in _INT_FIELDS:
                row[name] = int(cell)
            else:
                row[name] = unescape_cell(cell)
        for name in ROW_FIELDS[len(cells) :]:
            row[name] = None
        if row.get("details") is None:
            row["details"] = "{}"
        return row

    def csv_line(self, line: str) -> str:
        row = self._csv_row(line)
        if row is None:
            return line
        new = scrub.scrub_row(row, self.guild_id, self.user_id, self.message_ids, self.names)
        if new == row:
            return line
        rendered = render_csv([EventRow.model_validate(new)])
        return rendered.split("\r\n")[1]

    def csv_line_is_members(self, line: str) -> bool:
        row = self._csv_row(line)
        return row is not None and scrub.row_is_members(row, self.guild_id, self.user_id, self.message_ids)

    # ---------------------------------------------------------------- raw and quarantine (events as received)
    def raw_line(self, line: str) -> str:
        value = json.loads(line)
        event = value.get("event")
        if not isinstance(event, dict):
            return line
        new = scrub.scrub_event(event, self.guild_id, self.user_id, self.message_ids)
        if new == event:
            return line
        return RawArchiveLine.model_validate({**value, "event": new}).model_dump_json()

    def raw_line_is_members(self, line: str) -> bool:
        event = json.loads(line).get("event")
        return (
            isinstance(event, dict)
            and scrub.event_guild(event) == self.guild_id
            and scrub.involves(event.get("d"), self.user_id)
        )

    def quarantine_line(self, line: str) -> str:
        value = json.loads(line)
        event = value.get("event")
        if not isinstance(event, dict):
            return line
        if isinstance(event.get("json"), str):
            try:
                inner = json.loads(event["json"])
            except ValueError:
                return line
            if not isinstance(inner, dict):
                return line
            scrubbed = scrub.scrub_event({"t": event.get("t"), "d": inner}, self.guild_id, self.user_id)["d"]
            if scrubbed == inner:
                return line
            new = {**event, "json": json.dumps(scrubbed, ensure_ascii=True, separators=(",", ":"))}
        else:
            new = scrub.scrub_event(event, self.guild_id, self.user_id, self.message_ids)
            if new == event:
                return line
        return QuarantineLine.model_validate({**value, "event": new}).model_dump_json()

    def quarantine_line_is_members(self, line: str) -> bool:
        event = json.loads(line).get("event")
        if not isinstance(event, dict):
            return False
        if isinstance(event.get("json"), str):
            try:
                event = {"t": event.get("t"), "d": json.loads(event["json"])}
            except ValueError:
                return False
        return scrub.event_guild(event) == self.guild_id and scrub.involves(event.get("d"), self.user_id)

    # ---------------------------------------------------------------- every dataset
    def may_hold(self, line: str) -> bool:
        """Whether the line names the member's id or one of their messages' ids (as digits, the way JSON
        and the CSV write them). Every test and edit above starts from one of those ids, so a line that
        names none is not the member's and no edit changes it: it is passed over without being parsed,
        which on a busy day is nearly every line."""
        ids = self._ids
        if ids is None or ids[0] is not self.message_ids:
            ids = self._ids = (self.message_ids, frozenset({self.user_id, *self.message_ids}))
        return not ids[1].isdisjoint(_DIGITS.findall(line))

    def edit_for(self, dataset: str) -> Callable[[str], str]:
        edit = {
            "raw": self.raw_line,
            "events": self.event_line,
            "events_csv": self.csv_line,
            "quarantine": self.quarantine_line,
        }[dataset]
        return lambda line: edit(line) if self.may_hold(line) else line

    def test_for(self, dataset: str) -> Callable[[str], bool]:
        test = {
            "raw": self.raw_line_is_members,
            "events": self.event_line_is_members,
            "events_csv": self.csv_line_is_members,
            "quarantine": self.quarantine_line_is_members,
        }[dataset]
        return lambda line: self.may_hold(line) and test(line)

    # ---------------------------------------------------------------- hot items
    def redact_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """A hot item about the member (their event, message version, directory entry) with their content
        and names redacted; the keys, ids, times and the expiry stay. Idempotent."""
        out = dict(item)
        about_member = item.get("user_id") in (None, self.user_id) or str(item.get("SK", "")).startswith(
            ("N#", "M#", "V#", "H#M#", "A#", "L#", "J#")
        )
        if about_member:
            for name in _CONTENT_ATTRS:
                out.pop(name, None)
            if out.get("user_name") is not None:
                out["user_name"] = scrub.ERASED
        elif item.get("message_id") in self.message_ids:
            for name in _CONTENT_ATTRS:
                out.pop(name, None)
        for name in _JSON_ATTRS:
            value = out.get(name)
            if isinstance(value, str) and about_member:
                out[name] = scrub.scrub_state_text(value, self.user_id, self.names)
        return out


def names_in(items: list[dict[str, Any]], user_id: str) -> set[str]:
    """The member's names as the hot table knows them (their events' user_name, their directory states)."""
    names: set[str] = set()
    for item in items:
        if item.get("user_id") == user_id and isinstance(item.get("user_name"), str):
            names.add(item["user_name"])
        for attr in ("state", "prev"):
            text = item.get(attr)
            if isinstance(text, str):
                try:
                    value = json.loads(text)
                except ValueError:
                    continue
                _collect_names(value, names)
    names.discard(scrub.ERASED)
    return {n for n in names if n}


def _collect_names(value: Any, names: set[str]) -> None:
    if isinstance(value, dict):
        for key in scrub.NAME_FIELDS:
            if isinstance(value.get(key), str):
                names.add(value[key])
        for v in value.values():
            _collect_names(v, names)
    elif isinstance(value, list):
        for v in value:
            _collect_names(v, names)
