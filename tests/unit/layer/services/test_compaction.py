"""guildlog.services.compaction over an in-memory bucket with S3's conditional-write rules."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date

import pytest

from guildlog.models.envelope import BATCH_ID_PATTERN
from guildlog.services.compaction import (
    CSV_HEADER,
    CompactionResult,
    Compactor,
    ConcurrentWriteError,
    StoredObject,
    is_batch_object,
    merged_key,
)
from guildlog.services.partition import object_key, partition_prefix
from guildlog.services.retention import RetentionRules

DAY = date(2026, 11, 20)
_VERSIONS = itertools.count(1)


class MemoryBucket:
    """Objects by key with ETags; writes honour If-Match / If-None-Match like S3. Logs every operation."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, str]] = {}  # key -> (etag, text)
        self.log: list[tuple[str, str]] = []
        self.before_write: Callable[[], None] | None = None
        self.fail_delete_once = False
        self.nights: dict[str, date | None] = {}

    def retention_night(self, obj: StoredObject) -> date | None:
        self.log.append(("head", obj.key))
        return self.nights.get(obj.key)

    def put(self, key: str, text: str) -> None:
        # ETags unique across every bucket object of the test, like S3's versions of one key.
        self.objects[key] = (f'"v{next(_VERSIONS)}"', text)

    def text(self, key: str) -> str:
        return self.objects[key][1]

    # CompactionStore
    def list(self, prefix: str) -> list[StoredObject]:
        self.log.append(("list", prefix))
        return [
            StoredObject(key, etag, len(gzip.compress(text.encode())))
            for key, (etag, text) in sorted(self.objects.items())
            if key.startswith(prefix)
        ]

    def read_texts(self, objects: list[StoredObject]) -> Iterator[str]:
        for obj in objects:
            self.log.append(("read", obj.key))
            etag, text = self.objects[obj.key]
            if etag != obj.etag:
                raise ConcurrentWriteError("changed", key=obj.key)
            yield text

    def write_merged(
        self, key: str, chunks: Iterable[str], *, replaces: StoredObject | None, night: date | None = None
    ) -> int:
        text = "".join(chunks)
        if self.before_write:
            hook, self.before_write = self.before_write, None
            hook()
        current = self.objects.get(key)
        if (replaces is None and current is not None) or (
            replaces is not None and (current or ("",))[0] != replaces.etag
        ):
            self.log.append(("write-refused", key))
            raise ConcurrentWriteError("condition failed", key=key)
        self.put(key, text)
        self.nights[key] = night
        self.log.append(("write", key))
        return len(gzip.compress(text.encode()))

    def delete(self, keys: list[str]) -> None:
        if self.fail_delete_once:
            self.fail_delete_once = False
            raise RuntimeError("the function was stopped here")
        for key in keys:
            self.log.append(("delete", key))
            self.objects.pop(key, None)


def event_line(event_id: str, **fields: object) -> str:
    return json.dumps({"event_id": event_id, **fields}, separators=(",", ":"))


def jsonl(*ids: str) -> str:
    return "".join(event_line(i, n=i) + "\n" for i in ids)


def csv_text(*ids: str) -> str:
    return CSV_HEADER + "\r\n" + "".join(f'"{i}","b","gateway"\r\n' for i in ids)


def ids_in(text: str) -> list[str]:
    return [json.loads(line)["event_id"] for line in text.splitlines() if line]


@pytest.fixture
def bucket() -> MemoryBucket:
    store = MemoryBucket()
    store.put(object_key("events", DAY, "batch-a"), jsonl("e1", "e2"))
    store.put(object_key("events", DAY, "batch-b"), jsonl("e2", "e3"))  # e2 delivered twice
    store.put(object_key("events", DAY, "batch-c"), jsonl("e4"))
    return store


def compact(bucket: MemoryBucket, dataset: str = "events") -> CompactionResult:
    return Compactor(bucket).compact(dataset, DAY)


def test_compactor_merges_a_days_batches_into_one_object_when_run(bucket: MemoryBucket) -> None:
    result = compact(bucket)

    assert result.state == "compacted"
    assert list(bucket.objects) == [merged_key("events", DAY)]
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e1", "e2", "e3", "e4"]
    assert (result.inputs, result.lines_in, result.lines_out, result.duplicates, result.deleted) == (3, 5, 4, 1, 3)


