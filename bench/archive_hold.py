"""ArchiveFunction's hold, measured: a quiet server's batches go through the real Ingestor (in memory) onto
a recorded ArchiveQueue, and the real ArchiveWriter (with `Hold`) takes them in 5-minute windows on a
simulated clock, as Lambda's event source would. Counted: S3 PUTs, the held messages it queues again,
and the SQS requests of every window, per day. No AWS emulation and no sleeping: the clock is simulated."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.synthetic import gateway_events

WINDOW_S = 300  # template.yaml: ArchiveFunction's MaximumBatchingWindowInSeconds
SQS_CHUNK = 65_536  # SQS bills a request per 64 KB of payload


@dataclass(frozen=True)
class HoldDay:
    """One simulated day of ArchiveFunction at a server's rate, per day."""

    invocations: float
    puts: float
    # SQS requests ArchiveFunction causes: receives and deletes of every window, and held messages sent.
    sqs_requests: float
    held_sends: float
    # Every accepted event's archive line written exactly once by the end (checked, not assumed).
    events_written: int
    events_accepted: int


class _Recorder:
    """ArchiveQueue and the S3 archive in one: bodies with the simulated time they were sent; PUT keys."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str]] = []
        self.puts: list[str] = []
        self.event_lines = 0

    def send(self, body: str) -> None:
        self.sent.append((self.clock[0], body))

    def put(self, key: str, text: str) -> None:
        self.puts.append(key)
        if key.startswith("events/"):
            self.event_lines += text.count("\n")


def simulate(per_day: int, batch_size: int, hold_minutes: int, hours: float = 24.0, seed: int = 17) -> HoldDay:
    """`hours` of a one-guild server sending `per_day` events a day in batches of `batch_size`, spread
    evenly; the windows after the last batch run until everything is written. Scaled to a day."""
    from bench.ingest import _envelopes, _MemoryStore
    from guildlog.services.archive_batches import ArchiveWriter, Hold
    from guildlog.services.ingest import Ingestor

    count = max(batch_size, round(per_day * hours / 24))
    events = gateway_events(count, seed=seed, guilds=1)
    clock = [0.0]
    queue, archive = _Recorder(clock), _Recorder(clock)
    store = _MemoryStore()
    ingestor = Ingestor(archive, store, archive_queue=queue)
    # Small batches' counter deltas ride their messages: the writer puts their windows in the same store.
    writer = ArchiveWriter(
        archive, hold=Hold(hold_minutes * 60.0, queue.send, lambda: clock[0]), counters=store.put_items
    )
    gap = 86_400 / per_day * batch_size
    pending = [(n * gap, envelope, raw) for n, (envelope, raw) in enumerate(_envelopes(events, batch_size, "hold"))]
    invocations = sqs = held = 0
    taken = 0
    window_end = float(WINDOW_S)
    # Until every batch is ingested and nothing is left on the queue (windows without a record invoke nothing).
    while pending or taken < len(queue.sent):
        while pending and pending[0][0] < window_end:
            at, envelope, raw = pending.pop(0)
            clock[0] = at
            ingestor.ingest(envelope, raw)
        clock[0] = window_end
        window = queue.sent[taken:]
        taken = len(queue.sent)
        if window:
            records = [(f"r{taken}-{n}", body) for n, (_, body) in enumerate(window)]
            sent_at = {record_id: at for (record_id, _), (at, _) in zip(records, window, strict=True)}
            before = len(queue.sent)
            report = writer.write(records, sent_at)
            assert not report.failed, report
            invocations += 1
            size = sum(len(body) for _, body in window)
            sqs += max(math.ceil(len(window) / 10), math.ceil(size / SQS_CHUNK)) + math.ceil(len(window) / 10)
            for _, body in queue.sent[before:]:
                held += 1
                sqs += math.ceil(len(body) / SQS_CHUNK)
            taken = before  # what the writer queued again comes round in the next window
        window_end += WINDOW_S
    scale = 24 / hours
    return HoldDay(
        invocations=invocations * scale,
        puts=len(archive.puts) * scale,
        sqs_requests=sqs * scale,
        held_sends=held * scale,
        events_written=archive.event_lines,
        events_accepted=count,
    )


def compare(per_day: int, batch_size: int, holds: tuple[int, ...] = (0, 60)) -> dict[int, HoldDay]:
    """Both holds side by side, printed; the days by hold minutes."""
    days = {minutes: simulate(per_day, batch_size, minutes) for minutes in holds}
    for minutes, day in days.items():
        print(
            f"  hold {minutes:>2} min: {day.invocations:6.0f} invocations, {day.puts:5.0f} S3 PUTs,"
            f" {day.held_sends:5.0f} held messages, {day.sqs_requests:6.0f} ArchiveFunction SQS requests a day;"
            f" {day.events_written}/{day.events_accepted} events written"
        )
    return days


def report() -> None:
    print("== archive hold: a quiet server (10,000 events a day, one guild, batches of 1), a simulated day ==")
    compare(10_000, 1)


if __name__ == "__main__":
    report()
