"""Athena: start a query in the stack's workgroup, poll it with capped backoff, page its results.

The client is injected (or built lazily); the sleep and the clock too, so tests never wait.
Values come back typed from the result set's column metadata, so an Athena answer and the
local engine's compare equal.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import QueryError
from guildlog.queries import BoundQuery
from guildlog.queries.result import QueryResult

ENGINE = "athena"
RUNNING_STATES = frozenset({"QUEUED", "RUNNING"})
# Athena's GetQueryResults returns at most 1,000 rows per call.
MAX_PAGE_ROWS = 1000
_INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "bigint"})
_FLOAT_TYPES = frozenset({"float", "real", "double"})


class AthenaQueryRunner:
    """Runs statements in one workgroup and database.

    `first_poll` is the first wait between status checks; each later wait doubles, up to
    `max_poll`. A query still running after `timeout` seconds is stopped and reported.
    """

    def __init__(
        self,
        workgroup: str,
        database: str,
        client: Any = None,
        *,
        first_poll: float = 0.2,
        max_poll: float = 5.0,
        timeout: float = 600.0,
        page_size: int = MAX_PAGE_ROWS,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.workgroup = workgroup
        self.database = database
        self._client = client
        self.first_poll = first_poll
        self.max_poll = max_poll
        self.timeout = timeout
        self.page_size = min(page_size, MAX_PAGE_ROWS)
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.waits: list[float] = []

    client = BotoClient("athena")

    def run_bound(self, bound: BoundQuery) -> QueryResult:
        return self.run(bound.sql, bound.athena_parameters())

    def run(self, sql: str, parameters: Sequence[str] = ()) -> QueryResult:
        """Start, wait, fetch. `parameters` are SQL literals for the `?` placeholders, in order."""
        started = self.clock()
        execution_id = self.start(sql, parameters)
        execution = self.wait(execution_id)
        columns, rows = self.fetch(execution_id)
        statistics = execution.get("Statistics", {})
        return QueryResult(
            columns=columns,
            rows=rows,
            engine=ENGINE,
            bytes_scanned=int(statistics.get("DataScannedInBytes") or 0),
            elapsed_seconds=self.clock() - started,
            execution_id=execution_id,
        )

    def start(self, sql: str, parameters: Sequence[str] = ()) -> str:
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self.database},
            "WorkGroup": self.workgroup,
        }
        if parameters:
            request["ExecutionParameters"] = list(parameters)
        try:
            return str(self.client.start_query_execution(**request)["QueryExecutionId"])
        except Exception as exc:
            raise QueryError("Athena did not start the query", reason=_reason(exc)) from exc

    def state(self, execution_id: str) -> tuple[str, str | None]:
        """(state, reason) of a started query, asked once: QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED.

        For a caller that does not wait (the web viewer answers a page while the query runs).
        QueryError when Athena does not know the id or does not answer.
        """
        try:
            execution = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        except Exception as exc:
            raise QueryError("Athena did not report the query's state", reason=_reason(exc)) from exc
        status = execution.get("Status", {})
        reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
        return str(status.get("State") or "UNKNOWN"), reason

    def wait(self, execution_id: str) -> dict[str, Any]:
        """Poll until the query leaves QUEUED/RUNNING; QueryError unless it SUCCEEDED."""
        deadline = self.clock() + self.timeout
        delay = self.first_poll
        while True:
            try:
                execution = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            except Exception as exc:
                raise QueryError("Athena did not report the query's state", reason=_reason(exc)) from exc
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state not in RUNNING_STATES:
                raise QueryError(
                    f"the Athena query {str(state).lower()}",
                    execution_id=execution_id,
                    state=state,
                    reason=status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage"),
                )
            if self.clock() + delay > deadline:
                self._stop(execution_id)
                raise QueryError(
                    f"the Athena query ran longer than {self.timeout:.0f} s and was stopped", execution_id=execution_id
                )
            self.waits.append(delay)
            self.sleep(delay)
            delay = min(delay * 2, self.max_poll)

    def fetch(self, execution_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Every row of a finished query, page by page, typed by the result set's column info."""
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        token: str | None = None
        first_page = True
        while True:
            request: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": self.page_size}
            if token:
                request["NextToken"] = token
            try:
                page = self.client.get_query_results(**request)
            except Exception as exc:
                raise QueryError("Athena did not return the results", reason=_reason(exc)) from exc
            result_set = page.get("ResultSet", {})
            if first_page:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [str(c.get("Label") or c.get("Name")) for c in info]
                types = [str(c.get("Type", "varchar")).lower() for c in info]
            page_rows = [
                [cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result_set.get("Rows", [])
            ]
            # A SELECT's first row is its header.
            if first_page and page_rows and page_rows[0] == columns:
                page_rows = page_rows[1:]
            rows.extend(tuple(_typed(v, t) for v, t in zip(row, types, strict=False)) for row in page_rows)
            first_page = False
            token = page.get("NextToken")
            if not token:
                return columns, rows

    def _stop(self, execution_id: str) -> None:
        # Best effort: the timeout is what gets reported.
        with contextlib.suppress(Exception):
            self.client.stop_query_execution(QueryExecutionId=execution_id)


def _typed(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in _INTEGER_TYPES:
        return int(value)
    if kind in _FLOAT_TYPES:
        return float(value)
    if kind == "boolean":
        return value == "true"
    return value


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message") or type(exc).__name__)
    return type(exc).__name__
