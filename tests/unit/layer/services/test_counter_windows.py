"""A small batch's counter deltas ride its archive hand-off (services/counter_windows.py): ingest, the
archive writer and `hot_items.fold` together, over in-memory fakes."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.errors import StorageError
from guildlog.services import counter_windows
from guildlog.services.archive_batches import ArchiveWriter, Hold, decode
from guildlog.services.counter_windows import CounterDelta, window_entries, window_items
from guildlog.services.hot_items import fold
from tests.unit.layer.services.test_archive_batches import FakeQueue, queued
from tests.unit.layer.services.test_ingest import GUILD, FakeArchive, FakeStore, body, make, message, run

DAY_PK = f"G#{GUILD}#D#2026-03-08"
AT = "2026-03-08T12:00:00.000Z"


def batch(first: int, count: int, batch_id: str | None = None) -> dict[str, Any]:
    events = [message(first + n, AT) for n in range(count)]
    return body(*events, batch_id=batch_id or f"s1-0-{first}-{first + count - 1}")


def own_deltas(store: FakeStore) -> list[tuple[str, str]]:
    return sorted(key for key, item in store.items.items() if item.get("kind") == "counter_delta")


def windows(store: FakeStore) -> list[dict[str, Any]]:
    return [item for item in store.items.values() if item.get("kind") == counter_windows.KIND]


def test_a_small_batch_writes_no_delta_of_its_own_and_its_window_gives_the_same_counters() -> None:
    ingestor, _, queue = queued()
    run(ingestor, batch(1, 3))
    run(ingestor, batch(4, 2))
    plain, _, direct_store = make()
    run(plain, batch(1, 3))
    run(plain, batch(4, 2))
    assert own_deltas(ingestor.store) == []  # type: ignore[arg-type]

    ArchiveWriter(FakeArchive(), counters=ingestor.store.put_items).write(queue.records())

    [window] = windows(ingestor.store)  # type: ignore[arg-type]
    assert window["PK"] == DAY_PK and set(window_entries(window)) == {"s1-0-1-3", "s1-0-4-5"}
    assert ingestor.store.counters == direct_store.counters  # type: ignore[attr-defined]
    assert ingestor.store.counters[DAY_PK]["messages"] == 5  # type: ignore[attr-defined]


def test_a_batch_of_ride_max_rows_writes_its_own_delta_and_its_message_carries_none() -> None:
    ingestor, _, queue = queued()

    run(ingestor, batch(1, counter_windows.RIDE_MAX_ROWS))

    assert own_deltas(ingestor.store) == [(DAY_PK, "B#s1-0-1-50")]  # type: ignore[arg-type]
    assert decode(queue.bodies[0]).counters == ()


def test_counters_count_a_batch_once_when_its_message_is_written_in_two_windows() -> None:
    ingestor, _, queue = queued()
    run(ingestor, batch(1, 3))
    run(ingestor, batch(4, 1))
    writer = ArchiveWriter(FakeArchive(), counters=ingestor.store.put_items)

    writer.write(queue.records())
    writer.write([("again", queue.bodies[0])])  # SQS delivers the first message once more, alone

    assert len(windows(ingestor.store)) == 2  # type: ignore[arg-type]
    assert ingestor.store.counters[DAY_PK]["messages"] == 4  # type: ignore[attr-defined]


def test_counters_take_the_later_smaller_delta_when_a_retried_batch_lost_an_event_to_a_replay() -> None:
    store = FakeStore()
    ingestor, _, queue = queued(store)
    store.fail_next_put_after = 0
    with pytest.raises(StorageError):
        run(ingestor, batch(1, 3))  # queued with three events counted, then nothing stored
    run(ingestor, batch(3, 1, batch_id="s2-0-3-3"))  # a replay stores and counts the third event
    run(ingestor, batch(1, 3))  # the relay's retry: two events of its own left to count

    ArchiveWriter(FakeArchive(), counters=store.put_items).write(queue.records())

    assert store.counters[DAY_PK]["messages"] == 3
    assert [decode(b).counters[0].counts["messages"] for b in queue.bodies] == [3, 1, 2]


def test_a_retry_that_finds_its_rows_stored_writes_its_own_delta_and_fold_keeps_one() -> None:
    store = FakeStore()
    ingestor, _, queue = queued(store)
    store.fail_next_put_after = 1  # the first feed item stored, then a failure
    with pytest.raises(StorageError):
        run(ingestor, batch(1, 3))

    run(ingestor, batch(1, 3))  # queued before: no second message, the delta is written here
    ArchiveWriter(FakeArchive(), counters=store.put_items).write(queue.records())

    assert len(queue.bodies) == 1 and own_deltas(store) == [(DAY_PK, "B#s1-0-1-3")]
    assert store.counters[DAY_PK]["messages"] == 3


def test_the_writer_fails_every_record_and_writes_nothing_when_the_counters_cannot_be_written() -> None:
    ingestor, _, queue = queued()
    run(ingestor, batch(1, 2))
    archive = FakeArchive()
    refused = FakeStore()
    refused.fail_next_put_after = 0
    errors: list[str] = []

    report = ArchiveWriter(archive, on_error=lambda where, exc: errors.append(where), counters=refused.put_items).write(
        queue.records()
    )

    assert (report.failed, archive.objects, errors) == (["m0"], {}, ["counters"])


def test_the_writer_fails_a_window_with_counters_when_it_has_no_table_to_write_them_to() -> None:
    ingestor, _, queue = queued()
    run(ingestor, batch(1, 2))

    report = ArchiveWriter(FakeArchive()).write(queue.records())

    assert report.failed == ["m0"]


def test_a_held_window_writes_its_counters_at_once_and_requeues_its_lines_without_them() -> None:
    ingestor, _, queue = queued()
    run(ingestor, batch(1, 2))
    requeued = FakeQueue()
    store = FakeStore()
    now = 1_780_000_000.0
    writer = ArchiveWriter(FakeArchive(), hold=Hold(3600.0, requeued.send, lambda: now), counters=store.put_items)

    report = writer.write(queue.records(), {"m0": now})
    writer.write(requeued.records(), {"m0": now})  # the held message comes round, still young

    assert report.held == 1 and decode(requeued.bodies[0]).counters == ()
    assert store.counters[DAY_PK]["messages"] == 2


def test_window_items_are_the_same_items_for_the_same_entries_in_any_order() -> None:
    entries = [
        (f"b{n}", CounterDelta(pk=DAY_PK, expires_at=100 + n, counts={"k#message": 1, f"u#{n}": 1})) for n in range(5)
    ]

    assert window_items(entries) == window_items(list(reversed(entries)))
    [item] = window_items(entries)
    assert item["expires_at"] == 104
    assert window_entries(item)["b3"] == {"k#message": 1, "u#3": 1}


def test_window_items_split_a_window_when_it_would_pass_the_size_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counter_windows, "MAX_WINDOW_BYTES", 200)
    entries = [(f"batch-{n:03d}", CounterDelta(pk=DAY_PK, expires_at=1, counts={f"u#{n}": 1})) for n in range(40)]

    items = window_items(entries)

    assert len(items) > 1 and len({i["SK"] for i in items}) == len(items)
    assert all(len(i["batches"]) < 400 for i in items)
    assert fold(items) == {f"u#{n}": 1 for n in range(40)}


def test_fold_counts_a_batch_once_when_its_own_item_and_a_window_both_hold_it() -> None:
    own = {"PK": DAY_PK, "SK": "B#b1", "kind": "counter_delta", "k#message": 2, "messages": 2, "expires_at": 9}
    leaves = {"PK": DAY_PK, "SK": "B#b1#leaves", "kind": "counter_delta", "leaves": -1, "expires_at": 9}
    [window] = window_items(
        [
            ("b1", CounterDelta(pk=DAY_PK, expires_at=9, counts={"k#message": 3, "messages": 3})),
            ("b2", CounterDelta(pk=DAY_PK, expires_at=9, counts={"k#member": 1, "joins": 1})),
        ]
    )

    assert fold([own, leaves, window]) == {"k#message": 2, "messages": 2, "leaves": -1, "k#member": 1, "joins": 1}


def test_window_entries_are_empty_when_the_item_cannot_be_read() -> None:
    assert window_entries({"SK": "W#x", "batches": "{not json"}) == {}
    assert window_entries({"SK": "W#x", "batches": '{"names":[],"batches":{"b":[0,1]}}'}) == {}


def test_counter_delta_refuses_a_key_outside_the_day_counters() -> None:
    with pytest.raises(ValueError):
        CounterDelta(pk=f"G#{GUILD}#ERASE", expires_at=1, counts={})


def test_riding_leaves_a_batch_its_own_delta_item_when_a_key_is_not_a_day_counter() -> None:
    deltas = {DAY_PK: (1, {"k#message": 1})}

    assert counter_windows.riding(deltas, 1) == [CounterDelta(pk=DAY_PK, expires_at=1, counts={"k#message": 1})]
    assert counter_windows.riding(deltas, counter_windows.RIDE_MAX_ROWS) is None
    assert counter_windows.riding({"G#-#D#2026-03-08": (1, {"k#message": 1})}, 1) is None
    assert counter_windows.riding({}, 1) is None
