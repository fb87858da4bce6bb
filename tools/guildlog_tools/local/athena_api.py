"""Athena's query API on loopback, for the local stack: the Lambda code's Athena calls run on DuckDB.

WorkerFunction's archive look-up (`/logs message` past the hot table) talks to Athena through boto3
(`adapters.athena.AthenaQueryRunner`), exactly as in AWS. The local stack points boto3's Athena
endpoint (`AWS_ENDPOINT_URL_ATHENA`) here. moto's own Athena answers every query with canned rows,
so it cannot stand in; this server runs the statement on `local.query_engine.LocalQueryEngine` (the
engine of `guildlog query --local`) over the stack's S3, and answers StartQueryExecution,
GetQueryExecution, GetQueryResults and StopQueryExecution in Athena's JSON shapes, by either of the
protocols botocore has spoken to Athena: JSON 1.1 (`X-Amz-Target: AmazonAthena.<Action>`) and REST
JSON (`POST /query-executions`, `GET /query-executions/{id}`, `GET …/{id}/results`, `POST …/{id}/stop`).

A statement runs in the background once it is started, as on Athena: the execution is RUNNING
until it is done, and the caller polls GetQueryExecution (the web viewer's pages answer meanwhile).
Statements run one at a time, each on a fresh engine: the tables are DuckDB views over the objects
that exist when the engine opens. `gate` holds every statement back while it is clear, so a test
can see a query running before it lets it finish.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
        self.gate = threading.Event()
        self.gate.set()
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
        execution = {
            "QueryExecutionId": execution_id,
            "Query": sql,
            "WorkGroup": request.get("WorkGroup"),
            "Status": {"State": "RUNNING"},
            "Statistics": {"DataScannedInBytes": 0},
        }
        self.executions[execution_id] = {"execution": execution, "result": None}
        worker = threading.Thread(
            target=self._run, args=(execution_id, sql, values), name=f"{self.thread_name}-query", daemon=True
        )
        worker.start()
        return {"QueryExecutionId": execution_id}

    def _run(self, execution_id: str, sql: str, values: list[str]) -> None:
        status: dict[str, Any] = {"State": "SUCCEEDED"}
        result: QueryResult | None = None
        self.gate.wait()
        with self._lock:  # one DuckDB statement at a time, like one query slot
            try:
                result = self.run_statement(sql, values)
            except GuildlogError as exc:
                status = {"State": "FAILED", "StateChangeReason": f"{exc.message}: {exc.fields.get('reason', '')}"}
            except Exception as exc:  # noqa: BLE001 - reported as Athena reports an engine failure
                status = {"State": "FAILED", "StateChangeReason": f"the local engine failed: {type(exc).__name__}"}
        entry = self.executions[execution_id]
        entry["result"] = result
        entry["execution"] = {
            **entry["execution"],
            "Status": status,
            "Statistics": {"DataScannedInBytes": result.bytes_scanned if result else 0},
        }

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


def rest_action(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """(action, the request fields in the URL) of a REST JSON call, or None for another path."""
    split = urlsplit(path)
    parts = [unquote(p) for p in split.path.split("/") if p]
    fields: dict[str, Any] = {k: v[-1] for k, v in parse_qs(split.query).items()}
    if parts[:1] != ["query-executions"]:
        return None
    if len(parts) == 1 and method == "POST":
        return "StartQueryExecution", fields
    if len(parts) >= 2:
        fields["QueryExecutionId"] = parts[1]
    if len(parts) == 2 and method == "GET":
        return "GetQueryExecution", fields
    if len(parts) == 3 and parts[2] == "results" and method == "GET":
        return "GetQueryResults", fields
    if len(parts) == 3 and parts[2] == "stop" and method == "POST":
        return "StopQueryExecution", fields
    return None


class _AthenaHandler(BaseHTTPRequestHandler):
    server: LocalAthenaServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("POST")

    def _serve(self, method: str) -> None:
        target = self.headers.get("X-Amz-Target", "")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._answer(400, {"__type": "InvalidRequestException", "message": "the body is not JSON"})
            return
        rest = None if target else rest_action(method, self.path)
        if not isinstance(request, dict) or (rest is None and not target.startswith(TARGET_PREFIX)):
            self._answer(400, {"__type": "InvalidRequestException", "message": "not an Athena request"})
            return
        if rest is not None:
            action, fields = rest
            request = {**request, **fields}
        else:
            action = target.removeprefix(TARGET_PREFIX)
        status, body = self.server.dispatch(action, request)
        self._answer(status, body)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        if "__type" in body:
            self.send_header("x-amzn-ErrorType", str(body["__type"]))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass
