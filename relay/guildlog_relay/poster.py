"""POSTs one batch to the ingest webhook: gzip, sign, and retry what is worth retrying.

One loop owns the retry policy (capped exponential backoff with full jitter, Retry-After honoured).
Every attempt sends the same bytes under the same batch_id; only the signature timestamp is new,
because the webhook refuses signatures older than 300 s.

| answer                                   | what happens                                   |
|------------------------------------------|------------------------------------------------|
| 2xx                                      | ACCEPTED, with the webhook's counts            |
| 408, 429, 5xx, timeout, connection error | retried; UNAVAILABLE once retries run out      |
| 413                                      | TOO_LARGE: the caller splits the batch         |
| 400, 401                                 | REJECTED: the batch itself or the key is wrong |
| any other 3xx/4xx                        | REFUSED: configuration (URL), batch is kept    |
"""

from __future__ import annotations

import email.utils
import enum
import gzip
import http.client
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from guildlog import __version__
from guildlog.adapters.retry import full_jitter
from guildlog.adapters.signatures import Signer

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
# gzip level 1 is ~3× cheaper than 6 on event JSON for ~30 % more bytes on the wire; the relay's CPU is
# the scarcer resource (a 4 MB batch still leaves ~0.6 MB, far under the webhook's 6 MiB cap).
DEFAULT_GZIP_LEVEL = 1
# A single event refused as too large is tried once more at this level before it is given up.
MAX_GZIP_LEVEL = 9
# Only this much of an answer is read: the webhook's answers are a few counters.
_MAX_ANSWER_BYTES = 64 * 1024
_RETRIED_STATUSES = frozenset({408, 429})
_REJECTED_STATUSES = frozenset({400, 401})


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    TOO_LARGE = "too_large"
    REJECTED = "rejected"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportError(Exception):
    """No HTTP answer: connection refused or reset, DNS, TLS, or a timeout."""


class Transport(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST turns into a GET elsewhere; better to say the URL is wrong (REFUSED).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """The standard library's HTTP client: one request per call, no redirects followed."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must be http(s)")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - checked above
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read(_MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as err:
            with err:
                try:
                    payload = err.read(_MAX_ANSWER_BYTES)
                except (OSError, http.client.HTTPException):
                    payload = b""
                return Response(err.code, dict(err.headers.items()) if err.headers else {}, payload)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"{type(reason).__name__}: {reason}") from None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Full jitter: each delay is uniform in [0, capped backoff]."""

    max_retries: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After beyond this is cut to it: one answer must not park the relay for an hour.
    max_retry_after: float = 300.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The delay before retry number `retry` (1-based)."""
        return full_jitter(retry - 1, self.base_delay, self.max_delay, rng.random)


@dataclass(frozen=True)
class PostResult:
    outcome: Outcome
    status: int | None
    # The webhook's JSON answer on success, {"error": …} otherwise (never event content).
    answer: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    detail: str = ""


class Poster:
    """Sends batches to `endpoint`, signed with `signer`. `transport`, `sleep` and `rng` are
    injectable so tests run the whole policy without a network or a clock.

    Setting `stop` (a threading.Event) ends a retry loop early with UNAVAILABLE: a relay shutting
    down leaves the batch in the spool instead of sleeping out its backoff.
    """

    def __init__(
        self,
        endpoint: str,
        signer: Signer,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: Transport | None = None,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
        compress: bool = True,
        gzip_level: int = DEFAULT_GZIP_LEVEL,
        stop: threading.Event | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.signer = signer
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.transport: Transport = transport or UrllibTransport()
        self.stop = stop or threading.Event()
        self.sleep = sleep or self.stop.wait
        self.rng = rng or random.Random()
        self.compress = compress
        self.gzip_level = gzip_level

    def encode(self, body: bytes, *, gzip_level: int | None = None) -> bytes:
        """`body` as it is sent: gzipped when this poster compresses (no timestamp, so the same body
        always gives the same bytes); `gzip_level` overrides the default."""
        if not self.compress:
            return body
        return gzip.compress(body, compresslevel=self.gzip_level if gzip_level is None else gzip_level, mtime=0)

    def post(self, batch_id: str, body: bytes, *, gzip_level: int | None = None) -> PostResult:
        """POST `body` until a final answer or the retries run out (`gzip_level` overrides the default)."""
        return self.send(batch_id, self.encode(body, gzip_level=gzip_level))

    def send(self, batch_id: str, payload: bytes) -> PostResult:
        """`post` for a body already encoded by `encode`."""
        base_headers = {"Content-Type": "application/json", "User-Agent": f"guildlog-relay/{__version__}"}
        if self.compress:
            base_headers["Content-Encoding"] = "gzip"
        retry = 0
        while True:
            headers = {**base_headers, **self.signer.headers(payload)}
            try:
                response = self.transport(self.endpoint, payload, headers, self.timeout)
            except TransportError as exc:
                status, detail, retry_after = None, str(exc), None
            else:
                status = response.status
                answer = _json_object(response.body)
                if 200 <= status < 300:
                    return PostResult(Outcome.ACCEPTED, status, answer, retry)
                detail = _error_text(answer, response.body)
                if status == 413:
                    return PostResult(Outcome.TOO_LARGE, status, {"error": detail}, retry, detail)
                if status in _REJECTED_STATUSES:
                    return PostResult(Outcome.REJECTED, status, {"error": detail}, retry, detail)
                if not (status >= 500 or status in _RETRIED_STATUSES):
                    return PostResult(Outcome.REFUSED, status, {"error": detail}, retry, detail)
                retry_after = _retry_after(response.headers)
            if retry >= self.policy.max_retries or self.stop.is_set():
                return PostResult(Outcome.UNAVAILABLE, status, {"error": detail}, retry, detail)
            retry += 1
            if retry_after is not None:
                delay = min(retry_after, self.policy.max_retry_after)
            else:
                delay = self.policy.backoff(retry, self.rng)
            fields: dict[str, Any] = {"batch_id": batch_id, "retry": retry, "delay_s": round(delay, 3)}
            # An HTTP status says enough; without one, the connection error's name and text do.
            fields.update({"status": status} if status is not None else {"error": detail[:120]})
            log.warning("webhook unavailable, retrying", extra=fields)
            self.sleep(delay)
            if self.stop.is_set():
                return PostResult(Outcome.UNAVAILABLE, status, {"error": detail}, retry - 1, detail)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _error_text(answer: dict[str, Any], body: bytes) -> str:
    error = answer.get("error") or answer.get("message")
    if not isinstance(error, str):
        error = body[:200].decode("utf-8", "replace").strip()
    return " ".join(error.split())[:200]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
