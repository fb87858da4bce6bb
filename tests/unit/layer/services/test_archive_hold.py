"""ArchiveWriter's hold (a quiet stack's lines wait on the queue as one message) and its tombstones."""

from __future__ import annotations

import json
import random

from guildlog.services.archive_batches import MAX_MESSAGE_BYTES, ArchiveWriter, Hold, decode
from tests.unit.layer.services.test_archive_batches import FakeQueue, queued
from tests.unit.layer.services.test_ingest import GUILD, USER, FakeArchive, FakeStore, body, message, run

HOLD_S = 3600.0
T0 = 1_780_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def handed_off(*contents: str, first_seq: int = 1) -> list[str]:
    """What ingest queued for one batch per content (message creates of USER in GUILD), in order."""
    ingestor, _, queue = queued()
    for n, content in enumerate(contents):
        seq = first_seq + n
        run(ingestor, body(message(seq, "2026-03-07T12:00:00+00:00", content=content), batch_id=f"s1-0-{seq}-{seq}"))
    return queue.bodies


def holding(clock: Clock, requeue: FakeQueue | None = None) -> tuple[ArchiveWriter, FakeArchive, FakeQueue]:
    archive, queue = FakeArchive(), requeue or FakeQueue()
    return ArchiveWriter(archive, hold=Hold(HOLD_S, queue.send, clock), counters=FakeStore().put_items), archive, queue


def records(bodies: list[str], prefix: str = "m") -> list[tuple[str, str]]:
    return [(f"{prefix}{n}", text) for n, text in enumerate(bodies)]


def contents(archive: FakeArchive) -> list[str]:
    return sorted(line["content"] for line in archive.lines("events/"))


def test_archive_hold_queues_a_quiet_window_again_as_one_message_when_its_lines_are_young() -> None:
    clock = Clock()
    writer, archive, queue = holding(clock)
    window = records(handed_off("one", "two", "three"))

    report = writer.write(window, {record_id: T0 - 120 for record_id, _ in window})

    assert (report.held, report.failed, report.objects, archive.puts) == (3, [], 0, 0)
    [held] = queue.bodies
    batch = decode(held)
    assert batch.held_since == int(T0 - 120)
    assert sorted(json.loads(line)["content"] for d in batch.days.values() for line in d.events) == [
        "one",
        "three",
        "two",
    ]


def test_archive_hold_carries_the_oldest_time_along_when_the_next_window_takes_the_held_message() -> None:
    clock = Clock()
    writer, archive, queue = holding(clock)
    writer.write(records(handed_off("one")), {"m0": T0})
    clock.now = T0 + 300

    report = writer.write([("h", queue.bodies[-1]), *records(handed_off("two", first_seq=5), "n")], {"h": T0 + 5})

    assert report.held == 2 and archive.puts == 0
    assert decode(queue.bodies[-1]).held_since == int(T0)


def test_archive_hold_writes_every_line_once_when_the_oldest_has_waited_the_hold() -> None:
    clock = Clock()
    writer, archive, queue = holding(clock)
    writer.write(records(handed_off("one", "two")), {"m0": T0, "m1": T0})
    clock.now = T0 + HOLD_S

    report = writer.write([("h", queue.bodies[-1]), *records(handed_off("three", first_seq=7), "n")])

    assert report.held == 0 and report.failed == []
    assert contents(archive) == ["one", "three", "two"]
    assert sorted(key.split("/")[0] for key in archive.objects) == ["events", "events_csv", "raw"]
    assert len(queue.bodies) == 1  # nothing queued again


def test_archive_hold_writes_at_once_when_the_window_would_not_fit_one_message() -> None:
    writer, archive, queue = holding(Clock())
    rng = random.Random(5)
    # Texts that hardly compress (2,000 random hex digits each): together they outgrow one message.
    bodies = handed_off(*(rng.randbytes(1000).hex() for _ in range(150)))
    assert sum(len(b) for b in bodies) > MAX_MESSAGE_BYTES

    report = writer.write(records(bodies), {f"m{n}": T0 for n in range(len(bodies))})

    assert report.held == 0 and queue.bodies == []
    assert len(contents(archive)) == 150


def test_archive_hold_writes_the_window_when_sqs_refuses_the_held_message() -> None:
    refusing = FakeQueue()
    refusing.refuse = True
    writer, archive, _ = holding(Clock(), refusing)

    report = writer.write(records(handed_off("one")), {"m0": T0})

    assert report.held == 0 and contents(archive) == ["one"]


def test_archive_hold_reports_a_malformed_record_and_holds_the_rest_when_they_share_a_window() -> None:
    writer, archive, queue = holding(Clock())

    report = writer.write([*records(handed_off("one")), ("bad", "{not json")], {"m0": T0})

    assert report.held == 1 and report.failed == ["bad"] and archive.puts == 0 and len(queue.bodies) == 1


def test_archive_writer_writes_every_window_when_the_hold_is_zero() -> None:
    archive, queue = FakeArchive(), FakeQueue()

    ArchiveWriter(archive, hold=Hold(0, queue.send, Clock()), counters=FakeStore().put_items).write(
        records(handed_off("one")), {"m0": T0}
    )

    assert contents(archive) == ["one"] and queue.bodies == []


def test_archive_writer_redacts_an_erased_members_lines_when_they_were_queued_before_the_erasure() -> None:
    other_guild = "100000000000000077"
    asked: list[set[str]] = []

    def tombstones(guilds: set[str]) -> dict[str, frozenset[str]]:
        asked.append(guilds)
        return {GUILD: frozenset({USER})}

    mine = handed_off("my secret")
    ingestor, _, queue = queued()
    run(ingestor, body(message(9, "2026-03-07T12:00:00+00:00", content="elsewhere", guild_id=other_guild)))
    archive = FakeArchive()

    report = ArchiveWriter(archive, tombstones=tombstones, counters=FakeStore().put_items).write(
        records([*mine, *queue.bodies])
    )

    assert "my secret" not in "".join(archive.objects.values())  # raw, events and the CSV made from them
    rows = {row["guild_id"]: row for row in archive.lines("events/")}
    assert rows[GUILD]["content"] is None and rows[GUILD]["user_name"] is None
    assert rows[other_guild]["content"] == "elsewhere"  # the same member where they were not erased
    assert asked == [{GUILD, other_guild}]
    assert report.redacted == 2  # the raw line and the row
