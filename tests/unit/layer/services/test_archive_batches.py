"""guildlog.services.archive_batches and ingest's hand-off to it, over in-memory fakes."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.errors import StorageError
from guildlog.services import archive_batches
from guildlog.services.archive_batches import ArchiveWriter, decode, group_name
from guildlog.services.ingest import ConfigCache, Ingestor
from tests.unit.layer.services.test_ingest import NOW, FakeArchive, FakeStore, body, message, run


class FakeQueue:
    """The hand-off port: message bodies in order; `refuse` makes every send fail as SQS would."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.refuse = False

    def send(self, text: str) -> None:
        if self.refuse:
            raise StorageError("SQS refused the archive hand-off")
        self.bodies.append(text)

    def records(self, start: int = 0) -> list[tuple[str, str]]:
        return [(f"m{n}", text) for n, text in enumerate(self.bodies) if n >= start]


class FailingArchive(FakeArchive):
    """Refuses every put under one key prefix."""

    def __init__(self, refused_prefix: str) -> None:
        super().__init__()
        self.refused_prefix = refused_prefix

    def put(self, key: str, text: str) -> None:
        if key.startswith(self.refused_prefix):
            raise StorageError("S3 refused an archive object", key=key)
        super().put(key, text)


def queued(store: FakeStore | None = None) -> tuple[Ingestor, FakeArchive, FakeQueue]:
    archive, queue = FakeArchive(), FakeQueue()
    ingestor = Ingestor(
        archive,
        store or FakeStore(),
        clock=lambda: NOW,
        config_cache=ConfigCache(ttl_seconds=0),
        archive_queue=queue,
    )
    return ingestor, archive, queue


def direct() -> tuple[Ingestor, FakeArchive]:
    archive = FakeArchive()
    return Ingestor(archive, FakeStore(), clock=lambda: NOW, config_cache=ConfigCache(ttl_seconds=0)), archive


def two_day_batch(batch_id: str = "s1-0-1-9", first_seq: int = 1) -> dict[str, Any]:
    return body(
        message(first_seq, "2026-03-07T23:59:59.000Z", content="before midnight"),
        message(first_seq + 1, "2026-03-08T00:00:01.000Z", content="after, with a line\nbreak"),
        {"t": "MESSAGE_CREATE", "seq": first_seq + 2, "received_at": "2026-03-08T00:00:02.000Z", "d": {"id": "x"}},
        batch_id=batch_id,
    )


def test_archive_writer_writes_the_objects_ingest_would_have_written_when_a_batch_comes_alone() -> None:
    ingestor, _, queue = queued()
    run(ingestor, two_day_batch())
    written = FakeArchive()

    report = ArchiveWriter(written, counters=ingestor.store.put_items).write(queue.records())

    plain, expected = direct()
    run(plain, two_day_batch())
    assert report.failed == []
    assert written.objects == expected.objects
    assert {key.split("/")[0] for key in written.objects} == {"raw", "events", "events_csv", "quarantine"}


def test_ingest_writes_no_archive_object_when_the_batch_is_queued() -> None:
    ingestor, archive, queue = queued()

    result = run(ingestor, two_day_batch())

    assert (archive.objects, len(queue.bodies), result.objects) == ({}, 1, 0)
    assert decode(queue.bodies[0]).batch_id == "s1-0-1-9"


def test_archive_writer_writes_one_object_per_dataset_and_day_when_many_batches_come_together() -> None:
    ingestor, _, queue = queued()
    for n in range(5):
        run(ingestor, body(message(10 + n, "2026-03-08T00:00:01.000Z", message_id=10 + n), batch_id=f"s1-0-{n}-{n}"))
    written = FakeArchive()

    report = ArchiveWriter(written, counters=ingestor.store.put_items).write(queue.records())

    assert (report.batches, report.objects, report.failed) == (5, 3, [])
    assert len(written.lines("raw/")) == 5
    name = group_name([f"s1-0-{n}-{n}" for n in range(5)])
    assert sorted(written.objects) == [
        f"events/year=2026/month=03/day=08/{name}.jsonl.gz",
        f"events_csv/year=2026/month=03/day=08/{name}.csv.gz",
        f"raw/year=2026/month=03/day=08/{name}.jsonl.gz",
    ]


