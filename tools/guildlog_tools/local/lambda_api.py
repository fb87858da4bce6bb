"""Lambda's Invoke API on loopback, for the local stack: async invokes run the function in this process.

InteractionsFunction hands work to WorkerFunction with `lambda:InvokeFunction` (InvocationType
Event) through boto3, exactly as in AWS. The local stack points boto3's Lambda endpoint
(`AWS_ENDPOINT_URL_LAMBDA`) here; this server answers 202 at once and runs the target's own
`lambda_handler` on a background thread, under the function's environment and the same lock as
the HTTP routes (one invocation at a time, as one Lambda container does). A run that raises is
retried like Lambda retries async invokes (the template's `MaximumRetryAttempts`); when the retries
run out, the function's on-failure destination queue (the template's `EventInvokeConfig`) receives
the record Lambda would send (`failure_record`), else the invocation is dropped with its traceback
on the log stream.

Only `Event` and `DryRun` are served: a synchronous invoke from inside a function would wait on
the lock its caller holds, so it is refused with Lambda's own error shape.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from guildlog_tools.local.apigw import _INVOKE_LOCK, LocalLambdaContext, Route, environment, function_output
from guildlog_tools.local.loopback import LoopbackServer

_INVOKE_PATH = "/2015-03-31/functions/"
# Lambda waits minutes between retries; locally a moment is enough to let a transient fault pass.
RETRY_DELAY_S = 0.2
# Lambda's cap on an async payload.
MAX_ASYNC_PAYLOAD = 256 * 1024


@dataclass
class Run:
    """One finished async invocation: which function, how many attempts, and how it ended."""

    function_id: str
    request_id: str
    attempts: int
    ok: bool
    result: Any = None
    error: str | None = None


class LambdaInvokeServer(LoopbackServer):
    """`functions`: name → Route (handler file, environment). `serve_in_thread()`, `drain()`, `stop()`."""

    thread_name = "guildlog-lambda-api"
    allow_reuse_address = True

    def __init__(
        self,
        functions: Mapping[str, Route] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        retries: Mapping[str, int] | None = None,
        log_stream: TextIO | None = None,
        function_log: TextIO | None = None,
        sqs: Any = None,
        failure_queues: Mapping[str, str] | None = None,
    ) -> None:
        self.functions: dict[str, Route] = dict(functions or {})
        self.retries: dict[str, int] = dict(retries or {})
        # Function → URL of its on-failure SQS destination, sent to through `sqs` (a boto3 SQS client).
        self.sqs = sqs
        self.failure_queues: dict[str, str] = dict(failure_queues or {})
        self.log_stream = log_stream or sys.stderr
        self.function_log = function_log
        self.runs: list[Run] = []
        self._pending: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        super().__init__((host, port), _InvokeHandler)

    def submit(self, function_id: str, payload: bytes) -> str:
        """Start one async invocation of `function_id` with `payload` (JSON bytes); its request id."""
        route = self.functions[function_id]
        request_id = str(uuid.uuid4())
        worker = threading.Thread(
            target=self._run, args=(route, payload, request_id), name=f"guildlog-async-{function_id}", daemon=True
        )
        with self._lock:
            self._pending.add(worker)
        worker.start()
        return request_id

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no async invocation is running (True), or `timeout` seconds (False)."""
        ends = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = ends - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self, drain_timeout: float = 30.0) -> None:
        super().stop()
        if not self.drain(drain_timeout):
            print("async invocations were still running when the local stack stopped", file=self.log_stream)

    def _run(self, route: Route, payload: bytes, request_id: str) -> None:
        attempts = 1 + max(0, self.retries.get(route.function_id, 2))
        run = Run(route.function_id, request_id, 0, ok=False)
        event: Any = None
        failure: BaseException | None = None
        try:
            event = json.loads(payload or b"{}")
            for attempt in range(attempts):
                run.attempts = attempt + 1
                try:
                    handler = route.handler()
                    with _INVOKE_LOCK, environment(route.environment), function_output(self.function_log):
                        run.result = handler(event, LocalLambdaContext(route, request_id))
                    run.ok, run.error = True, None
                    break
                except Exception as exc:
                    failure = exc
                    run.error = traceback.format_exc()
                    print(
                        f"{route.function_id} raised in async invocation {request_id} (attempt {attempt + 1}"
                        f" of {attempts}):\n{run.error}",
                        file=self.log_stream,
                    )
                    if attempt + 1 < attempts:
                        time.sleep(RETRY_DELAY_S)
            if not run.ok and failure is not None:
                self._send_to_failure_destination(route, request_id, event, run.attempts, failure)
        except ValueError:
            run.error = "the payload is not JSON"
        finally:
            with self._idle:
                self.runs.append(run)
                self._pending.discard(threading.current_thread())
                self._idle.notify_all()

    def _send_to_failure_destination(
        self, route: Route, request_id: str, event: Any, attempts: int, failure: BaseException
    ) -> None:
        queue_url = self.failure_queues.get(route.function_id)
        if queue_url is None or self.sqs is None:
            return
        record = failure_record(route.function_id, request_id, event, attempts, failure)
        try:
            self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))
        except Exception:
            print(
                f"{route.function_id}: async invocation {request_id} could not reach its on-failure queue:\n"
                f"{traceback.format_exc()}",
                file=self.log_stream,
            )


def failure_record(
    function_id: str, request_id: str, event: Any, attempts: int, failure: BaseException, region: str = "us-east-1"
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination once an async invoke's retries are exhausted."""
    account = "123456789012"
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"arn:aws:lambda:{region}:{account}:function:{function_id}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(failure)[:1000], "errorType": type(failure).__name__},
    }


class _InvokeHandler(BaseHTTPRequestHandler):
    server: LambdaInvokeServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("content-length") or 0)
        payload = self.rfile.read(length) if length > 0 else b""
        if not (path.startswith(_INVOKE_PATH) and path.endswith("/invocations")):
            self._error(404, "UnknownOperationException", "only Invoke is served locally")
            return
        name = _function_name(unquote(path[len(_INVOKE_PATH) : -len("/invocations")]))
        if name not in self.server.functions:
            self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        kind = self.headers.get("x-amz-invocation-type", "RequestResponse")
        if kind == "DryRun":
            self._send(204, b"")
            return
        if kind != "Event":
            self._error(400, "InvalidParameterValueException", "the local stack runs asynchronous (Event) invokes only")
            return
        if len(payload) > MAX_ASYNC_PAYLOAD:
            self._error(413, "RequestTooLargeException", "Request must be smaller than 262144 bytes for Event")
            return
        request_id = self.server.submit(name, payload)
        self._send(202, b"", {"x-amzn-requestid": request_id})

    def _error(self, status: int, kind: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode("utf-8")
        self._send(status, body, {"x-amzn-errortype": kind, "content-type": "application/json"})

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the functions' own logs say what they did."""


def _function_name(identifier: str) -> str:
    """A function name from a name, a name:qualifier, or a function ARN."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        return parts[6] if len(parts) > 6 else identifier
    return identifier.split(":", 1)[0]
