"""The replay source: a recorded gateway session, one JSON frame per line, through the pipeline.

Each line is a gateway frame as Discord sent it, `{"op":0,"t":…,"s":…,"d":…}`, optionally with
the `received_at` it was first received (ISO-8601 or unix seconds). Dispatches (op 0) become
events with `d` untouched; other ops are counted and skipped; blank lines are skipped. A malformed
line stops the read with an error naming `file:line`; the events before it are still delivered.

The session id is the one the recording's READY announced. Before any READY (or when there is
none) it is `replay-<hash of the file>`, so replaying the same file again gives the same event ids
and batch ids: ingest recognises the events and S3 objects are rewritten, not added.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guildlog.errors import RelayError
from guildlog.models.envelope import ACCEPTED_FROM, ACCEPTED_UNTIL, EVENT_TYPE_PATTERN
from guildlog.services.timefmt import utcnow
from guildlog_relay.events import DEFAULT_SHARD, RelayEvent, Shard
from guildlog_relay.pipeline import DeliveryError, Pipeline, RelayStats

DISPATCH = 0  # the only gateway opcode that carries an event; the others are connection upkeep
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_MAX_SESSION_ID = 128  # the envelope's limit
# received_at outside the years the webhook accepts is a broken recording, not a real receipt time.
_EARLIEST = ACCEPTED_FROM.timestamp()
_LATEST = ACCEPTED_UNTIL.timestamp()


class ReplayFormatError(RelayError):
    """A line of the recording is not a gateway frame the relay can forward."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}", file=str(path), line=line, reason=reason)
        self.line = line
        self.reason = reason


def file_session_id(path: Path) -> str:
    """`replay-<hash>`: the session id of events recorded without a READY before them."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"replay-{digest.hexdigest()[:24]}"


def count_frames(path: Path | str) -> int | None:
    """How many frames (non-blank lines) the recording holds, for a progress total; None when it
    cannot be read (the replay itself then says why)."""
    try:
        with Path(path).open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


class ReplaySource:
    """Iterate a recording as RelayEvents; counts go to `stats` (frames, dispatches, skipped ops)."""

    def __init__(
        self,
        path: Path | str,
        *,
        shard: Shard = DEFAULT_SHARD,
        stats: RelayStats | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.path = Path(path)
        self.shard = shard
        self.stats = stats or RelayStats()
        self.clock = clock
        self._file_session: str | None = None

    @property
    def file_session(self) -> str:
        if self._file_session is None:
            self._file_session = file_session_id(self.path)
        return self._file_session

    def __iter__(self) -> Iterator[RelayEvent]:
        session: str | None = None
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
                if not line.strip():
                    continue
                frame = self._frame(line, number)
                self.stats.frames += 1
                op = frame["op"]
                if op != DISPATCH:
                    self.stats.skipped[op] += 1
                    continue
                t, seq, data = self._dispatch_fields(frame, number)
                received_at = self._received_at(frame, number)
                if t == "READY":
                    session = self._ready_session(data, number)
                self.stats.dispatches += 1
                yield RelayEvent(
                    t=t,
                    d=data,
                    received_at=received_at,
                    seq=seq,
                    session_id=session or self.file_session,
                    shard=self.shard,
                )

    def _error(self, number: int, reason: str) -> ReplayFormatError:
        return ReplayFormatError(self.path, number, reason)

    def _frame(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            frame = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
        except UnicodeDecodeError:
            raise self._error(number, "not UTF-8") from None
        except ValueError as exc:
            raise self._error(number, f"not JSON ({exc})") from None
        if not isinstance(frame, dict):
            raise self._error(number, "not a JSON object")
        op = frame.get("op")
        if not isinstance(op, int) or isinstance(op, bool):
            raise self._error(number, "no integer op")
        return frame

    def _dispatch_fields(self, frame: dict[str, Any], number: int) -> tuple[str, int, Any]:
        t = frame.get("t")
        if t is None:
            raise self._error(number, "op 0 frame without t")
        if not isinstance(t, str) or not _EVENT_TYPE.match(t):
            raise self._error(number, "t is not an event name (A-Z, 0-9, _)")
        seq = frame.get("s")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise self._error(number, "op 0 frame without a non-negative integer s")
        return t, seq, frame.get("d")

    def _received_at(self, frame: dict[str, Any], number: int) -> datetime:
        value = frame.get("received_at")
        if value is None:
            return self.clock()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not (math.isfinite(value) and _EARLIEST <= value < _LATEST):
                raise self._error(number, "received_at is not a plausible unix time")
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise self._error(number, "received_at is not ISO-8601 or unix seconds") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            if not _EARLIEST <= parsed.timestamp() < _LATEST:
                raise self._error(number, "received_at is not a plausible time")
            return parsed.astimezone(UTC)
        raise self._error(number, "received_at is not ISO-8601 or unix seconds")

    def _ready_session(self, data: Any, number: int) -> str:
        session = data.get("session_id") if isinstance(data, dict) else None
        if not isinstance(session, str) or not session or len(session) > _MAX_SESSION_ID:
            raise self._error(number, "READY without a session_id (1-128 characters)")
        return session


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; the webhook would refuse the whole batch over one of them.
    raise ValueError(f"{name} is not valid JSON")


@dataclass
class ReplayResult:
    """How a replay ended. `ok` only when every batch was acknowledged and every line was read."""

    stats: RelayStats
    pending: int
    rejected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Stopped by a signal before the end of the recording: what was read is delivered or spooled.
    stopped: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.stopped
            and not self.errors
            and not self.rejected
            and self.pending == 0
            and self.stats.rejected_batches == 0
        )


def run_replay(
    path: Path | str,
    pipeline: Pipeline,
    *,
    shard: Shard = DEFAULT_SHARD,
    stop: threading.Event | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send what an earlier run left in the spool, then the recording at `path`, then report.

    Batch boundaries follow each frame's `received_at` (the batcher's clock here), so the same
    recording always yields the same batches. A batch is posted as soon as it is sealed and the
    next frame is read only once it is acknowledged: the recording is itself the buffer.

    Once `stop` is set, no further frame is read: what was read is sealed, spooled and sent (the
    caller bounds that with `pipeline.poster.stop`), and `stopped` is set on the result. Running
    the same recording again sends the rest; what was delivered counts as duplicates.

    `on_frames(n)` is told each time `n` more frames were read and handed on (a progress display).
    """
    source = ReplaySource(path, shard=shard, stats=pipeline.stats)
    result = ReplayResult(stats=pipeline.stats, pending=0)
    reported = source.stats.frames

    def report() -> None:
        nonlocal reported
        if on_frames is not None and source.stats.frames > reported:
            on_frames(source.stats.frames - reported)
            reported = source.stats.frames

    try:
        result.rejected += pipeline.drain()
        try:
            for event in source:
                if pipeline.submit(event, event.received_at.timestamp()):
                    result.rejected += pipeline.drain()
                report()
                if stop is not None and stop.is_set():
                    result.stopped = True
                    break
            report()  # frames after the last dispatch
        except ReplayFormatError as exc:
            result.errors.append(exc.message)
        pipeline.flush()
        result.rejected += pipeline.drain()
    except DeliveryError as exc:
        result.errors.append(exc.message)
    except OSError as exc:
        result.errors.append(f"{exc.filename or source.path}: {exc.strerror or exc}")
    result.pending = len(pipeline.spool)
    return result