def test_archive_writer_rewrites_the_same_objects_when_its_batch_of_messages_is_retried() -> None:
    ingestor, _, queue = queued()
    for n in range(3):
        run(ingestor, two_day_batch(batch_id=f"s1-0-{n}", first_seq=10 * n + 1))
    written = FakeArchive()
    ArchiveWriter(written, counters=ingestor.store.put_items).write(queue.records())
    first = dict(written.objects)

    # Lambda delivers the same messages again, in another order and under other receipt ids.
    report = ArchiveWriter(written, counters=ingestor.store.put_items).write(
        [(f"again-{i}", text) for i, text in reversed(queue.records())]
    )

    assert report.failed == []
    assert written.objects == first


def test_archive_writer_writes_a_batch_once_when_ingest_queued_it_twice() -> None:
    ingestor, _, queue = queued()
    run(ingestor, two_day_batch())
    queue.bodies.append(queue.bodies[0])  # the relay's retry, queued again by another container
    written = FakeArchive()

    report = ArchiveWriter(written, counters=ingestor.store.put_items).write(queue.records())

    assert (report.batches, report.failed) == (1, [])
    ids = [line["event_id"] for line in written.lines("raw/")]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 3


def test_ingest_queues_no_second_copy_when_a_retried_batch_finds_its_rows_stored() -> None:
    ingestor, _, queue = queued()
    run(ingestor, two_day_batch())

    result = run(ingestor, two_day_batch())  # the answer was lost; the relay sends the batch again

    assert len(queue.bodies) == 1
    assert result.duplicates == 2


def test_ingest_queues_the_batch_again_when_the_first_attempt_stored_none_of_its_rows() -> None:
    store = FakeStore()
    store.fail_next_put_after = 0
    ingestor, _, queue = queued(store)
    with pytest.raises(StorageError):
        run(ingestor, two_day_batch())

    run(ingestor, two_day_batch())

    assert len(queue.bodies) == 2
    assert queue.bodies[0] == queue.bodies[1]


def test_ingest_writes_the_batch_directly_when_the_queue_refuses() -> None:
    ingestor, archive, queue = queued()
    queue.refuse = True

    result = run(ingestor, two_day_batch())

    plain, expected = direct()
    run(plain, two_day_batch())
    assert queue.bodies == []
    assert result.objects == len(expected.objects)
    assert archive.objects == expected.objects


def test_ingest_writes_the_batch_directly_when_its_message_would_be_over_the_queue_limit() -> None:
    ingestor, archive, queue = queued()
    words = [f"word{n:06d}" for n in range(60_000)]  # random-looking enough not to gzip below the limit
    big = body(*(message(n + 1, "2026-03-08T00:00:01.000Z", content=" ".join(words[n::40])) for n in range(40)))

    run(ingestor, big)

    assert queue.bodies == []
    assert {key.split("/")[0] for key in archive.objects} == {"raw", "events", "events_csv"}


def test_archive_writer_reports_only_the_records_of_a_refused_object_when_a_put_fails() -> None:
    ingestor, _, queue = queued()
    run(ingestor, body(message(1, "2026-03-07T12:00:00.000Z"), batch_id="day-7"))
    run(ingestor, body(message(2, "2026-03-08T12:00:00.000Z"), batch_id="day-8"))
    written = FailingArchive("events_csv/year=2026/month=03/day=08/")

    report = ArchiveWriter(written, counters=ingestor.store.put_items).write(queue.records())

    assert report.failed == ["m1"]
    assert any(key.startswith("raw/year=2026/month=03/day=07/day-7") for key in written.objects)


def test_archive_writer_reports_a_record_failed_when_its_body_is_not_an_archive_message() -> None:
    ingestor, _, queue = queued()
    run(ingestor, two_day_batch())
    records = [*queue.records(), ("bad", '{"v":1,"kind":"archive_batch","batch_id":"b","gz":"not base64!"}')]
    errors: list[str] = []

    report = ArchiveWriter(
        FakeArchive(), on_error=lambda where, exc: errors.append(where), counters=ingestor.store.put_items
    ).write(records)

    assert (report.failed, report.malformed, errors) == (["bad"], ["bad"], ["bad"])
    assert report.batches == 1


def test_is_archive_message_tells_a_hand_off_from_other_bodies_when_asked() -> None:
    ingestor, _, queue = queued()
    run(ingestor, two_day_batch())

    assert archive_batches.is_archive_message(queue.bodies[0])
    assert not archive_batches.is_archive_message('{"requestContext": {}}')
    assert not archive_batches.is_archive_message("not json")


def test_group_name_is_the_batch_id_when_one_batch_makes_the_object() -> None:
    assert group_name(["s1-0-1-9", "s1-0-1-9"]) == "s1-0-1-9"
    assert group_name(["b", "a"]) == group_name(["a", "b"]) != group_name(["a", "c"])
