"""The disk spool: a persistent FIFO of sealed batches in `<state-dir>/spool/`.

Every batch is written here (tmp file, fsync, rename, fsync of the directory) before its first
POST and removed only after the webhook answered 200, so a batch the source handed over survives
the webhook being down and the process being killed. Only names and a little metadata are kept in
memory: during an outage the batches sit on disk, not in RAM.

File names order the queue: `<16-digit counter>[.<half>…]_<batch_id>.json[.gz]`. A batch split after
a 413 is replaced by its halves `….1` and `….2`, which sort exactly where the parent was. The file
content is the batch as it is POSTed: the envelope body, gzipped (`.json.gz`) when the webhook gets
it gzipped, so a batch is serialized and compressed once, and what is on disk is what was signed.
Batches that must not be retried go to `<state-dir>/rejected/` with a `.reason.json` beside them:
nothing is silently dropped.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import threading
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guildlog.errors import RelayError
from guildlog.models.envelope import Envelope
from guildlog.services.timefmt import iso, utcnow
from guildlog_relay.batcher import Batch, batch_id_prefix
from guildlog_relay.events import HEARTBEAT, Shard, dumps

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"
REJECTED_DIR = "rejected"
_NAME = re.compile(
    r"^(?P<key>[0-9]{16}(?:\.[12])*)_(?P<batch_id>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})(?P<suffix>\.json(?:\.gz)?)$"
)
_JSON, _GZIP = ".json", ".json.gz"
# The payloads of the oldest queued batches this process wrote stay in memory up to this many bytes,
# so that the sender does not read back what was just written; past it, batches wait on disk only.
HELD_BYTES = 2 * 1024 * 1024
_TMP_SUFFIX = ".tmp"


class SpoolCorruptError(RelayError):
    """A spool file that cannot be read back as the envelope it was written as."""


@dataclass(frozen=True)
class SpoolEntry:
    """One queued batch: its place in the queue, its id and what checkpointing needs to know."""

    key: tuple[int, ...]
    batch_id: str
    path: Path
    # Known for batches spooled by this process; None for files found on start (read on load).
    meta: BatchMeta | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def gzipped(self) -> bool:
        """The file holds the body gzipped (`.json.gz`), as the webhook gets it."""
        return self.path.name.endswith(_GZIP)

    @property
    def stem(self) -> str:
        """The name without `.json` or `.json.gz`."""
        return self.path.name.removesuffix(_GZIP if self.gzipped else _JSON)


@dataclass(frozen=True)
class BatchMeta:
    session_id: str | None
    shard: Shard | None
    count: int
    first_seq: int | None
    last_seq: int | None
    gateway: bool
    last_received_at: str | None = None

    @classmethod
    def of(cls, batch: Batch) -> BatchMeta:
        return cls(
            batch.session_id,
            batch.shard,
            len(batch.events),
            batch.first_seq,
            batch.last_seq,
            batch.gateway,
            batch.last_received_at,
        )


@dataclass(frozen=True)
class LoadedBatch:
    """A spooled batch read back for sending: the file's bytes (the payload as POSTed) and metadata."""

    entry: SpoolEntry
    data: bytes
    meta: BatchMeta

    @cached_property
    def body(self) -> bytes:
        """The envelope JSON (inflated, for a gzipped file)."""
        return _inflate(self.data, self.entry) if self.entry.gzipped else self.data


