"""`guildlog query --local`'s engine: every named query over a history written by the ingest service
into moto's S3, read by DuckDB through httpfs; answers, partition pruning, and the CSV table."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog.adapters.s3_archive import S3Archive
from guildlog.errors import QueryError
from guildlog.models.envelope import Envelope
from guildlog.models.row import ROW_FIELDS
from guildlog.queries import bind, get_named_query, named_queries
from guildlog.queries.result import QueryResult
from guildlog.services.csv_render import unescape_cell
from guildlog_tools.local.query_engine import LocalQueryEngine
from tests.fakes import archive_data as data
from tests.integration.s3_server import S3Server, sample_archive_server

pytestmark = pytest.mark.integration

BUCKET = "query-archive"
TWO_DAYS = {"guild": data.GUILD, "from": "2026-11-19", "to": "2026-11-20"}


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with sample_archive_server(BUCKET) as s3_server:
        yield s3_server


@pytest.fixture(scope="module")
def engine(server: S3Server) -> Iterator[LocalQueryEngine]:
    with LocalQueryEngine(endpoint_url=server.endpoint_url, bucket=BUCKET) as local:
        yield local


def run(engine: LocalQueryEngine, name: str, **extra: str) -> QueryResult:
    return engine.run_bound(bind(get_named_query(name), {**TWO_DAYS, **extra}))


def rows(result: QueryResult) -> list[dict[str, Any]]:
    return result.records()


# --- answers ----------------------------------------------------------------------------------


def test_activity_by_hour_counts_events_per_hour_when_run_over_two_days(engine: LocalQueryEngine) -> None:
    found = [
        (r["event_day"], r["event_hour"], r["events"], r["messages"], r["active_members"])
        for r in rows(run(engine, "activity_by_hour"))
    ]

    assert found == [
        ("2026-11-19", 22, 2, 2, 2),  # m1, m2
        ("2026-11-19", 23, 4, 1, 3),  # m3, the edit, carol joins, /logs recent
        ("2026-11-20", 0, 4, 1, 2),  # the edit, m4, two deletions
        ("2026-11-20", 1, 7, 1, 2),  # m5, bulk delete, 4 audit entries, carol leaves
        ("2026-11-20", 2, 2, 0, 2),  # /logs export, /ping
    ]


def test_top_members_ranks_members_by_messages_when_run_over_two_days(engine: LocalQueryEngine) -> None:
    found = [(r["user_id"], r["user_name"], r["messages"], r["channels"]) for r in rows(run(engine, "top_members"))]

    assert found == [(data.ALICE, "Alice", 2, 2), (data.BOB, "Bob", 2, 1), (data.CAROL, "Carol", 1, 1)]


def test_top_members_counts_one_day_when_a_single_day_is_asked(engine: LocalQueryEngine) -> None:
    result = engine.run_bound(bind(get_named_query("top_members"), {"guild": data.GUILD, "day": "2026-11-21"}))

    assert [(r["user_id"], r["messages"]) for r in rows(result)] == [(data.ALICE, 1)]


def test_top_channels_ranks_channels_by_messages_when_run_over_two_days(engine: LocalQueryEngine) -> None:
    found = [(r["channel_id"], r["messages"], r["members"]) for r in rows(run(engine, "top_channels"))]

    assert found == [(data.GENERAL, 4, 3), (data.RANDOM, 1, 1)]


def test_member_history_lists_writes_and_edits_with_deletions_when_asked_for_a_member(engine: LocalQueryEngine) -> None:
    found = [
        (r["occurred_at"], r["action"], r["message_id"], r["content"], r["deleted_at"])
        for r in rows(run(engine, "member_history", user=data.ALICE))
    ]

    assert found == [
        ("2026-11-19T22:10:00.000Z", "create", data.M1, "hello", "2026-11-20T00:30:00.000Z"),
        ("2026-11-19T23:30:00.000Z", "create", data.M3, "line one\nline two", None),
        ("2026-11-19T23:40:00.000Z", "update", data.M1, "hello, world", "2026-11-20T00:30:00.000Z"),
        ("2026-11-20T00:05:00.000Z", "update", data.M1, "hello, world!", "2026-11-20T00:30:00.000Z"),
    ]


def test_member_history_marks_a_bulk_deletion_when_the_message_went_in_one(engine: LocalQueryEngine) -> None:
    found = [(r["message_id"], r["deleted_at"]) for r in rows(run(engine, "member_history", user=data.BOB))]

    assert found == [(data.M2, None), (data.M5, "2026-11-20T01:05:00.000Z")]


def test_deleted_messages_recovers_the_last_content_when_messages_were_deleted(engine: LocalQueryEngine) -> None:
    found = [
        (r["deleted_at"], r["how"], r["message_id"], r["author_id"], r["content"], r["versions"])
        for r in rows(run(engine, "deleted_messages"))
    ]

    assert found == [
        ("2026-11-20T00:30:00.000Z", "delete", data.M1, data.ALICE, "hello, world!", 3),
        # Written on the 18th, before the asked days: found through the lookback.
        ("2026-11-20T00:31:00.000Z", "delete", data.M0, data.ALICE, "old news", 1),
        ("2026-11-20T01:05:00.000Z", "bulk_delete", data.M5, data.BOB, "spam spam", 1),
    ]


def test_deleted_messages_leaves_the_content_empty_when_the_lookback_misses_it(engine: LocalQueryEngine) -> None:
    result = run(engine, "deleted_messages", lookback_from="2026-11-19")

    by_id = {r["message_id"]: r for r in rows(result)}
    assert (by_id[data.M0]["content"], by_id[data.M0]["versions"]) == (None, 0)


def test_message_edits_pairs_before_and_after_when_a_message_was_edited_twice(engine: LocalQueryEngine) -> None:
    found = [(r["edited_at"], r["message_id"], r["before"], r["after"]) for r in rows(run(engine, "message_edits"))]

    assert found == [
        ("2026-11-19T23:40:00.000Z", data.M1, "hello", "hello, world"),
        ("2026-11-20T00:05:00.000Z", data.M1, "hello, world", "hello, world!"),
    ]


def test_message_edits_finds_the_earlier_version_when_only_the_second_day_is_asked(engine: LocalQueryEngine) -> None:
    result = engine.run_bound(bind(get_named_query("message_edits"), {"guild": data.GUILD, "day": "2026-11-20"}))

    assert [(r["before"], r["after"]) for r in rows(result)] == [("hello, world", "hello, world!")]


def test_joins_and_leaves_lists_members_in_order_when_run_over_two_days(engine: LocalQueryEngine) -> None:
    found = [
        (r["occurred_at"], r["action"], r["user_id"], r["username"]) for r in rows(run(engine, "joins_and_leaves"))
    ]

    assert found == [
        ("2026-11-19T23:50:00.000Z", "join", data.CAROL, "carol"),
        ("2026-11-20T01:10:00.500Z", "leave", data.CAROL, "carol"),
    ]


def test_moderation_by_moderator_counts_member_actions_only_when_audit_entries_mix(engine: LocalQueryEngine) -> None:
    found = [
        (r["moderator_id"], r["action"], r["actions"], r["targets"])
        for r in rows(run(engine, "moderation_by_moderator"))
    ]

    # The channel_create entry is a server change, not a moderation action.
    assert found == [
        (data.MOD, "member_ban_add", 1, 1),
        (data.MOD, "member_update", 1, 1),
        (data.MOD, "message_bulk_delete", 1, 1),
    ]


def test_commands_used_counts_each_command_path_when_run_over_two_days(engine: LocalQueryEngine) -> None:
    found = [(r["command"], r["uses"], r["members"]) for r in rows(run(engine, "commands_used"))]

    assert found == [("/logs export", 1, 1), ("/logs recent", 1, 1), ("/ping", 1, 1)]


def test_named_queries_ignore_other_guilds_when_they_share_the_days(engine: LocalQueryEngine) -> None:
    result = engine.run_bound(bind(get_named_query("top_members"), {"guild": data.OTHER_GUILD, "day": "2026-11-20"}))

    assert [(r["user_id"], r["messages"]) for r in rows(result)] == [(data.ALICE, 1)]


# --- pruning ----------------------------------------------------------------------------------


def object_sizes(server: S3Server, dataset: str, days: list[str]) -> dict[str, int]:
    sizes = server.sizes(BUCKET, f"{dataset}/")
    wanted = {f"{dataset}/year={d[:4]}/month={d[5:7]}/day={d[8:]}/" for d in days}
    return {key: size for key, size in sizes.items() if key.rsplit("/", 1)[0] + "/" in wanted}


def test_local_query_reads_only_the_named_days_when_a_range_is_given(
    engine: LocalQueryEngine, server: S3Server
) -> None:
    expected = object_sizes(server, "events", ["2026-11-19", "2026-11-20"])

    result = run(engine, "top_members")

    assert (result.objects_read, result.bytes_scanned) == (len(expected), sum(expected.values()))
    assert result.bytes_scanned < sum(server.sizes(BUCKET, "events/").values())


def test_local_query_reads_the_lookback_days_too_when_the_query_looks_back(
    engine: LocalQueryEngine, server: S3Server
) -> None:
    asked = object_sizes(server, "events", ["2026-11-19", "2026-11-20"])
    lookback = object_sizes(server, "events", ["2026-11-18", "2026-11-19", "2026-11-20"])

    result = run(engine, "deleted_messages")

    # Deletions and bulk deletions each scan the asked days; versions scan them with the lookback.
    assert result.objects_read == len(lookback)
    assert result.bytes_scanned == 2 * sum(asked.values()) + sum(lookback.values())


def test_local_query_reads_every_object_when_no_day_is_named(engine: LocalQueryEngine, server: S3Server) -> None:
    everything = server.sizes(BUCKET, "events/")

    result = engine.run("SELECT count(*) AS n FROM events")

    assert result.rows == [(sum(len(events) for _, events in data.BATCHES),)]
    assert (result.objects_read, result.bytes_scanned) == (len(everything), sum(everything.values()))


# --- the CSV and raw tables -------------------------------------------------------------------


def test_events_csv_table_holds_the_json_rows_when_read_by_duckdb(engine: LocalQueryEngine) -> None:
    as_json = engine.run("SELECT * FROM events ORDER BY event_id").records()
    as_csv = engine.run("SELECT * FROM events_csv ORDER BY event_id").records()

    assert len(as_csv) == len(as_json) > 0
    for csv_row, json_row in zip(as_csv, as_json, strict=True):
        for name in ROW_FIELDS:
            expected = "" if json_row[name] is None else str(json_row[name])
            assert unescape_cell(csv_row[name]) == expected, name


def test_events_csv_objects_parse_with_python_csv_when_read_back(engine: LocalQueryEngine, server: S3Server) -> None:
    parsed: list[list[str]] = []
    for key in server.keys(BUCKET, "events_csv/"):
        text = gzip.decompress(server.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode("utf-8")
        lines = text.split("\r\n")
        assert lines[-1] == ""
        for line in lines[1:-1]:  # one physical line per row: no raw line break inside a field
            [fields] = list(csv.reader(io.StringIO(line)))
            assert len(fields) == len(ROW_FIELDS)
            parsed.append(fields)

    columns = ", ".join(ROW_FIELDS)
    from_duckdb = engine.run(f"SELECT {columns} FROM events_csv").rows  # noqa: S608 - the model's own names
    assert sorted(parsed) == sorted(list(row) for row in from_duckdb)


def test_raw_table_keeps_each_envelope_as_json_text_when_queried(engine: LocalQueryEngine) -> None:
    result = engine.run(
        "SELECT json_extract_scalar(event, '$.d.content') AS content, json_extract_scalar(relay, '$.session_id') AS s "
        "FROM raw WHERE concat(year, '-', month, '-', day) = '2026-11-18'"
    )

    assert result.rows == [("old news", data.SESSION)]
    assert result.objects_read == 1


def test_local_engine_raises_a_query_error_when_duckdb_refuses_the_sql(engine: LocalQueryEngine) -> None:
    with pytest.raises(QueryError, match="failed on DuckDB"):
        engine.run("SELECT no_such_column FROM events")


# --- the command ------------------------------------------------------------------------------


def test_query_command_prints_the_answer_as_json_when_run_with_local(
    server: S3Server, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from guildlog_tools.cli import main

    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))

    code = main(
        [
            "query", "--local", "--dev-file", str(dev_file), "--named", "top_channels",
            "--param", f"guild={data.GUILD}", "--param", "from=2026-11-19", "--param", "to=2026-11-20",
            "--format", "json",
        ]
    )  # fmt: skip

    out, err = capsys.readouterr()
    assert code == 0
    assert [(r["channel_id"], r["messages"]) for r in json.loads(out)] == [(data.GENERAL, 4), (data.RANDOM, 1)]
    assert "read from 4 S3 object(s)" in err


def test_query_command_prints_its_progress_in_plain_lines_when_stderr_is_not_a_terminal(
    server: S3Server, tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from guildlog_tools.cli import main

    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))
    monkeypatch.setenv("GUILDLOG_PROGRESS_INTERVAL", "0")

    code = main(
        [
            "query", "--local", "--dev-file", str(dev_file), "--named", "top_channels",
            "--param", f"guild={data.GUILD}", "--param", "from=2026-11-19", "--param", "to=2026-11-20",
        ]
    )  # fmt: skip

    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("query:")]
    assert code == 0
    assert lines[0].startswith("query: 2 rows, ")
    assert lines[-1].startswith("query: done, 2 rows in ")


def test_query_command_names_duckdbs_reason_in_one_line_when_duckdb_refuses_the_sql(
    server: S3Server, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from guildlog_tools.cli import main

    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))

    code = main(["query", "--local", "--dev-file", str(dev_file), "SELECT no_such_column FROM events"])

    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1
    assert "failed on DuckDB" in err and "no_such_column" in err


# --- the same events archived again under new batch ids -----------------------------------------

REBATCHED_BUCKET = "query-archive-rebatched"


def rebatched() -> list[tuple[Envelope, list[dict[str, Any]]]]:
    """Every batch of the history again, one event per batch under a new batch id (as after a 413
    split, another --batch-size, or an overlapping import): the same events, the same event ids."""
    out = []
    for envelope, raw in data.envelopes():
        for n, event in enumerate(raw):
            body = {"v": 1, "batch_id": f"again-{envelope.batch_id}-{n}", "relay": envelope.relay.model_dump(),
                    "events": [event]}  # fmt: skip
            out.append((Envelope.model_validate(body), [event]))
    return out


@pytest.fixture(scope="module")
def twice(server: S3Server) -> Iterator[LocalQueryEngine]:
    """An archive where every event was written twice: in its batch, then in a batch of its own."""
    server.create_bucket(REBATCHED_BUCKET)
    archive = S3Archive(REBATCHED_BUCKET, server.s3)
    data.ingest(archive)
    data.ingest(archive, rebatched())
    with LocalQueryEngine(endpoint_url=server.endpoint_url, bucket=REBATCHED_BUCKET) as local:
        yield local


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_query_answers_as_if_archived_once_when_events_are_archived_again_under_new_batch_ids(
    name: str, engine: LocalQueryEngine, twice: LocalQueryEngine
) -> None:
    query = get_named_query(name)
    given = {k: v for k, v in {**TWO_DAYS, "user": data.ALICE}.items() if k in query.required}
    once = engine.run_bound(bind(query, given))

    again = twice.run_bound(bind(query, given))

    assert once.rows, "the fixture history answers every query"
    assert again.rows == once.rows
