"""The web viewer's archive queries on DuckDB over moto's S3: what a page past the hot table shows, which
partitions it reads, and the query running in the background behind the local Athena API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import boto3
import pytest

from guildlog.adapters.athena import AthenaQueryRunner
from guildlog.web.archive import feed_query, transcript_from_rows, transcript_query
from guildlog.web.reads import FeedFilters
from guildlog_tools.local.athena_api import LocalAthenaServer
from guildlog_tools.local.query_engine import LocalQueryEngine
from tests.fakes import archive_data as data
from tests.integration.s3_server import CREDENTIALS, REGION, S3Server, sample_archive_server

pytestmark = pytest.mark.integration

BUCKET = "web-archive"
NINETEENTH, TWENTIETH = date(2026, 11, 19), date(2026, 11, 20)


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with sample_archive_server(BUCKET) as s3_server:
        yield s3_server


@pytest.fixture(scope="module")
def engine(server: S3Server) -> Iterator[LocalQueryEngine]:
    with LocalQueryEngine(endpoint_url=server.endpoint_url, bucket=BUCKET) as local:
        yield local


def objects_of(server: S3Server, days: list[str]) -> set[str]:
    wanted = {f"events/year={d[:4]}/month={d[5:7]}/day={d[8:]}/" for d in days}
    return {key for key in server.sizes(BUCKET, "events/") if key.rsplit("/", 1)[0] + "/" in wanted}


def test_archive_transcript_shows_the_channel_of_this_guild_only_when_two_days_are_read(
    engine: LocalQueryEngine, server: S3Server
) -> None:
    result = engine.run_bound(transcript_query(data.GUILD, data.GENERAL, NINETEENTH, TWENTIETH))
    messages, cut = transcript_from_rows(result.records(), data.GENERAL)

    by_id = {m.message_id: m for m in messages}
    assert list(by_id) == [data.M1, data.M2, data.M4, data.M5] and not cut
    assert by_id[data.M1].content == "hello, world!" and [v["content"] for v in by_id[data.M1].versions] == [
        "hello",
        "hello, world",
    ]
    assert by_id[data.M1].deleted_at == "2026-11-20T00:30:00.000Z"
    assert by_id[data.M5].deleted_at == "2026-11-20T01:05:00.000Z"  # bulk-deleted
    assert result.objects_read == len(objects_of(server, ["2026-11-19", "2026-11-20"]))


def test_archive_search_finds_text_in_messages_and_reasons_of_this_guild_when_asked(engine: LocalQueryEngine) -> None:
    bound = feed_query(data.GUILD, FeedFilters(text="SPAM"), NINETEENTH, TWENTIETH)
    rows = engine.run_bound(bound).records()

    assert {(r["category"], r["action"]) for r in rows} >= {("message", "create"), ("moderation", "member_ban_add")}
    assert all("spam" in f"{r['content']} {r['reason']}".lower() for r in rows)
    times = [r["occurred_at"] for r in rows]
    assert times == sorted(times, reverse=True)


def test_archive_feed_keeps_to_the_member_and_the_guild_when_filtered(engine: LocalQueryEngine) -> None:
    bound = feed_query(data.GUILD, FeedFilters(member=data.ALICE, category="message"), NINETEENTH, TWENTIETH)
    rows = engine.run_bound(bound).records()

    assert rows and all(r["user_id"] == data.ALICE and r["category"] == "message" for r in rows)
    assert "elsewhere" not in [r["content"] for r in rows]  # the other guild's message, same channel id
    assert len({r["event_id"] for r in rows}) == len(rows)


def test_local_athena_reports_the_query_running_until_it_is_done_when_started(server: S3Server) -> None:
    athena_api = LocalAthenaServer.on_bucket(server.endpoint_url, BUCKET, REGION)
    athena_api.serve_in_thread()
    try:
        client = boto3.session.Session().client(
            "athena", endpoint_url=athena_api.url, region_name=REGION, **CREDENTIALS
        )
        runner = AthenaQueryRunner("wg", "db", client, first_poll=0.05)
        bound = transcript_query(data.GUILD, data.GENERAL, NINETEENTH, NINETEENTH)
        athena_api.gate.clear()
        execution_id = runner.start(bound.sql, bound.athena_parameters())
        assert runner.state(execution_id) == ("RUNNING", None)
        athena_api.gate.set()
        runner.wait(execution_id)
        columns, rows = runner.fetch(execution_id)
        assert runner.state(execution_id) == ("SUCCEEDED", None)
        assert [r[columns.index("message_id")] for r in rows if r[columns.index("action")] == "create"] == [
            data.M1,
            data.M2,
        ]
    finally:
        athena_api.gate.set()
        athena_api.stop()
