"""A loopback HTTP server that plays API Gateway (HTTP API, payload format 2.0) for the local stack,
and on the same address the stack's Lambda function URLs (the same payload format).

Each request becomes the event API Gateway would hand the function, and the function's own
`lambda_handler` runs in this process, loaded from its file the way Lambda loads it (functions/
is not a package). The answer is mapped back the way API Gateway maps it. What is emulated:
route matching (`METHOD /path`, `{param}`, `{proxy+}`, `ANY`, `$default`), lower-cased headers,
base64 bodies for binary or content-encoded requests, the 10 MB payload cap, a per-function
environment, and the request context fields handlers read. A function URL is served at the one
path its handler accepts, for every method, with the `$default` route key a function URL sends.
What is not: authorizers, CORS, throttling and stages.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from guildlog.errors import ConfigurationError
from guildlog_tools.local.loopback import LoopbackServer

# API Gateway refuses larger requests before the function sees them.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_API_ID = "local"
# Lambda serves one request at a time per container, and the function's environment is the
# process environment here: one lock keeps both true.
_INVOKE_LOCK = threading.Lock()

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Route:
    """One HTTP API route: `method` (or ANY) and `path` (or $default) into a function's handler; or, with
    `function_url`, the path a function URL's handler accepts, taking every method as a function URL does."""

    method: str
    path: str
    function_id: str
    handler_file: Path
    handler_name: str
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 3
    memory_mb: int = 128
    function_url: bool = False
    _handler: Handler | None = field(default=None, init=False, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    @property
    def route_key(self) -> str:
        """The event's routeKey: a function URL has no routes and always sends `$default`."""
        return "$default" if self.path == "$default" or self.function_url else f"{self.method} {self.path}"

    @property
    def label(self) -> str:
        """How the route is shown: its route key, or for a function URL the route its handler accepts."""
        return f"{self.method} {self.path} (function URL)" if self.function_url else self.route_key

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None."""
        if self.path == "$default":
            return {}
        if self.method != "ANY" and self.method != method and not self.function_url:
            return None
        if self._pattern is None:
            self._pattern = _path_pattern(self.path)
        found = self._pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}

    def handler(self) -> Handler:
        """The function's handler, loaded once from its file under the function's environment."""
        if self._handler is None:
            with _INVOKE_LOCK, environment(self.environment), function_output(None):
                if self._handler is None:
                    self._handler = load_handler(self.handler_file, self.handler_name, self.function_id)
        return self._handler


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            parts.append(f"(?P<{_group(piece[1:-2])}>.+)")
        elif piece.startswith("{") and piece.endswith("}"):
            parts.append(f"(?P<{_group(piece[1:-1])}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ConfigurationError("unsupported path parameter name", name=name)
    return name


def select_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick: the most specific match first, $default last."""
    ordered = sorted(routes, key=_specificity)
    for route in ordered:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


def _specificity(route: Route) -> tuple[int, int, int]:
    if route.path == "$default":
        return (3, 0, 0)
    greedy = "+}" in route.path
    params = route.path.count("{")
    return (1 if greedy else 0, params, 0 if route.method != "ANY" else 1)


def load_handler(handler_file: Path, handler_name: str, function_id: str) -> Handler:
    """Import `handler_file` under a private module name and return its `handler_name` callable."""
    if not handler_file.is_file():
        raise ConfigurationError("a function's handler file is missing", path=str(handler_file))
    module_name = f"guildlog_local_{function_id}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, handler_file)
    if spec is None or spec.loader is None:
        raise ConfigurationError("a function's handler file cannot be loaded", path=str(handler_file))
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name, None)
    if not callable(handler):
        raise ConfigurationError("the handler is not in its file", path=str(handler_file), handler=handler_name)
    return handler


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set `values` in os.environ (None removes a variable) for the duration, then restore exactly."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _apply(values)
        yield
    finally:
        _apply(saved)


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def is_text(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def build_event(
    *,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload-v2 event API Gateway builds for this request.

    Header names are lower-cased and repeated headers joined with commas, cookies move to
    `cookies`, and the body is base64 (isBase64Encoded) unless it is UTF-8 text without a
    Content-Encoding: a gzip body must reach the handler byte for byte, its signature covers them.
    """
    moment = time.time() if now is None else now
    split = urlsplit(target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": joined.get("host", "127.0.0.1"),
            "domainPrefix": joined.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": split.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(moment)),
            "timeEpoch": int(moment * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        if is_text(body) and "content-encoding" not in joined:
            event["body"] = body.decode("utf-8")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_answer(status: int, payload: Mapping[str, Any]) -> HttpAnswer:
    return HttpAnswer(status, [("content-type", "application/json")], json.dumps(payload).encode("utf-8"))


def answer_from_result(result: Any) -> HttpAnswer:
    """API Gateway's mapping of a payload-v2 function result to an HTTP answer.

    A dict with `statusCode` is a full answer; anything else is taken as a JSON body with 200.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpAnswer(200, [("content-type", "application/json")], json.dumps(result).encode("utf-8"))
    status = int(result["statusCode"])
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw.encode("utf-8") if isinstance(raw, str) else json.dumps(raw).encode("utf-8")
    return HttpAnswer(status, headers, body)


class LocalLambdaContext:
    """What a handler reads from Lambda's context object (Powertools' Logger reads these)."""

    def __init__(self, route: Route, request_id: str) -> None:
        self.function_name = route.function_id
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = route.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{route.function_id}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{route.function_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + route.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _FunctionOutput(io.TextIOBase):
    """The functions' stdout and stderr: whatever they print goes to the current invocation's log.

    Lambda sends a function's output to CloudWatch, never to the caller; here it goes to the
    server's `function_log` (the terminal under `guildlog dev`), or nowhere. Loggers created at
    import time keep a reference to the stream they found, so they are given this one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.target: TextIO | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.target is not None:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()


_FUNCTION_OUTPUT = _FunctionOutput()


@contextmanager
def function_output(target: TextIO | None) -> Iterator[None]:
    """Send sys.stdout and sys.stderr to `target` (None: drop them) for the duration; hold _INVOKE_LOCK."""
    previous = _FUNCTION_OUTPUT.target
    _FUNCTION_OUTPUT.target = target
    try:
        with redirect_stdout(_FUNCTION_OUTPUT), redirect_stderr(_FUNCTION_OUTPUT):
            yield
    finally:
        _FUNCTION_OUTPUT.flush()
        _FUNCTION_OUTPUT.target = previous


def invoke(
    route: Route, event: dict[str, Any], log_stream: TextIO | None = None, function_log: TextIO | None = None
) -> HttpAnswer:
    """Run the route's handler on `event` in this process; a crash is a 500 that shows no traceback.

    What the function prints goes to `function_log` (None: dropped); a crash's traceback goes to
    `log_stream` (default stderr) for the developer, as Lambda's log would have it.
    """
    request_id = event["requestContext"]["requestId"]
    try:
        handler = route.handler()
        with _INVOKE_LOCK, environment(route.environment), function_output(function_log):
            result = handler(event, LocalLambdaContext(route, request_id))
        return answer_from_result(result)
    except Exception:
        stream = log_stream or sys.stderr
        print(f"{route.function_id} raised while handling {event['routeKey']} (request {request_id}):", file=stream)
        traceback.print_exc(file=stream)
        return json_answer(500, {"message": "Internal Server Error"})


class _RequestHandler(BaseHTTPRequestHandler):
    server: ApiGatewayServer
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is dropped after this long instead of holding a thread.
    timeout = 60

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _handle(self) -> None:
        path = urlsplit(self.path).path
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            self._send(json_answer(411, {"message": "Length Required"}))
            return
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            self._send(json_answer(400, {"message": "Bad Request"}))
            return
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._send(json_answer(413, {"message": "Request Entity Too Large"}))
            return
        body = self.rfile.read(length) if length > 0 else b""
        picked = select_route(self.server.routes, self.command, path)
        if picked is None:
            self._send(json_answer(404, {"message": "Not Found"}))
            self._access(404, None, None)
            return
        route, params = picked
        event = build_event(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            route_key=route.route_key,
            path_parameters=params,
        )
        started = time.monotonic()
        answer = invoke(route, event, self.server.log_stream, self.server.function_log)
        self._send(answer)
        self._access(answer.status, started, route.function_id)

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        names = {name.lower() for name, _ in answer.headers}
        for name, value in answer.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "date" not in names:
            self.send_header("date", formatdate(usegmt=True))
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _access(self, status: int, started: float | None, function_id: str | None) -> None:
        if not self.server.access_log:
            return
        took = f" {(time.monotonic() - started) * 1000:.0f} ms" if started is not None else ""
        target = f" -> {function_id}" if function_id else ""
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {self.command} {urlsplit(self.path).path} {status}{took}{target}", file=self.server.log_stream)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_access` writes one line per request when the access log is on."""


class ApiGatewayServer(LoopbackServer):
    """The routes on a loopback socket; `serve_in_thread()` to run it, `stop()` to end it."""

    thread_name = "guildlog-apigw"
    allow_reuse_address = True

    def __init__(
        self,
        routes: list[Route],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_log: bool = False,
        log_stream: TextIO | None = None,
        function_log: TextIO | None = None,
    ) -> None:
        """`log_stream`: access lines and crash tracebacks (default stderr); `function_log`: what the
        functions print, their JSON logs (default: dropped)."""
        self.routes = routes
        self.access_log = access_log
        self.log_stream = log_stream or sys.stderr
        self.function_log = function_log
        super().__init__((host, port), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer (a relay that timed out) is one line, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            print(
                f"client {client_address[0]} went away before its answer ({type(error).__name__})", file=self.log_stream
            )
            return
        super().handle_error(request, client_address)
