"""The local stack's Athena API through boto3's own Athena client: the calls the functions make (in the
protocol botocore speaks) run on DuckDB over moto's S3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import boto3
import pytest

from guildlog.adapters.athena import AthenaQueryRunner
from guildlog.adapters.s3_archive import S3Archive
from guildlog.services.erasure.archive_query import ArchiveMemberQueries
from guildlog_tools.local.athena_api import LocalAthenaServer
from tests.fakes import archive_data as data
from tests.integration.s3_server import CREDENTIALS, REGION, moto_s3_server

pytestmark = pytest.mark.integration

BUCKET = "athena-api-archive"


@pytest.fixture(scope="module")
def queries() -> Iterator[ArchiveMemberQueries]:
    with moto_s3_server() as server:
        server.create_bucket(BUCKET)
        data.ingest(S3Archive(BUCKET, server.s3))
        api = LocalAthenaServer.on_bucket(server.endpoint_url, BUCKET, REGION)
        api.serve_in_thread()
        try:
            client = boto3.session.Session().client("athena", endpoint_url=api.url, region_name=REGION, **CREDENTIALS)
            yield ArchiveMemberQueries(AthenaQueryRunner("guildlog", "guildlog_archive", client, sleep=lambda _: None))
        finally:
            api.stop()


def test_athena_api_answers_the_member_days_query_when_called_through_boto3(queries: ArchiveMemberQueries) -> None:
    days = queries.member_days(data.GUILD, data.ALICE)

    assert days == [date.fromisoformat(day) for day in data.DAYS]


def test_athena_api_returns_the_execution_id_and_counts_when_the_verification_runs(
    queries: ArchiveMemberQueries,
) -> None:
    check = queries.verify(data.GUILD, data.ALICE)

    assert check.query_id and check.found > 0  # nothing erased yet: the member's rows still hold their words
    assert set(check.left) == {"events", "events_csv"} and check.left["events"] == check.left["events_csv"]
