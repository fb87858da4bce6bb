"""What every format shares: the record a reader yields, the reader protocol, and small readers of
gzip'd or plain files, JSON documents (streamed) and times."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from guildlog.models.envelope import accepted_utc
from guildlog.services.timefmt import iso, parse_time

SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
# gzip's two magic bytes: a file is read through gzip by its content, whatever its name says.
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Record:
    """One event for ingest: a dispatch type, Discord-shaped data, the source's natural key (the
    event id is `import:<key>`) and when it was received (the source's capture time, or the
    event's own time when the source kept none)."""

    t: str
    d: dict[str, Any]
    key: str
    at: datetime

    def event(self) -> dict[str, Any]:
        return {"t": self.t, "received_at": iso(self.at), "source": "import", "id": self.key, "d": self.d}


@dataclass(frozen=True)
class Skip:
    """An input the reader could not use, and why (the runner reports it with its path and line)."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Item:
    """What a reader yields: a record or a skip, at a line (line formats) or record number (JSON documents)."""

    line: int
    value: Record | Skip = field(compare=False)


class Reader(Protocol):
    """A source format. `files` lists what to read under a path, in a stable order; `read` yields
    one file's items in file order, the same items every time (resuming counts on it)."""

    name: str

    def files(self, root: Path) -> list[Path]: ...

    def read(self, path: Path, root: Path) -> Iterator[Item]: ...


class NotTheFormat(Exception):
    """A whole file is not what its format reader expects: reported with the path, and skipped."""


def open_binary(path: Path) -> IO[bytes]:
    """`path` opened for reading, through gzip when its content is gzip'd."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line bytes without its end) for each non-blank line, streamed."""
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield number, line


def json_line(line: bytes) -> tuple[Any, str | None]:
    """(the parsed line, None) or (None, why it is not a JSON line)."""
    try:
        return json.loads(line), None
    except UnicodeDecodeError:
        return None, "line is not UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"line is not JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, "line is nested too deeply"


def stream_json(path: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, Any]]:
    """(prefix, value) of every value in the JSON document whose ijson prefix `wanted` accepts
    (`messages.item` is each element of the top-level `messages` array), built one at a time, so
    a multi-GB document is read in constant memory. NotTheFormat when the file is not JSON."""
    import ijson

    builder: Any = None
    depth = 0
    current = ""
    try:
        with open_binary(path) as handle:
            for prefix, event, value in ijson.parse(handle, use_float=True):
                if builder is None:
                    if not wanted(prefix) or event in ("map_key", "end_map", "end_array"):
                        continue
                    if event not in ("start_map", "start_array"):
                        yield prefix, value
                        continue
                    builder, depth, current = ijson.ObjectBuilder(), 0, prefix
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                if depth == 0:
                    yield current, builder.value
                    builder = None
    except ijson.JSONError as exc:
        raise NotTheFormat(f"not a JSON document: {_short(exc)}") from None
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise NotTheFormat(f"cannot be read: {_short(exc)}") from None


def snowflake(value: Any) -> str | None:
    """A snowflake as a string (ints are accepted, as DAF and Discard's metadata write them), else None."""
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, int) else value
    return text if isinstance(text, str) and SNOWFLAKE.match(text) else None


def moment(value: Any) -> datetime | None:
    """An ISO-8601 time (naive means UTC) or a unix time in seconds or milliseconds, as aware UTC;
    None when absent, unreadable or outside the years guildlog accepts."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            found: datetime | None = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        found = parse_time(value)
    if found is None:
        return None
    try:
        return accepted_utc(found)
    except ValueError:
        return None


def message_key(message_id: str, edited: datetime | None = None) -> str:
    """The natural key of a message version, the same in every format, so an overlapping import of
    the same message from another tool changes nothing: `message:<id>` for the message as created,
    `message:<id>:edit:<edited time>` for an edit."""
    return f"message:{message_id}" if edited is None else f"message:{message_id}:edit:{iso(edited)}"


def content_key(prefix: str, value: Any) -> str:
    """A natural key for a record that has no id of its own: its canonical JSON, hashed."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{prefix}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:40]}"


def message_records(data: dict[str, Any], at: datetime | None = None) -> Iterator[Record | Skip]:
    """The records of one Discord-shaped message: MESSAGE_CREATE at its `timestamp`, and, when it
    was edited, MESSAGE_UPDATE at its `edited_timestamp` (the edit keeps its own time and day).

    `at` is when the source received it (None: the message's own time)."""
    message_id = snowflake(data.get("id"))
    if message_id is None:
        yield Skip("message id is not a snowflake", str(data.get("id"))[:40])
        return
    data = {**data, "id": message_id}
    if snowflake(data.get("channel_id")) is None:
        yield Skip("message has no channel id", message_id)
        return
    created = moment(data.get("timestamp"))
    if created is None:
        yield Skip("message has no readable timestamp", message_id)
        return
    edited = moment(data.get("edited_timestamp"))
    yield Record("MESSAGE_CREATE", data, message_key(message_id), at or created)
    if edited is not None:
        yield Record("MESSAGE_UPDATE", data, message_key(message_id, edited), at or edited)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
