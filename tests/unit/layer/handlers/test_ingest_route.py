"""handlers/ingest.py: the function URL hands every path and method over; only POST /gateway/events is ingested."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guildlog.errors import MethodNotAllowedError, RouteNotFoundError
from guildlog.handlers.http import error_response
from guildlog.handlers.ingest import INGEST_METHOD, INGEST_PATH, check_route, handle_gateway_events


def request(path: str, method: str) -> dict[str, Any]:
    """A function URL request (payload format 2.0) carrying a body that is neither signed nor valid."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "headers": {"content-type": "application/json"},
        "body": "{}",
        "isBase64Encoded": False,
        "requestContext": {"routeKey": "$default", "http": {"method": method, "path": path}},
    }


class Untouchable:
    """Settings and ingestor that fail the test when anything reads or calls them."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the request reached {name!r}")


def test_check_route_accepts_the_webhook_when_posted_to_its_path() -> None:
    check_route(request(INGEST_PATH, INGEST_METHOD))
    assert (INGEST_METHOD, INGEST_PATH) == ("POST", "/gateway/events")


@pytest.mark.parametrize("path", ["/", "/gateway/events/", "/gateway", "/interactions", "/GATEWAY/EVENTS", ""])
def test_check_route_answers_404_when_the_path_is_not_the_webhook(path: str) -> None:
    with pytest.raises(RouteNotFoundError) as raised:
        check_route(request(path, "POST"))

    answer = error_response(raised.value)
    assert answer["statusCode"] == 404
    assert answer["headers"]["content-type"] == "application/json"
    assert json.loads(answer["body"]) == {"error": "not found: the relay's webhook is POST /gateway/events"}


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", ""])
def test_check_route_answers_405_naming_post_when_the_method_is_not_post(method: str) -> None:
    with pytest.raises(MethodNotAllowedError) as raised:
        check_route(request(INGEST_PATH, method))

    answer = error_response(raised.value)
    assert answer["statusCode"] == 405
    assert answer["headers"]["allow"] == "POST"
    assert json.loads(answer["body"]) == {"error": "method not allowed: /gateway/events takes POST"}


def test_check_route_reads_the_path_from_the_request_context_when_raw_path_is_absent() -> None:
    event = request(INGEST_PATH, "POST")
    del event["rawPath"]
    check_route(event)
    event["requestContext"]["http"]["path"] = "/elsewhere"
    with pytest.raises(RouteNotFoundError):
        check_route(event)


def test_check_route_answers_405_when_the_request_has_no_method() -> None:
    event = request(INGEST_PATH, "POST")
    del event["requestContext"]
    with pytest.raises(MethodNotAllowedError):
        check_route(event)


@pytest.mark.parametrize(("path", "method"), [("/", "POST"), ("/gateway/events", "GET")])
def test_handle_gateway_events_refuses_before_verifying_or_writing_when_the_route_is_wrong(
    path: str, method: str
) -> None:
    with pytest.raises((RouteNotFoundError, MethodNotAllowedError)):
        handle_gateway_events(request(path, method), Untouchable(), Untouchable())  # type: ignore[arg-type]
