"""DAF (Discord Advertisement Framework) logs: what DAF sent, and who joined through its invites.

DAF's LoggerJSON writes `History/YYYY/MM/DD/<guild or user name>.json` (a new numbered file,
`<name>1.json`, `<name>2.json`…, when one passes 100 kB); LoggerCSV writes `;`-separated
`History/YYYY/MM/DD/<name>.csv`. Each JSON file is streamed with ijson. DAF keeps no message ids
(it logs what it sent, not what Discord stored), so a sent message becomes an `IMPORT_DAF_MESSAGE`
event per target channel, keyed by DAF's own record index; an invite-tracking record becomes a
GUILD_MEMBER_ADD with the invite code. DAF writes its machine's local time without a zone: it is
read as UTC. docs/importers.md has the mapping."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guildlog.services.timefmt import iso
from guildlog_tools.importers.core import Item, NotTheFormat, Record, Skip, numbered_lines, snowflake, stream_json

MESSAGE_TYPE = "IMPORT_DAF_MESSAGE"
# LoggerCSV's columns after its leading record index (daf/logging/sql and logger_csv).
CSV_COLUMNS = (
    "index",
    "timestamp",
    "guild_type",
    "guild_name",
    "guild_id",
    "author_name",
    "author_id",
    "message_type",
    "sent_data",
    "message_mode",
    "message_channels",
    "dm_success_info",
)


def daf_time(value: Any) -> datetime | None:
    """DAF's `dd.mm.YYYY HH:MM:SS` (its machine's local time, no zone), read as UTC."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%d.%m.%Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def message_records(
    message: dict[str, Any], guild: dict[str, Any], author_id: str | None, author_name: Any
) -> Iterator[Record | Skip]:
    """One record per channel a DAF message went to (sent or failed), or one for a direct message."""
    at = daf_time(message.get("timestamp"))
    if at is None:
        yield Skip("DAF record has no readable timestamp", str(message.get("timestamp"))[:40])
        return
    index = message.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        yield Skip("DAF record has no index")
        return
    base: dict[str, Any] = {
        "user_id": author_id,
        "author_name": author_name if isinstance(author_name, str) else None,
        "message_type": message.get("type"),
        "mode": message.get("mode"),
        "sent_data": message.get("sent_data"),
        "daf_index": index,
        "timestamp": iso(at),
    }
    if guild.get("type") == "USER":
        recipient = snowflake(guild.get("id"))
        success = message.get("success_info") if isinstance(message.get("success_info"), dict) else {}
        d = {**base, "recipient_id": recipient, "recipient_name": guild.get("name"), "success_info": success}
        yield Record(MESSAGE_TYPE, _clean(d), f"daf:{index}:{recipient}", at)
        return
    guild_id = snowflake(guild.get("id"))
    channels = message.get("channels") if isinstance(message.get("channels"), dict) else {}
    targets = [(c, "sent") for c in channels.get("successful") or []] + [
        (c, "failed") for c in channels.get("failed") or []
    ]
    if not targets:
        yield Skip("DAF record names no channel")
        return
    for channel, status in targets:
        channel = channel if isinstance(channel, dict) else {}
        channel_id = snowflake(channel.get("id"))
        if channel_id is None:
            yield Skip("DAF record's channel has no id")
            continue
        d = {
            **base,
            "guild_id": guild_id,
            "guild_name": guild.get("name"),
            "channel_id": channel_id,
            "channel_name": channel.get("name"),
            "status": status,
            "reason": channel.get("reason"),
        }
        yield Record(MESSAGE_TYPE, _clean(d), f"daf:{index}:{channel_id}", at)


