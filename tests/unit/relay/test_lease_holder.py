"""The name a relay process holds its shard group's lease under, as `guildlog doctor` shows it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from guildlog_relay.shard_groups import holder_id


class _TaskMetadata(BaseHTTPRequestHandler):
    """ECS's task metadata endpoint (v4): GET <base>/task answers the task's ARN."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/v4/abc/task":
            self.send_error(404)
            return
        body = json.dumps({"TaskARN": "arn:aws:ecs:us-east-1:123456789012:task/guildlog/0f1e2d3c4b5a"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata_base() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _TaskMetadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v4/abc"
    server.shutdown()
    server.server_close()


def test_holder_id_names_the_ecs_task_when_the_metadata_endpoint_answers(metadata_base: str) -> None:
    holder = holder_id({"ECS_CONTAINER_METADATA_URI_V4": metadata_base})

    assert holder.startswith("ecs:0f1e2d3c4b5a#")


def test_holder_id_prefers_the_configured_name_when_one_is_set(metadata_base: str) -> None:
    holder = holder_id({"GUILDLOG_RELAY_HOLDER": "relay-a", "ECS_CONTAINER_METADATA_URI_V4": metadata_base})

    assert holder.startswith("relay-a#")


def test_holder_id_falls_back_to_host_and_pid_when_the_metadata_endpoint_is_gone(metadata_base: str) -> None:
    holder = holder_id({"ECS_CONTAINER_METADATA_URI_V4": metadata_base + "/missing"})

    assert not holder.startswith("ecs:")
    assert ":" in holder.split("#")[0]


def test_holder_id_tells_two_runs_of_one_process_apart_when_named_alike() -> None:
    assert holder_id({"GUILDLOG_RELAY_HOLDER": "relay-a"}) != holder_id({"GUILDLOG_RELAY_HOLDER": "relay-a"})
