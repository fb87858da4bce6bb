"""`guildlog query` on Athena, against moto: the workgroup from the template, polling through moto's
QUEUED → RUNNING → SUCCEEDED states, seeded results, and the CLI's output."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from guildlog.adapters.athena import AthenaQueryRunner
from guildlog.queries import bind, get_named_query
from guildlog_tools.cli import main
from guildlog_tools.local.template import load_template, resources_of_type

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"
GUILD = "700000000000000001"


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's Athena with the template's workgroup, each state held for two status checks."""
    import boto3
    from moto import mock_aws
    from moto.moto_api import state_manager

    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    [workgroup] = resources_of_type(load_template(), "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    with mock_aws():
        state_manager.set_transition(model_name="athena::execution", transition={"progression": "manual", "times": 2})
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(
            Name="guildlog-archive",
            Configuration={
                "ResultConfiguration": {"OutputLocation": "s3://guildlog-archive-bucket/athena-results/"},
                "EnforceWorkGroupConfiguration": configuration["EnforceWorkGroupConfiguration"],
                "BytesScannedCutoffPerQuery": 10 * 1024**3,
            },
        )
        try:
            yield {"client": client}
        finally:
            state_manager.unset_transition("athena::execution")


def seed(rows: list[list[str]], columns: list[tuple[str, str]]) -> None:
    """The next query's results, as moto hands them out (its documented seeding queue)."""
    from moto.athena.models import QueryResults, athena_backends

    header = [{"Data": [{"VarCharValue": name} for name, _ in columns]}]
    data = [{"Data": [{"VarCharValue": value} for value in row]} for row in rows]
    info = [{"Name": name, "Label": name, "Type": kind} for name, kind in columns]
    athena_backends[ACCOUNT][REGION].query_results_queue.append(QueryResults(rows=header + data, column_info=info))


TOP_MEMBERS = [("user_id", "varchar"), ("user_name", "varchar"), ("messages", "bigint"), ("channels", "bigint")]


def test_athena_runner_polls_until_moto_reports_success_when_the_query_is_queued(athena: dict[str, Any]) -> None:
    seed([["700000000000000100", "Alice", "2", "2"]], TOP_MEMBERS)
    slept: list[float] = []
    runner = AthenaQueryRunner("guildlog-archive", "guildlog_archive", athena["client"], sleep=slept.append)

    result = runner.run_bound(bind(get_named_query("top_members"), {"guild": GUILD, "day": "2026-11-20"}))

    assert result.rows == [("700000000000000100", "Alice", 2, 2)]
    assert result.columns == ["user_id", "user_name", "messages", "channels"]
    # Moto holds the query QUEUED, then RUNNING, for three status checks in all: three waits, each doubled.
    assert slept == [0.2, 0.4, 0.8]


def test_athena_runner_records_the_execution_in_the_workgroup_when_a_named_query_runs(athena: dict[str, Any]) -> None:
    seed([], TOP_MEMBERS)
    runner = AthenaQueryRunner("guildlog-archive", "guildlog_archive", athena["client"], sleep=lambda _: None)
    bound = bind(get_named_query("top_members"), {"guild": GUILD, "from": "2026-11-19", "to": "2026-11-20"})

    result = runner.run_bound(bound)

    execution = athena["client"].get_query_execution(QueryExecutionId=result.execution_id)["QueryExecution"]
    assert execution["WorkGroup"] == "guildlog-archive"
    assert execution["QueryExecutionContext"] == {"Database": "guildlog_archive"}
    assert execution["Query"] == bound.sql
    assert execution["ExecutionParameters"] == [f"'{GUILD}'", "'2026-11-19'", "'2026-11-20'"]
    assert result.rows == []


def test_query_command_prints_rows_and_the_scan_cost_when_run_on_athena(
    athena: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)
    seed([["700000000000000100", "Alice", "2", "2"], ["700000000000000101", "Bob", "1", "1"]], TOP_MEMBERS)

    code = main(
        [
            "query",
            "--named",
            "top_members",
            "--param",
            f"guild={GUILD}",
            "--param",
            "day=2026-11-20",
            "--workgroup",
            "guildlog-archive",
            "--database",
            "guildlog_archive",
            "--format",
            "csv",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == [
        "user_id,user_name,messages,channels",
        "700000000000000100,Alice,2,2",
        "700000000000000101,Bob,1,1",
    ]
    assert "2 rows, 0 B scanned (0 bytes), cost $0.000052" in err


def test_query_command_refuses_to_guess_the_workgroup_when_none_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GUILDLOG_ATHENA_WORKGROUP", "GUILDLOG_GLUE_DATABASE", "GUILDLOG_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)

    code = main(["query", "--named", "top_members", "--param", f"guild={GUILD}", "--param", "day=2026-11-20"])

    assert code == 2  # a usage mistake
    assert "--stack NAME" in capsys.readouterr().err