class Spool:
    """The queue. Thread-safe: the asyncio relay appends from one thread while another sends."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)
        self.dir = self.state_dir / SPOOL_DIR
        self.rejected_dir = self.state_dir / REJECTED_DIR
        for folder in (self.state_dir, self.dir, self.rejected_dir):
            # Batches hold message content: only the relay's user may read them.
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, ...], SpoolEntry] = {}
        self._held: dict[tuple[int, ...], bytes] = {}  # see HELD_BYTES
        self._held_size = 0
        self._recover()
        self._counter = max((k[0] for k in self._entries), default=0)

    def _recover(self) -> None:
        for path in self.dir.iterdir():
            if path.name.endswith(_TMP_SUFFIX):
                # Never renamed into place: its batch was never handed over, so its source still has it.
                path.unlink(missing_ok=True)
                continue
            match = _NAME.match(path.name)
            if not match:
                log.warning("ignoring unexpected file in spool", extra={"file": path.name})
                continue
            key = tuple(int(part) for part in match["key"].split("."))
            self._entries[key] = SpoolEntry(key=key, batch_id=match["batch_id"], path=path)
        if self._entries:
            log.info("spool has pending batches", extra={"pending": len(self._entries)})

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def pending(self) -> list[SpoolEntry]:
        """Queued entries, oldest first."""
        with self._lock:
            return [self._entries[k] for k in sorted(self._entries)]

    def peek(self) -> SpoolEntry | None:
        """The oldest queued entry, or None when the spool is empty."""
        with self._lock:
            return self._entries[min(self._entries)] if self._entries else None

    def put(self, batch: Batch, payload: bytes | None = None, *, gzipped: bool = False) -> SpoolEntry:
        """Append `batch`, durably, at the end of the queue: `payload` is what the webhook gets,
        `batch.body()` gzipped when `gzipped` (the body itself when no payload is given)."""
        with self._lock:
            self._counter += 1
            key: tuple[int, ...] = (self._counter,)
        return self._write(key, batch, payload, gzipped)

    def replace(
        self, entry: SpoolEntry, halves: list[Batch], payloads: list[bytes] | None = None, *, gzipped: bool = False
    ) -> list[SpoolEntry]:
        """Put `halves` (with `payloads`, as for `put`) where `entry` was (after a 413), then drop `entry`.

        The halves are durable before the parent goes: a crash in between sends the parent again,
        which splits again into the same halves.
        """
        written = [
            self._write((*entry.key, i), half, payloads[i - 1] if payloads else None, gzipped)
            for i, half in enumerate(halves, start=1)
        ]
        self.remove(entry)
        return written

    def _write(self, key: tuple[int, ...], batch: Batch, payload: bytes | None, gzipped: bool) -> SpoolEntry:
        if payload is None:
            payload, gzipped = batch.body(), False
        name = ".".join(f"{part:016d}" if i == 0 else str(part) for i, part in enumerate(key))
        path = self.dir / f"{name}_{batch.batch_id}{_GZIP if gzipped else _JSON}"
        write_atomic(path, payload)
        entry = SpoolEntry(key=key, batch_id=batch.batch_id, path=path, meta=BatchMeta.of(batch))
        with self._lock:
            self._entries[key] = entry
            if self._held_size + len(payload) <= HELD_BYTES:
                self._held[key] = payload
                self._held_size += len(payload)
        return entry

    def _forget(self, key: tuple[int, ...]) -> None:
        """Off the queue (call with the lock held)."""
        self._entries.pop(key, None)
        held = self._held.pop(key, None)
        if held is not None:
            self._held_size -= len(held)

    def load(self, entry: SpoolEntry) -> LoadedBatch:
        """Read `entry` back. A file found on start is validated as an envelope first.

        Raises SpoolCorruptError when it cannot be (truncated, edited, another protocol).
        """
        with self._lock:
            held = self._held.get(entry.key)
        try:
            data = held if held is not None else entry.path.read_bytes()
        except OSError as exc:
            raise SpoolCorruptError(f"cannot read spool file: {exc.strerror}", file=entry.name) from None
        loaded = LoadedBatch(entry, data, entry.meta) if entry.meta is not None else None
        if loaded is None:
            body = _inflate(data, entry) if entry.gzipped else data
            loaded = LoadedBatch(entry, data, read_meta(body, entry))
            loaded.__dict__["body"] = body  # LoadedBatch.body, already inflated
        return loaded

    def newest_of_session(self, session_id: str, shard: Shard | None) -> BatchMeta | None:
        """The newest spooled gateway batch of `session_id` on `shard`: the highest seq the spool
        holds for that session (the relay resumes after it, not after its checkpoint, so Discord
        does not send again what is already on disk). Found by batch id, then read."""
        prefix = batch_id_prefix(session_id, shard)
        for entry in reversed(self.pending()):
            if not entry.batch_id.startswith(prefix):
                continue
            try:
                meta = entry.meta or self.load(entry).meta
            except SpoolCorruptError:
                continue
            if meta.gateway and meta.session_id == session_id and meta.last_seq is not None:
                return meta
        return None

    def deliver(self, entry: SpoolEntry) -> None:
        """Take `entry` off the queue (acknowledged) but keep its file until `remove`.

        Until then the file still counts for `newest_of_session` after a restart, which also sends
        it again: the same batch_id and bytes, which the webhook recognises.
        """
        with self._lock:
            self._forget(entry.key)

    def remove(self, entry: SpoolEntry) -> None:
        """Drop `entry` (acknowledged, or replaced by its halves)."""
        entry.path.unlink(missing_ok=True)
        with self._lock:
            self._forget(entry.key)

    def reject(self, entry: SpoolEntry, reason: dict[str, Any]) -> Path:
        """Move `entry` to `rejected/` with `reason` beside it; return where it went."""
        with self._lock:
            suffix = _GZIP if entry.gzipped else _JSON
            target = _free_name(self.rejected_dir, entry.stem, suffix)
            if entry.path.exists():
                os.replace(entry.path, target)
            self._forget(entry.key)
        record = {"batch_id": entry.batch_id, "rejected_at": iso(utcnow()), "spool_file": entry.name, **reason}
        write_atomic(target.with_name(target.name.removesuffix(suffix) + ".reason.json"), dumps(record) + b"\n")
        _fsync_dir(self.dir)
        return target


def read_meta(body: bytes, entry: SpoolEntry) -> BatchMeta:
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise SpoolCorruptError(f"not a valid envelope ({where}: {first.get('type')})", file=entry.name) from None
    if envelope.batch_id != entry.batch_id:
        raise SpoolCorruptError("batch_id inside does not match the file name", file=entry.name)
    events = envelope.events
    dispatches = [e for e in events if e.source == "gateway"]
    # As the batcher seals them: gateway events, each with its seq, and at most heartbeats besides.
    gateway = (
        bool(dispatches)
        and all(e.seq is not None for e in dispatches)
        and all(e.source == "gateway" or (e.source == "relay" and e.t == HEARTBEAT) for e in events)
    )
    numbered = [e for e in (dispatches if gateway else events) if e.seq is not None]
    seqs = [e.seq for e in numbered if e.seq is not None]
    last = max(numbered, key=lambda e: e.seq or 0, default=None)
    return BatchMeta(
        session_id=envelope.relay.session_id,
        shard=envelope.relay.shard,
        count=len(events),
        first_seq=min(seqs) if seqs else None,
        last_seq=max(seqs) if seqs else None,
        gateway=gateway,
        last_received_at=iso(last.received_at) if last is not None else None,
    )


def split_body(body: bytes) -> list[tuple[bytes, int | None]]:
    """The events of an envelope body, each re-serialized, with its seq: the input of make_batch."""
    events = json.loads(body)["events"]
    return [(dumps(e), e.get("seq")) for e in events]


def last_received_at(events: list[tuple[bytes, int | None]]) -> str | None:
    """received_at of the event with the highest seq among split_body's output."""
    numbered = [(seq, data) for data, seq in events if seq is not None]
    if not numbered:
        return None
    value = json.loads(max(numbered, key=lambda pair: pair[0])[1]).get("received_at")
    return value if isinstance(value, str) else None


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` so that `path` holds either nothing or all of it, and survives a power cut."""
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the directory entry is; not every platform can open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidate = folder / f"{stem}{suffix}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}.{n}{suffix}"
    return candidate


def _inflate(data: bytes, entry: SpoolEntry) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SpoolCorruptError(f"not a readable gzip file ({type(exc).__name__})", file=entry.name) from None
