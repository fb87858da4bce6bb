"""Compaction against moto's S3 (versioned, like the stack's bucket): the history written through
the ingest path plus a replayed batch, compacted by the service, the Lambda handler and the CLI."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_compaction import S3CompactionStore
from guildlog.models.envelope import Envelope
from guildlog.queries import bind, named_queries
from guildlog.services.compaction import Compactor, merged_key
from guildlog.services.partition import DATASETS
from guildlog_tools.cli import main
from guildlog_tools.local.query_engine import LocalQueryEngine
from tests.fakes import archive_data as data
from tests.integration.conftest import LambdaContext, load_function
from tests.integration.s3_server import S3Server, moto_s3_server

pytestmark = pytest.mark.integration

DAYS = [data.moment(f"{d}T00:00:00Z").date() for d in data.DAYS]


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with moto_s3_server() as s3_server:
        yield s3_server


_buckets = iter(range(1000))


@pytest.fixture
def bucket(server: S3Server) -> str:
    """A fresh versioned bucket holding the history, and batch-0003 delivered a second time under another id."""
    name = server.create_bucket(f"compaction-{next(_buckets)}", versioned=True)
    data.ingest(S3Archive(name, server.s3))
    envelope, raw = data.envelopes()[2]
    replay = Envelope.model_validate({**envelope.model_dump(mode="json"), "batch_id": "batch-0003-again"})
    data.ingest(S3Archive(name, server.s3), [(replay, raw)])
    return name


def lines(server: S3Server, bucket: str, key: str) -> list[str]:
    text = gzip.decompress(server.s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode("utf-8")
    return [line for line in text.replace("\r\n", "\n").split("\n") if line]


def event_ids(server: S3Server, bucket: str, dataset: str) -> list[str]:
    found = []
    for key in server.keys(bucket, f"{dataset}/"):
        rows = lines(server, bucket, key)
        if dataset == "events_csv":
            found += [row.split(",", 1)[0].strip('"') for row in rows[1:]]
        else:
            found += [json.loads(row)["event_id"] for row in rows]
    return found


def answers(server: S3Server, bucket: str) -> dict[str, list[tuple[Any, ...]]]:
    with LocalQueryEngine(endpoint_url=server.endpoint_url, bucket=bucket) as engine:
        out = {}
        for name, query in named_queries().items():
            params = {"guild": data.GUILD, "from": "2026-11-18", "to": "2026-11-21"}
            if "user" in query.placeholders:
                params["user"] = data.ALICE
            out[name] = engine.run_bound(bind(query, params)).rows
        # Which copy of a replayed event is kept is the first in key order: its batch_id may differ.
        out["events_csv"] = engine.run("SELECT * EXCLUDE (batch_id) FROM events_csv ORDER BY event_id").rows
        return out


def test_compaction_leaves_one_object_per_dataset_and_day_when_the_history_is_compacted(
    server: S3Server, bucket: str
) -> None:
    before = {dataset: sorted(event_ids(server, bucket, dataset)) for dataset in DATASETS if dataset != "quarantine"}
    assert len(server.keys(bucket, "events/year=2026/month=11/day=20/")) == 3  # batch 3, its replay, batch 4

    compactor = Compactor(S3CompactionStore(bucket, server.s3))
    results = [result for day in DAYS for result in compactor.compact_day(day)]

    for dataset in ("raw", "events", "events_csv"):
        keys = server.keys(bucket, f"{dataset}/")
        assert keys == [merged_key(dataset, day) for day in DAYS]
        # Every event once: the replayed batch's copies are gone, nothing else is.
        assert sorted(event_ids(server, bucket, dataset)) == sorted(set(before[dataset]))
    assert sum(r.duplicates for r in results if r.dataset == "events") == 5  # batch-0003 held five events
    assert server.keys(bucket, "quarantine/") == []


def test_compaction_gives_the_answers_of_a_clean_archive_when_a_batch_came_twice(server: S3Server, bucket: str) -> None:
    # Every named query and the CSV table, after compaction, as over the history delivered once.
    clean = server.create_bucket("compaction-reference", versioned=True)
    data.ingest(S3Archive(clean, server.s3))

    compactor = Compactor(S3CompactionStore(bucket, server.s3))
    for day in DAYS:
        compactor.compact_day(day)

    assert answers(server, bucket) == answers(server, clean)


def test_compaction_keeps_every_line_when_two_runs_start_at_once(server: S3Server, bucket: str) -> None:
    expected = sorted(
        {json.loads(line)["event_id"] for key in server.keys(bucket, "events/year=2026/month=11/day=20/")
         for line in lines(server, bucket, key)}
    )  # fmt: skip
    barrier = threading.Barrier(2, timeout=120)

    class Lockstep(S3CompactionStore):
        def write_merged(self, key: str, chunks: Any, *, replaces: Any) -> int:
            materialized = list(chunks)  # both runs have listed and read everything
            barrier.wait()
            return super().write_merged(key, materialized, replaces=replaces)

    def run_once() -> None:
        import boto3

        client = boto3.session.Session().client(
            "s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        Compactor(Lockstep(bucket, client)).compact("events", DAYS[2])

    threads = [threading.Thread(target=run_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    day_prefix = "events/year=2026/month=11/day=20/"
    assert server.keys(bucket, day_prefix) == [merged_key("events", DAYS[2])]
    merged = [json.loads(line)["event_id"] for line in lines(server, bucket, merged_key("events", DAYS[2]))]
    assert sorted(merged) == expected


def test_compaction_keeps_the_inputs_recoverable_when_the_bucket_is_versioned(server: S3Server, bucket: str) -> None:
    day_prefix = "raw/year=2026/month=11/day=19/"
    inputs = server.keys(bucket, day_prefix)

    Compactor(S3CompactionStore(bucket, server.s3)).compact("raw", DAYS[1])

    versions = server.s3.list_object_versions(Bucket=bucket, Prefix=day_prefix)
    kept = {v["Key"] for v in versions.get("Versions", [])}
    assert set(inputs) <= kept  # deleted behind a delete marker, still restorable until the lifecycle expires it


def test_compact_function_compacts_the_days_before_its_schedule_when_invoked(
    server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guildlog.handlers import compact as compact_handler

    monkeypatch.setattr(compact_handler, "default_compactor", lambda: Compactor(S3CompactionStore(bucket, server.s3)))
    for name, value in {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    app = load_function("compact")
    monkeypatch.setattr(app, "default_compactor", compact_handler.default_compactor)
    monkeypatch.setattr(app, "default_retention", lambda: None)  # retention: tests/integration/test_data_rights_s3.py

    answer = app.lambda_handler({"time": "2026-11-21T01:30:00Z", "detail-type": "Scheduled Event"}, LambdaContext())

    assert answer["refused"] == 0
    assert {r["day"] for r in answer["results"]} == {"2026-11-18", "2026-11-19", "2026-11-20"}
    assert server.keys(bucket, "events/year=2026/month=11/day=20/") == [merged_key("events", DAYS[2])]
    assert server.keys(bucket, "events/year=2026/month=11/day=21/") == [
        "events/year=2026/month=11/day=21/batch-0005.jsonl.gz"
    ]


def test_compact_command_compacts_the_local_stack_when_run_with_local(
    server: S3Server, bucket: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": bucket, "region": "us-east-1"}))

    code = main(["compact", "--local", "--dev-file", str(dev_file), "--day", "2026-11-19", "--to", "2026-11-20"])

    out = capsys.readouterr().out
    assert code == 0
    assert out.count("compacted") == 6  # raw, events, events_csv on each of the two days
    assert server.keys(bucket, "events_csv/year=2026/month=11/day=19/") == [merged_key("events_csv", DAYS[1])]


def test_compact_command_prints_its_progress_in_plain_lines_when_stderr_is_not_a_terminal(
    server: S3Server, bucket: str, tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": bucket, "region": "us-east-1"}))
    monkeypatch.setenv("GUILDLOG_PROGRESS_INTERVAL", "0")

    code = main(["compact", "--local", "--dev-file", str(dev_file), "--day", "2026-11-19", "--to", "2026-11-20"])

    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("compact:")]
    assert code == 0
    assert lines[0].startswith("compact: 1/8 partitions (12%), ")  # four datasets on each of two days
    assert lines[-1].startswith("compact: done, 8/8 partitions (100%) in ")


def test_compaction_keeps_the_key_order_when_it_reads_many_objects_at_once(server: S3Server) -> None:
    from guildlog.adapters.s3_compaction import READ_AHEAD
    from guildlog.services.partition import object_key

    name = server.create_bucket("compaction-many", versioned=True)
    archive = S3Archive(name, server.s3)
    count = 3 * READ_AHEAD + 1
    for n in range(count):
        archive.put(object_key("events", DAYS[1], f"b{n:03d}"), json.dumps({"event_id": f"e{n:03d}"}) + "\n")

    result = Compactor(S3CompactionStore(name, server.s3)).compact("events", DAYS[1])

    assert (result.state, result.inputs) == ("compacted", count)
    ids = [json.loads(line)["event_id"] for line in lines(server, name, merged_key("events", DAYS[1]))]
    assert ids == [f"e{n:03d}" for n in range(count)]
