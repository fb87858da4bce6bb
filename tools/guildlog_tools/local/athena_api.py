"""Athena's query API on loopback, for the local stack: the Lambda code's Athena calls run on DuckDB.

WorkerFunction's archive look-up (`/logs message` past the hot table) talks to Athena through boto3
(`adapters.athena.AthenaQueryRunner`), exactly as in AWS. The local stack points boto3's Athena
endpoint (`AWS_ENDPOINT_URL_ATHENA`) here. moto's own Athena answers every query with canned rows,
so it cannot stand in; this server runs the statement on `local.query_engine.LocalQueryEngine` (the
engine of `guildlog query --local`) over the stack's S3, and answers StartQueryExecution,
GetQueryExecution, GetQueryResults and StopQueryExecution in Athena's JSON shapes.

A statement runs when it is started (the caller's polling then finds it finished). Each runs on a
fresh engine: the tables are DuckDB views over the objects that exist when the engine opens.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from guildlog.errors import GuildlogError
from guildlog.queries.result import QueryResult
from guildlog_tools.local.loopback import LoopbackServer

TARGET_PREFIX = "AmazonAthena."


def literal_value(parameter: str) -> str:
    """An ExecutionParameters entry (an SQL literal, as Athena takes them) → the value DuckDB binds."""
    text = parameter.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def athena_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    return "varchar"


def _cell(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    return {"VarCharValue": str(value)}


class LocalAthenaServer(LoopbackServer):
    """`run(sql, values) -> QueryResult` does the work (a LocalQueryEngine per statement by default)."""

    thread_name = "guildlog-athena-api"
    allow_reuse_address = True

    def __init__(
        self,
        run: Callable[[str, list[str]], QueryResult],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.run_statement = run
        self.executions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        super().__init__((host, port), _AthenaHandler)

    @classmethod
    def on_bucket(cls, endpoint_url: str, bucket: str, region: str, host: str = "127.0.0.1") -> LocalAthenaServer:
        from guildlog_tools.local.query_engine import LocalQueryEngine

        def run(sql: str, values: list[str]) -> QueryResult:
            with LocalQueryEngine(endpoint_url=endpoint_url, bucket=bucket, region=region) as engine:
                return engine.run(sql, values)

        return cls(run, host)

    def dispatch(self, action: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if action == "StartQueryExecution":
            return 200, self._start(request)
        execution = self.executions.get(str(request.get("QueryExecutionId", "")))
        if execution is None:
            return 400, {"__type": "InvalidRequestException", "message": "QueryExecution was not found"}
        if action == "GetQueryExecution":
            return 200, {"QueryExecution": execution["execution"]}
        if action == "StopQueryExecution":
            return 200, {}
        if action == "GetQueryResults":
            return 200, self._results(execution)
        return 400, {"__type": "InvalidRequestException", "message": f"the local Athena does not serve {action}"}

    def _start(self, request: dict[str, Any]) -> dict[str, Any]:
        execution_id = str(uuid.uuid4())
        sql = str(request.get("QueryString", ""))
        values = [literal_value(str(p)) for p in request.get("ExecutionParameters") or []]
        status: dict[str, Any] = {"State": "SUCCEEDED"}
        result: QueryResult | None = None
        with self._lock:  # one DuckDB statement at a time, like one query slot
            try:
                result = self.run_statement(sql, values)
            except GuildlogError as exc:
                status = {"State": "FAILED", "StateChangeReason": f"{exc.message}: {exc.fields.get('reason', '')}"}
        execution = {
            "QueryExecutionId": execution_id,
            "Query": sql,
            "WorkGroup": request.get("WorkGroup"),
            "Status": status,
            "Statistics": {"DataScannedInBytes": result.bytes_scanned if result else 0},
        }
        self.executions[execution_id] = {"execution": execution, "result": result}
        return {"QueryExecutionId": execution_id}

    @staticmethod
    def _results(execution: dict[str, Any]) -> dict[str, Any]:
        result: QueryResult | None = execution["result"]
        if result is None:
            return {"ResultSet": {"Rows": [], "ResultSetMetadata": {"ColumnInfo": []}}}
        types = ["varchar"] * len(result.columns)
        for row in result.rows:
            for index, value in enumerate(row):
                if value is not None and types[index] == "varchar":
                    types[index] = athena_type(value)
        info = [{"Name": c, "Label": c, "Type": t} for c, t in zip(result.columns, types, strict=True)]
        header = {"Data": [{"VarCharValue": c} for c in result.columns]}
        rows = [header] + [{"Data": [_cell(v) for v in row]} for row in result.rows]
        return {"ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": info}}}


class _AthenaHandler(BaseHTTPRequestHandler):
    server: LocalAthenaServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Athena's REST protocol (botocore's current one): GetQueryExecution and GetQueryResults by path."""
        action, execution_id = _rest_route("GET", self.path)
        if action is None:
            self._answer(404, {"__type": "InvalidRequestException", "message": "not an Athena request"})
            return
        self._answer(*self.server.dispatch(action, {"QueryExecutionId": execution_id}))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        target = self.headers.get("X-Amz-Target", "")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._answer(400, {"__type": "InvalidRequestException", "message": "the body is not JSON"})
            return
        action, execution_id = _rest_route("POST", self.path) if not target else (None, None)
        if action is not None and isinstance(request, dict):  # the REST protocol: the action is in the path
            self._answer(*self.server.dispatch(action, {**request, "QueryExecutionId": execution_id}))
            return
        if not target.startswith(TARGET_PREFIX) or not isinstance(request, dict):
            self._answer(400, {"__type": "InvalidRequestException", "message": "not an Athena request"})
            return
        status, body = self.server.dispatch(target.removeprefix(TARGET_PREFIX), request)
        self._answer(status, body)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


def _rest_route(method: str, path: str) -> tuple[str | None, str]:
    """(action, query execution id) of an Athena REST request (`/query-executions[/<id>[/results|/stop]]`)."""
    parts = urlsplit(path).path.strip("/").split("/")
    if not parts or parts[0] != "query-executions":
        return None, ""
    if method == "POST" and len(parts) == 1:
        return "StartQueryExecution", ""
    if method == "POST" and len(parts) == 3 and parts[2] == "stop":
        return "StopQueryExecution", unquote(parts[1])
    if method == "GET" and len(parts) == 2:
        return "GetQueryExecution", unquote(parts[1])
    if method == "GET" and len(parts) == 3 and parts[2] == "results":
        return "GetQueryResults", unquote(parts[1])
    return None, ""