def invite_record(code: str, record: dict[str, Any], guild_id: str | None) -> Record | Skip:
    member = record.get("member") if isinstance(record.get("member"), dict) else {}
    user_id = snowflake(member.get("id"))
    at = daf_time(record.get("timestamp"))
    if user_id is None or at is None or guild_id is None:
        return Skip("DAF invite record lacks a member id, a time or a server id")
    d = {
        "guild_id": guild_id,
        "user": {"id": user_id, "username": member.get("name")},
        "joined_at": iso(at),
        "invite_code": code,
        "daf_index": record.get("index"),
    }
    return Record("GUILD_MEMBER_ADD", d, f"member-join:{guild_id}:{user_id}:{iso(at)}", at)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _wanted(prefix: str) -> bool:
    parts = prefix.split(".")
    if len(parts) == 1:
        return parts[0] in ("name", "id", "type")
    if parts[0] == "invite_tracking":
        return len(parts) == 3 and parts[2] == "item"
    if parts[0] == "message_tracking":
        return (len(parts) == 3 and parts[2] in ("name", "id")) or (
            len(parts) == 4 and parts[2] == "messages" and parts[3] == "item"
        )
    return False


class Reader:
    name = "daf"

    def __init__(self, guild: str | None = None) -> None:
        self.guild = guild

    def files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".csv"))

    def read(self, path: Path, root: Path) -> Iterator[Item]:
        if path.suffix.lower() == ".csv":
            yield from self._read_csv(path)
        else:
            yield from self._read_json(path)

    def _read_json(self, path: Path) -> Iterator[Item]:
        guild: dict[str, Any] = {}
        authors: dict[str, dict[str, Any]] = {}
        number = 0
        for prefix, value in stream_json(path, _wanted):
            parts = prefix.split(".")
            if len(parts) == 1:
                guild[prefix] = value
                continue
            if parts[0] == "message_tracking" and len(parts) == 3:
                authors.setdefault(parts[1], {})[parts[2]] = value
                continue
            number += 1
            if not guild.get("type"):
                raise NotTheFormat("no `type` before the records: not a DAF JSON log")
            if guild.get("type") == "GUILD" and self.guild and not snowflake(guild.get("id")):
                guild["id"] = self.guild
            if not isinstance(value, dict):
                yield Item(number, Skip("DAF record is not a JSON object"))
                continue
            if parts[0] == "invite_tracking":
                yield Item(number, invite_record(parts[1], value, snowflake(guild.get("id"))))
                continue
            author = authors.get(parts[1], {})
            for result in message_records(value, guild, snowflake(parts[1]), author.get("name")):
                yield Item(number, result)
        if not guild.get("type"):
            raise NotTheFormat("no `type`, `invite_tracking` or `message_tracking`: not a DAF JSON log")

    def _read_csv(self, path: Path) -> Iterator[Item]:
        for number, line in numbered_lines(path):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Item(number, Skip("line is not UTF-8"))
                continue
            rows = list(csv.reader(io.StringIO(text), delimiter=";"))
            cells = rows[0] if rows else []
            if len(cells) == len(CSV_COLUMNS) - 1:
                cells = ["", *cells]  # LoggerCSV without its leading index column
            if len(cells) != len(CSV_COLUMNS):
                yield Item(number, Skip(f"DAF CSV line has {len(cells)} columns, not {len(CSV_COLUMNS)}"))
                continue
            row = dict(zip(CSV_COLUMNS, cells, strict=True))
            try:
                sent = json.loads(row["sent_data"]) if row["sent_data"] else None
                channels = json.loads(row["message_channels"]) if row["message_channels"] else {}
                success = json.loads(row["dm_success_info"]) if row["dm_success_info"] else None
                index = int(row["index"])
            except (ValueError, TypeError):
                yield Item(number, Skip("DAF CSV line has a field that is not JSON or an index that is not a number"))
                continue
            guild = {"type": row["guild_type"], "id": row["guild_id"] or self.guild, "name": row["guild_name"]}
            message = {
                "timestamp": row["timestamp"],
                "index": index,
                "type": row["message_type"],
                "mode": row["message_mode"] or None,
                "sent_data": sent,
                "channels": channels,
                "success_info": success,
            }
            for result in message_records(message, guild, snowflake(row["author_id"]), row["author_name"]):
                yield Item(number, result)
