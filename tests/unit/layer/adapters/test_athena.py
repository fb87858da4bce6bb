"""guildlog.adapters.athena over a scripted client: backoff, paging, typing, failures, timeouts."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.adapters.athena import AthenaQueryRunner
from guildlog.errors import QueryError
from guildlog.queries import bind, get_named_query

COLUMNS = [
    {"Name": "user_id", "Label": "user_id", "Type": "varchar"},
    {"Name": "messages", "Label": "messages", "Type": "bigint"},
]


def page(rows: list[list[str | None]], token: str | None = None, header: bool = False) -> dict[str, Any]:
    data = ([["user_id", "messages"]] if header else []) + rows
    answer: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in data],
            "ResultSetMetadata": {"ColumnInfo": COLUMNS},
        }
    }
    if token:
        answer["NextToken"] = token
    return answer


class ScriptedAthena:
    """States to report in turn, then result pages by token."""

    def __init__(self, states: list[str], pages: dict[str | None, dict[str, Any]], scanned: int = 0) -> None:
        self.states = list(states)
        self.pages = pages
        self.scanned = scanned
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.page_requests: list[dict[str, Any]] = []

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        status: dict[str, Any] = {"State": state}
        if state == "FAILED":
            status["StateChangeReason"] = "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"
        return {"QueryExecution": {"Status": status, "Statistics": {"DataScannedInBytes": self.scanned}}}

    def get_query_results(self, **request: Any) -> dict[str, Any]:
        self.page_requests.append(request)
        return self.pages[request.get("NextToken")]

    def stop_query_execution(self, QueryExecutionId: str) -> None:  # noqa: N803
        self.stopped.append(QueryExecutionId)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def runner(client: ScriptedAthena, clock: FakeClock, **options: Any) -> AthenaQueryRunner:
    return AthenaQueryRunner("wg", "db", client, sleep=clock.sleep, clock=clock, **options)


def test_athena_runner_doubles_the_wait_up_to_the_cap_when_the_query_keeps_running() -> None:
    client = ScriptedAthena(["QUEUED"] + ["RUNNING"] * 7 + ["SUCCEEDED"], {None: page([], header=True)})
    clock = FakeClock()

    runner(client, clock, first_poll=0.25, max_poll=2.0).run("SELECT 1")

    assert clock.slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_athena_runner_pages_every_row_when_results_span_several_pages() -> None:
    pages = {
        None: page([["a", "3"], ["b", "2"]], token="t1", header=True),
        "t1": page([["c", "2"]], token="t2"),
        "t2": page([["d", None]]),
    }
    client = ScriptedAthena(["SUCCEEDED"], pages, scanned=123_456)

    result = runner(client, FakeClock(), page_size=2).run("SELECT user_id, messages FROM events")

    assert result.columns == ["user_id", "messages"]
    assert result.rows == [("a", 3), ("b", 2), ("c", 2), ("d", None)]
    assert [r.get("NextToken") for r in client.page_requests] == [None, "t1", "t2"]
    assert {r["MaxResults"] for r in client.page_requests} == {2}
    assert result.bytes_scanned == 123_456
    assert result.execution_id == "q-1"


def test_athena_runner_starts_in_the_workgroup_with_literal_parameters_when_a_named_query_runs() -> None:
    client = ScriptedAthena(["SUCCEEDED"], {None: page([], header=True)})
    bound = bind(get_named_query("top_members"), {"guild": "700000000000000001", "day": "2026-11-20"})

    runner(client, FakeClock()).run_bound(bound)

    [request] = client.started
    assert request["WorkGroup"] == "wg"
    assert request["QueryExecutionContext"] == {"Database": "db"}
    assert request["QueryString"] == bound.sql
    assert request["ExecutionParameters"] == ["'700000000000000001'", "'2026-11-20'", "'2026-11-20'"]


def test_athena_runner_sends_no_parameters_when_the_sql_has_none() -> None:
    client = ScriptedAthena(["SUCCEEDED"], {None: page([], header=True)})

    runner(client, FakeClock()).run("SELECT 1")

    assert "ExecutionParameters" not in client.started[0]


def test_athena_runner_raises_with_athenas_reason_when_the_query_fails() -> None:
    client = ScriptedAthena(["RUNNING", "FAILED"], {})

    with pytest.raises(QueryError) as raised:
        runner(client, FakeClock()).run("SELECT x")

    assert raised.value.fields["state"] == "FAILED"
    assert "cannot be resolved" in str(raised.value.fields["reason"])


def test_athena_runner_stops_the_query_when_it_outlives_the_timeout() -> None:
    client = ScriptedAthena(["RUNNING"], {})
    clock = FakeClock()

    with pytest.raises(QueryError, match="was stopped"):
        runner(client, clock, first_poll=1.0, max_poll=4.0, timeout=10.0).run("SELECT 1")

    assert client.stopped == ["q-1"]
    assert sum(clock.slept) <= 10.0


def test_query_result_prices_the_scan_at_the_ten_megabyte_minimum_when_little_is_read() -> None:
    client = ScriptedAthena(["SUCCEEDED"], {None: page([], header=True)}, scanned=1_000)

    result = runner(client, FakeClock()).run("SELECT 1")

    assert result.athena_cost_usd() == pytest.approx(10 * 1024 * 1024 / 1e12 * 5)
    assert "cost $0.000052" in result.summary()


def test_athena_runner_reports_the_state_once_without_waiting_when_asked() -> None:
    clock = FakeClock()
    client = ScriptedAthena(["RUNNING", "FAILED"], {None: page([], header=True)})
    athena = runner(client, clock)

    assert athena.state("q-1") == ("RUNNING", None)
    assert athena.state("q-1") == ("FAILED", "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved")
    assert clock.slept == []
