"""Runs one import: reader → deterministic batches → sink, with a checkpoint after every batch.

A batch never spans two files and is cut at the same records every run (a count, or a size in
bytes), and its id is the hash of its events' ids: a run resumed from the checkpoint sends exactly
the batches a run straight through sends, so both leave the same rows and the same objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guildlog_tools.importers.checkpoint import Checkpoint, State
from guildlog_tools.importers.core import NotTheFormat, Reader, Record, Skip
from guildlog_tools.importers.sink import Sink, batch_id, envelope_body
from guildlog_tools.importers.summary import Summary

BATCH_EVENTS = 500
# Well under the webhook's 6 MiB body limit, with room for the envelope.
BATCH_BYTES = 2 * 1024 * 1024


@dataclass
class _Batch:
    events: list[dict[str, Any]]
    size: int = 0


def run_import(
    reader: Reader,
    root: Path,
    sink: Sink,
    *,
    checkpoint: Checkpoint | None = None,
    progress: Any = None,
    batch_events: int = BATCH_EVENTS,
    batch_bytes: int = BATCH_BYTES,
) -> Summary:
    """Import everything under `root` (a folder, or one file) and return the summary.

    With a checkpoint, files and items already sent are not read again, and the checkpoint is
    removed once the import is complete. An exception from the sink leaves the checkpoint at the
    last acknowledged batch and propagates."""
    from guildlog_tools.importers.progress import NoProgress

    progress = progress or NoProgress()
    state = checkpoint.load() if checkpoint else State("")
    summary = Summary.from_json(state.counts)
    base = root if root.is_dir() else root.parent
    try:
        for path in reader.files(root):
            rel = path.relative_to(base).as_posix()
            size = path.stat().st_size
            if state.done.get(rel) == size:
                continue
            start = state.position if state.current == rel else 0
            _import_file(
                reader, path, root, rel, start, sink, state, summary, checkpoint, progress, batch_events, batch_bytes
            )
            summary.files += 1
            state.done[rel] = size
            state.current, state.position = None, 0
            _save(checkpoint, state, summary)
    finally:
        progress.close()
    if checkpoint:
        checkpoint.clear()
    return summary


def _import_file(
    reader: Reader,
    path: Path,
    root: Path,
    rel: str,
    start: int,
    sink: Sink,
    state: State,
    summary: Summary,
    checkpoint: Checkpoint | None,
    progress: Any,
    batch_events: int,
    batch_bytes: int,
) -> None:
    batch = _Batch([])
    position = 0
    state.current = rel

    def flush() -> None:
        if not batch.events:
            return
        ident = batch_id(batch.events)
        counts = sink.send(ident, envelope_body(ident, batch.events))
        summary.imported += counts.accepted
        summary.duplicates += counts.duplicates
        summary.quarantined += counts.quarantined
        summary.batches += 1
        progress.update(len(batch.events), summary)
        batch.events.clear()
        batch.size = 0
        state.position = position
        _save(checkpoint, state, summary)

    try:
        for item in reader.read(path, root):
            position += 1
            if position <= start:
                continue
            value = item.value
            if isinstance(value, Skip):
                summary.skip(value.reason, f"{rel}:{item.line}", value.detail)
                continue
            event = _event(value)
            size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str))
            if batch.events and batch.size + size > batch_bytes:
                flush()
            batch.events.append(event)
            batch.size += size
            summary.read += 1
            if len(batch.events) >= batch_events:
                flush()
    except NotTheFormat as exc:
        summary.skip("file is not in this format", rel, str(exc))
    flush()


def _event(record: Record) -> dict[str, Any]:
    return record.event()


def _save(checkpoint: Checkpoint | None, state: State, summary: Summary) -> None:
    if checkpoint is None:
        return
    state.counts = summary.as_json()
    checkpoint.save(state)