def test_compactor_keeps_the_first_copy_when_an_event_id_repeats(bucket: MemoryBucket) -> None:
    compact(bucket)

    lines = [json.loads(line) for line in bucket.text(merged_key("events", DAY)).splitlines()]
    assert [line["n"] for line in lines] == ["e1", "e2", "e3", "e4"]


def test_compactor_writes_the_merged_object_before_deleting_any_input_when_compacting(bucket: MemoryBucket) -> None:
    compact(bucket)

    operations = [op for op, _ in bucket.log if op in ("write", "delete")]
    assert operations == ["write", "delete", "delete", "delete"]


def test_compactor_finishes_the_job_when_rerun_after_a_crash_between_write_and_delete(bucket: MemoryBucket) -> None:
    bucket.fail_delete_once = True
    with pytest.raises(RuntimeError):
        compact(bucket)
    assert len(bucket.objects) == 4  # merged + every input: duplicates for now, nothing lost

    result = compact(bucket)

    assert result.state == "compacted"
    assert list(bucket.objects) == [merged_key("events", DAY)]
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e1", "e2", "e3", "e4"]


def test_compactor_does_nothing_when_rerun_on_a_compacted_day(bucket: MemoryBucket) -> None:
    compact(bucket)
    before = dict(bucket.objects)
    bucket.log.clear()

    result = compact(bucket)

    assert result.state == "nothing_to_do"
    assert bucket.objects == before
    assert [op for op, _ in bucket.log] == ["list"]


def test_compactor_folds_a_late_batch_into_the_merged_object_when_it_arrives_after_compaction(
    bucket: MemoryBucket,
) -> None:
    compact(bucket)
    bucket.put(object_key("events", DAY, "batch-late"), jsonl("e3", "e5"))

    result = compact(bucket)

    assert result.state == "compacted"
    assert list(bucket.objects) == [merged_key("events", DAY)]
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e1", "e2", "e3", "e4", "e5"]


def test_compactor_deletes_nothing_when_another_run_replaces_the_merged_object_first(bucket: MemoryBucket) -> None:
    compact(bucket)
    bucket.put(object_key("events", DAY, "batch-late"), jsonl("e5"))
    rival = MemoryBucket()  # the other run, over the same objects
    rival.objects = bucket.objects
    # Between this run's listing and its write, the other run compacts and a new batch lands.
    bucket.before_write = lambda: (
        Compactor(rival).compact("events", DAY),
        bucket.put(object_key("events", DAY, "batch-later"), jsonl("e6")),
    )

    result = compact(bucket)

    assert result.state == "lost_race"
    assert ("delete", object_key("events", DAY, "batch-later")) not in bucket.log
    assert compact(bucket).state == "compacted"
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e1", "e2", "e3", "e4", "e5", "e6"]


def test_compactor_loses_cleanly_when_two_first_runs_race_to_create_the_merged_object(bucket: MemoryBucket) -> None:
    rival = MemoryBucket()
    rival.objects = bucket.objects
    bucket.before_write = lambda: Compactor(rival).compact("events", DAY)

    result = compact(bucket)

    assert result.state == "lost_race"
    assert list(bucket.objects) == [merged_key("events", DAY)]
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e1", "e2", "e3", "e4"]


def test_compactor_leaves_other_objects_alone_when_they_are_not_batch_objects(bucket: MemoryBucket) -> None:
    stray = partition_prefix("events", DAY) + "notes.txt"
    bucket.put(stray, "keep me")

    compact(bucket)

    assert set(bucket.objects) == {merged_key("events", DAY), stray}


def test_compactor_writes_the_csv_header_once_when_merging_csv_objects() -> None:
    bucket = MemoryBucket()
    bucket.put(object_key("events_csv", DAY, "batch-a"), csv_text("e1", "e2"))
    bucket.put(object_key("events_csv", DAY, "batch-b"), csv_text("e2", "e3"))

    result = compact(bucket, "events_csv")

    assert bucket.text(merged_key("events_csv", DAY)) == csv_text("e1", "e2", "e3")
    assert result.duplicates == 1


def test_compactor_refuses_the_partition_when_a_csv_object_has_another_header() -> None:
    bucket = MemoryBucket()
    bucket.put(object_key("events_csv", DAY, "batch-a"), csv_text("e1"))
    bucket.put(object_key("events_csv", DAY, "batch-b"), '"event_id","x"\r\n"e2","y"\r\n')

    result = compact(bucket, "events_csv")

    assert result.state == "refused"
    assert "another CSV header" in result.reason
    assert merged_key("events_csv", DAY) not in bucket.objects and len(bucket.objects) == 2


