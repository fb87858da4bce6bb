"""A guild that removed the bot: its data deleted everywhere, after a grace period or at once.

GUILD_DELETE without `unavailable` means the bot was removed (with `unavailable` it is an outage).
Ingest then schedules the guild's deletion (`G#<guild>#ERASE` / `GUILD`, and `ERASE#DUE` /
`<due>#<guild>` so a daily run finds what is due with one Query); a GUILD_CREATE of the guild (the
bot is back) cancels it. The deletion itself drops every hot item of the guild (its feed shards,
directory, counters, config and its messages' versions) and every archive line of the guild
(rewriting each object of every day without them, as services/object_rewrite.py does), deletes its
exports and attachment copies, and keeps a receipt of the counts (`G#<guild>#ERASE`, no content).
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from guildlog.models.row import ROW_FIELDS
from guildlog.services import object_rewrite as ar
from guildlog.services.erasure.receipt import Receipt, Verification
from guildlog.services.erasure.rewriter import ARCHIVE_DATASETS
from guildlog.services.erasure.scrub import event_guild
from guildlog.services.timefmt import iso, utcnow

_GUILD_COLUMN = ROW_FIELDS.index("guild_id")
GUILD_REMOVED_USER = "*"  # the receipt's "user" of a whole guild's deletion


class GuildHotStore(Protocol):
    def guild_item_keys(self, guild_id: str) -> list[tuple[str, str]]: ...
    def delete_keys(self, keys: list[tuple[str, str]]) -> None: ...
    def put_receipt(self, receipt: Receipt) -> None: ...
    def cancel_guild_deletion(self, guild_id: str) -> None: ...


def bot_removed(event: dict[str, Any]) -> str | None:
    """The guild a raw GUILD_DELETE says the bot was removed from (None for an outage or anything else)."""
    data = event.get("d")
    if event.get("t") != "GUILD_DELETE" or not isinstance(data, dict) or data.get("unavailable") is not None:
        return None
    return str(data["id"]) if data.get("id") else None


def bot_back(event: dict[str, Any]) -> str | None:
    """The guild a raw GUILD_CREATE brings the bot (back) into."""
    data = event.get("d")
    if event.get("t") != "GUILD_CREATE" or not isinstance(data, dict) or not data.get("id"):
        return None
    return str(data["id"])


def due_at(removed_at: datetime, grace_days: int) -> str:
    return iso(removed_at + timedelta(days=grace_days))


class GuildLines:
    """Line edits that drop every line of one guild, for each archive dataset."""

    def __init__(self, guild_id: str) -> None:
        self.guild_id = guild_id

    def _row(self, line: str) -> str | None:
        return None if json.loads(line).get("guild_id") == self.guild_id else line

    def _csv(self, line: str) -> str | None:
        if line.startswith('"event_id"'):
            return line
        cells = next(csv.reader([line]))
        return None if len(cells) > _GUILD_COLUMN and cells[_GUILD_COLUMN] == self.guild_id else line

    def _event(self, line: str) -> str | None:
        event = json.loads(line).get("event")
        if isinstance(event, dict) and isinstance(event.get("json"), str):
            try:
                event = {"t": event.get("t"), "d": json.loads(event["json"])}
            except ValueError:
                return line
        return None if isinstance(event, dict) and event_guild(event) == self.guild_id else line

    def edit_for(self, dataset: str) -> ar.Edit:
        return {"raw": self._event, "quarantine": self._event, "events": self._row, "events_csv": self._csv}[dataset]


class GuildDeletion:
    def __init__(
        self, hot: GuildHotStore, objects: ar.VersionedObjects, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.hot = hot
        self.objects = objects
        self.clock = clock

    def run(self, guild_id: str, *, requested_by: str, job_id: str) -> Receipt:
        receipt = Receipt(job_id, guild_id, GUILD_REMOVED_USER, requested_by, iso(self.clock()))
        keys = self.hot.guild_item_keys(guild_id)
        self.hot.delete_keys(keys)
        receipt.hot["items deleted"] = len(keys)
        lines = GuildLines(guild_id)
        for dataset in ARCHIVE_DATASETS:
            edit = lines.edit_for(dataset)
            listed = self.objects.versions(f"{dataset}/")
            for versions in ar.by_key(listed).values():
                current = versions[0]
                if not current.latest or current.delete_marker:
                    continue
                outcome = ar.rewrite_object(self.objects, current, functools.partial(_edit_text, edit=edit))
                receipt.objects_read += 1
                receipt.bytes_read += outcome.bytes_read
                receipt.objects_rewritten += outcome.state != "unchanged"
                if outcome.counts.dropped:
                    day = _day_of(current.key)
                    days = receipt.archive.setdefault(dataset, {})
                    days[day] = days.get(day, 0) + outcome.counts.dropped
            purged, read = ar.purge_old_versions(self.objects, listed, functools.partial(_drops, edit=edit))
            receipt.old_versions_deleted += purged
            receipt.bytes_read += read
        for prefix, field in ((f"exports/{guild_id}/", "exports"), (f"attachments/guild={guild_id}/", "attachments")):
            deleted = 0
            for key, versions in ar.by_key(self.objects.versions(prefix)).items():
                for version in versions:
                    self.objects.delete_version(key, version.version_id)
                deleted += 1
            setattr(receipt, f"{field}_deleted", deleted)
        receipt.verification = self._verify(guild_id, lines)
        receipt.finished_at = iso(self.clock())
        self.hot.cancel_guild_deletion(guild_id)
        self.hot.put_receipt(receipt)
        return receipt

    def _verify(self, guild_id: str, lines: GuildLines) -> Verification:
        check = Verification()
        for dataset in ARCHIVE_DATASETS:
            edit = lines.edit_for(dataset)
            for version in self.objects.versions(f"{dataset}/"):
                if version.delete_marker:
                    continue
                check.objects_checked += 1
                text = ar.decode(version.key, self.objects.read(version))
                check.lines_checked += text.count("\n")
                check.found += _drops(text, edit=edit)
        for prefix in (f"exports/{guild_id}/", f"attachments/guild={guild_id}/"):
            check.found += sum(1 for v in self.objects.versions(prefix) if not v.delete_marker)
        return check


def _edit_text(text: str, *, edit: ar.Edit) -> tuple[str, ar.LineCounts]:
    return ar.edit_lines(text, edit)


def _drops(text: str, *, edit: ar.Edit) -> bool:
    _, counts = ar.edit_lines(text, edit)
    return bool(counts.dropped or counts.changed)


def _day_of(key: str) -> str:
    """`2026-11-19` of `<dataset>/year=2026/month=11/day=19/…`."""
    parts = {p.split("=")[0]: p.split("=")[1] for p in key.split("/") if "=" in p}
    return f"{parts.get('year', '?')}-{parts.get('month', '?')}-{parts.get('day', '?')}"
