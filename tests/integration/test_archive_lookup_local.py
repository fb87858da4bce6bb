"""`/logs message`'s archive look-up on DuckDB over moto's S3: what it finds and which partitions it reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guildlog.queries import BoundQuery
from guildlog.queries.result import QueryResult
from guildlog.services.archive_lookup import ArchiveLookup
from guildlog_tools.local.query_engine import LocalQueryEngine
from tests.fakes import archive_data as data
from tests.integration.s3_server import S3Server, sample_archive_server

pytestmark = pytest.mark.integration

BUCKET = "lookup-archive"


class Recording:
    """The local engine, keeping each statement's result (objects read) for the pruning assertions."""

    def __init__(self, engine: LocalQueryEngine) -> None:
        self.engine = engine
        self.results: list[QueryResult] = []

    def run_bound(self, bound: BoundQuery) -> QueryResult:
        result = self.engine.run_bound(bound)
        self.results.append(result)
        return result


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with sample_archive_server(BUCKET) as s3_server:
        yield s3_server


@pytest.fixture(scope="module")
def engine(server: S3Server) -> Iterator[LocalQueryEngine]:
    with LocalQueryEngine(endpoint_url=server.endpoint_url, bucket=BUCKET) as local:
        yield local


@pytest.fixture
def recording(engine: LocalQueryEngine) -> Recording:
    return Recording(engine)


def objects_of(server: S3Server, days: list[str]) -> set[str]:
    wanted = {f"events/year={d[:4]}/month={d[5:7]}/day={d[8:]}/" for d in days}
    return {key for key in server.sizes(BUCKET, "events/") if key.rsplit("/", 1)[0] + "/" in wanted}


def test_archive_lookup_finds_every_version_and_the_deletion_when_the_message_is_archived(
    recording: Recording,
) -> None:
    found = ArchiveLookup(recording).find(data.GUILD, data.M1)

    assert [(v["version"], v["content"]) for v in found.versions] == [
        ("create", "hello"),
        ("edit", "hello, world"),
        ("edit", "hello, world!"),
    ]
    assert found.deletion is not None and found.deletion["deleted_at"] == "2026-11-20T00:30:00.000Z"
    assert (found.versions[0]["user_id"], found.versions[0]["channel_id"]) == (data.ALICE, data.GENERAL)


def test_archive_lookup_finds_a_bulk_deletion_when_the_message_was_bulk_deleted(recording: Recording) -> None:
    found = ArchiveLookup(recording).find(data.GUILD, data.M5)

    assert found.deletion is not None and found.deletion["bulk"] is True


def test_archive_lookup_reads_only_the_message_day_and_the_next_when_it_queries(
    recording: Recording, server: S3Server
) -> None:
    ArchiveLookup(recording).find(data.GUILD, data.M1)

    expected = objects_of(server, ["2026-11-19", "2026-11-20"])
    assert recording.results[0].objects_read == len(expected)
    assert recording.results[0].objects_read < len(server.sizes(BUCKET, "events/"))


def test_archive_lookup_misses_a_deletion_two_days_later_when_it_prunes_to_two_days(recording: Recording) -> None:
    # M0 was written on the 18th and deleted on the 20th: the look-up reads the 18th and the 19th.
    found = ArchiveLookup(recording).find(data.GUILD, data.M0)

    assert [v["content"] for v in found.versions] == ["old news"]
    assert found.deletion is None
    assert found.days == "2026-11-18 and 2026-11-19"


def test_archive_lookup_counts_the_server_events_when_the_message_is_not_archived(recording: Recording) -> None:
    unknown = data.snowflake("2026-11-19T12:00:00.000Z", 9)

    found = ArchiveLookup(recording).find(data.GUILD, unknown)

    assert not found.found
    assert found.server_events is not None and found.server_events > 0


def test_archive_lookup_counts_no_server_events_when_nothing_was_archived_those_days(recording: Recording) -> None:
    before = data.snowflake("2026-10-01T12:00:00.000Z", 9)

    found = ArchiveLookup(recording).find(data.GUILD, before)

    assert (found.found, found.server_events) == (False, 0)


def test_archive_lookup_finds_nothing_when_the_message_is_in_another_guild(recording: Recording) -> None:
    found = ArchiveLookup(recording).find(data.GUILD, data.M7)

    assert not found.found