def test_compactor_pads_older_rows_with_empty_cells_when_a_csv_object_predates_the_last_columns() -> None:
    older_header = CSV_HEADER.rsplit(",", 1)[0]
    bucket = MemoryBucket()
    bucket.put(object_key("events_csv", DAY, "batch-a"), older_header + '\r\n"e1","b"\r\n')
    bucket.put(object_key("events_csv", DAY, "batch-b"), csv_text("e2"))

    result = compact(bucket, "events_csv")

    assert result.state == "compacted"
    lines = bucket.text(merged_key("events_csv", DAY)).split("\r\n")
    assert lines[:3] == [CSV_HEADER, '"e1","b",""', '"e2","b","gateway"']


@pytest.mark.parametrize("dataset", ["raw", "events", "events_csv", "quarantine"])
def test_merged_key_is_never_a_batch_object_when_named_for_any_dataset(dataset: str) -> None:
    key = merged_key(dataset, DAY)
    name = key.rsplit("/", 1)[1]

    assert key.startswith(partition_prefix(dataset, DAY))
    assert not is_batch_object(dataset, key, partition_prefix(dataset, DAY))
    assert not name.startswith(("_", "."))  # Athena skips such files as hidden
    assert "~" not in BATCH_ID_PATTERN


def test_is_batch_object_accepts_every_batch_key_when_the_ingest_path_wrote_it() -> None:
    for batch_id in ("b", "relay-0.17_3", "A" * 128):
        key = object_key("raw", DAY, batch_id)
        assert is_batch_object("raw", key, partition_prefix("raw", DAY))


# --- archive retention ---


def _retention(guild_days: dict[str, int], today_offset: int) -> RetentionRules:
    from datetime import timedelta

    from guildlog.services.retention import GuildRetention

    guilds = {g: GuildRetention(days) for g, days in guild_days.items()}
    return RetentionRules(today=DAY + timedelta(days=today_offset), max_days=3650, default_days=365, guilds=guilds)


def _guild_lines(*pairs: tuple[str, str]) -> str:
    return "".join(event_line(i, guild_id=g) + "\n" for i, g in pairs)


def test_compactor_rewrites_no_object_when_a_past_day_holds_nothing_expired() -> None:
    bucket = MemoryBucket()
    bucket.put(merged_key("events", DAY), _guild_lines(("e1", "900000000000000002")))

    result = Compactor(bucket).compact("events", DAY, _retention({"900000000000000001": 7}, 10))

    assert result.state == "nothing_to_do"
    assert [op for op, _ in bucket.log] == ["list", "head", "read"]


def test_compactor_reads_no_past_day_when_it_was_rewritten_since_it_last_expired() -> None:
    bucket = MemoryBucket()
    bucket.put(merged_key("events", DAY), _guild_lines(("e1", "900000000000000001"), ("e2", "900000000000000002")))
    assert Compactor(bucket).compact("events", DAY, _retention({"900000000000000001": 7}, 8)).expired == 1
    bucket.log.clear()

    result = Compactor(bucket).compact("events", DAY, _retention({"900000000000000001": 7}, 10))

    assert result.state == "nothing_to_do"
    assert [op for op, _ in bucket.log] == ["list", "head"]


def test_compactor_drops_only_the_expired_guilds_lines_when_a_past_day_is_visited() -> None:
    bucket = MemoryBucket()
    bucket.put(merged_key("events", DAY), _guild_lines(("e1", "900000000000000001"), ("e2", "900000000000000002")))

    result = Compactor(bucket).compact("events", DAY, _retention({"900000000000000001": 7}, 10))

    assert (result.state, result.expired) == ("compacted", 1)
    assert ids_in(bucket.text(merged_key("events", DAY))) == ["e2"]


def test_compactor_deletes_the_days_objects_when_every_line_expired() -> None:
    bucket = MemoryBucket()
    bucket.put(merged_key("events", DAY), _guild_lines(("e1", "900000000000000001")))
    bucket.put(object_key("events", DAY, "late"), _guild_lines(("e2", "900000000000000001")))

    result = Compactor(bucket).compact("events", DAY, _retention({"900000000000000001": 7}, 10))

    assert (result.state, result.expired) == ("emptied", 2)
    assert bucket.objects == {}
