"""guildlog_tools.local.apigw: how a function URL's route is matched and what its event says."""

from __future__ import annotations

from pathlib import Path

from guildlog_tools.local.apigw import Route, build_event, select_route


def route(method: str, path: str, *, function_url: bool = False) -> Route:
    return Route(method, path, "Fn", Path("app.py"), "lambda_handler", function_url=function_url)


def test_function_url_route_takes_every_method_at_its_path_when_requested() -> None:
    url = route("POST", "/gateway/events", function_url=True)
    api = route("POST", "/interactions")

    assert [url.match(m, "/gateway/events") for m in ("POST", "GET", "DELETE")] == [{}, {}, {}]
    assert url.match("POST", "/gateway/events/x") is None
    assert api.match("GET", "/interactions") is None
    assert select_route([api, url], "GET", "/gateway/events") == (url, {})


def test_function_url_route_sends_the_default_route_key_and_shows_its_path_when_listed() -> None:
    url = route("POST", "/gateway/events", function_url=True)
    api = route("POST", "/interactions")

    assert (url.route_key, url.label) == ("$default", "POST /gateway/events (function URL)")
    assert (api.route_key, api.label) == ("POST /interactions", "POST /interactions")
    event = build_event(method="PUT", target="/gateway/events", headers=[], body=b"", source_ip="127.0.0.1",
                        route_key=url.route_key)  # fmt: skip
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == ("$default", "$default")
    assert (event["rawPath"], event["requestContext"]["http"]["method"]) == ("/gateway/events", "PUT")
