"""A small batch's counter deltas ride its archive hand-off; ArchiveFunction writes a window of them at once.

Every batch adds to its guild's daily counters with a delta item of its own (`G#<guild>#D#<day>` /
`B#<batch>`, services/hot_items.py). For a quiet server's batch of a few events that item is a
write unit per batch, about a third of a unit per event. A batch of fewer than `RIDE_MAX_ROWS` rows
that hands its archive lines to ArchiveQueue puts its deltas in the same message instead
(`CounterDelta`, no request more), and ArchiveFunction writes the deltas of every message of its
window as one item per guild and day (`window_items`): `W#<digest of the batch ids>`, the batches'
deltas inside, each under its batch id. The numbers are the same; they appear when the window is
written (ArchiveFunction's batching window, five minutes at most) rather than with the batch.

Exactly once, as before: a day's counters take one delta per batch id (`hot_items.fold`). A message
delivered twice, or a batch's delta both in a window and in its own item, is the same batch id. When
two differ (a batch retried after another batch stored some of its events), the one counting fewer
events is the later and right one: a batch counts only the rows no other batch has stored, and
other batches only ever store more.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guildlog.services import keys

# Batches with at least this many rows write their own delta item: at that size it costs a fiftieth
# of a unit per event or less, and their counters appear at once.
RIDE_MAX_ROWS = 50
# The `batches` text of one window item stays under this (DynamoDB's item limit is 400 KB).
MAX_WINDOW_BYTES = 60_000
WINDOW_PREFIX = "W#"
KIND = "counter_window"
# `G#<guild>#D#<yyyy-mm-dd>`: the only keys a hand-off's deltas may name (ArchiveFunction may write
# nothing else; template.yaml holds it to these keys too).
DAY_PK_PATTERN = r"^G#[0-9]{1,25}#D#[0-9]{4}-[0-9]{2}-[0-9]{2}$"

Item = dict[str, Any]


class CounterDelta(BaseModel):
    """One guild-day's numbers of a batch, as the hand-off message carries them."""

    model_config = ConfigDict(extra="forbid")

    pk: str = Field(pattern=DAY_PK_PATTERN)
    expires_at: int = Field(ge=0)
    counts: dict[str, int]


def riding(deltas: dict[str, tuple[int, dict[str, int]]], rows: int) -> list[CounterDelta] | None:
    """A batch's deltas (`hot_items.counter_deltas`) as its hand-off carries them, or None when the batch
    writes its own delta item: `rows` at RIDE_MAX_ROWS or more, or a key ArchiveFunction may not write."""
    if not deltas or rows >= RIDE_MAX_ROWS:
        return None
    try:
        return [CounterDelta(pk=pk, expires_at=ttl, counts=counts) for pk, (ttl, counts) in deltas.items()]
    except ValidationError:
        return None


def window_items(entries: list[tuple[str, CounterDelta]]) -> list[Item]:
    """(batch id, delta) → the window's items: per guild-day key, the batches in id order, as many
    items as keep each under MAX_WINDOW_BYTES. The same entries always give the same items (a retried
    window rewrites its own); of two entries for one batch and key, the one counting fewer events."""
    by_pk: dict[str, dict[str, CounterDelta]] = {}
    for batch_id, delta in entries:
        same = by_pk.setdefault(delta.pk, {})
        if batch_id not in same or events_counted(delta.counts) < events_counted(same[batch_id].counts):
            same[batch_id] = delta
    items: list[Item] = []
    for pk in sorted(by_pk):
        chunk: list[tuple[str, CounterDelta]] = []
        size = 0
        for batch_id in sorted(by_pk[pk]):
            delta = by_pk[pk][batch_id]
            cost = len(batch_id) + sum(len(name) + 8 for name in delta.counts)
            if chunk and size + cost > MAX_WINDOW_BYTES:
                items.append(_item(pk, chunk))
                chunk, size = [], 0
            chunk.append((batch_id, delta))
            size += cost
        if chunk:
            items.append(_item(pk, chunk))
    return items


def _item(pk: str, chunk: list[tuple[str, CounterDelta]]) -> Item:
    names = sorted({name for _, delta in chunk for name in delta.counts})
    index = {name: n for n, name in enumerate(names)}
    batches = {
        batch_id: [value for name, count in sorted(delta.counts.items()) for value in (index[name], count)]
        for batch_id, delta in chunk
    }
    digest = hashlib.sha256("\n".join(batch_id for batch_id, _ in chunk).encode()).hexdigest()[:32]
    return {
        "PK": pk,
        "SK": WINDOW_PREFIX + digest,
        "kind": KIND,
        # Names once, then per batch (name index, count) pairs: names repeat across a window's batches.
        "batches": json.dumps({"names": names, "batches": batches}, separators=(",", ":")),
        "expires_at": max(delta.expires_at for _, delta in chunk),
    }


def is_window(item: Item) -> bool:
    return str(item.get("SK", "")).startswith(WINDOW_PREFIX)


def window_entries(item: Item) -> dict[str, dict[str, int]]:
    """batch id → its counts, from a window item (nothing from one that cannot be read)."""
    try:
        document = json.loads(str(item.get("batches") or ""))
        names = document["names"]
        entries: dict[str, dict[str, int]] = {}
        for batch_id, pairs in document["batches"].items():
            entries[str(batch_id)] = {str(names[pairs[i]]): int(pairs[i + 1]) for i in range(0, len(pairs), 2)}
        return entries
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return {}


def events_counted(counts: dict[str, int]) -> int:
    """The events a delta counts: every row adds one to its category (`k#<category>`)."""
    return sum(value for name, value in counts.items() if name.startswith("k#"))


def delta_batch(sk: str) -> str | None:
    """The batch of a delta item's own numbers (`B#<batch>`, or a continuation `B#<batch>#<n>`); None
    for anything else (the `#unrecorded` and `#leaves` items, added on their own, and older items)."""
    if not sk.startswith(keys.DELTA_PREFIX):
        return None
    batch_id, _, part = sk[len(keys.DELTA_PREFIX) :].partition("#")
    return batch_id if not part or part.isdigit() else None
