"""The local stack: moto + template.yaml's HTTP API on loopback, the handlers in-process, dev.json."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from guildlog.adapters.hot_reader import HotReader
from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.services.commands.message import message_history
from guildlog_tools.local.apigw import ApiGatewayServer, Route
from guildlog_tools.local.stack import LocalStack
from guildlog_tools.local.template import (
    function_url_routes,
    http_routes,
    load_template,
    table_definition,
    ttl_attribute,
)

pytestmark = pytest.mark.integration

HTTP_TIMEOUT_S = 30
GUILD = "900000000000000001"
CHANNEL = "900000000000000010"
AUTHOR = "900000000000000100"
# Yesterday noon UTC: a fixed partition day that is inside the hot retention.
MOMENT = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
MESSAGE_ID = str(((int(MOMENT.timestamp() * 1000) - 1_420_070_400_000) << 22) + 7)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path / "state" / "dev.json") as running:
        yield running


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST through a real loopback connection; (status, parsed JSON answer)."""
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=HTTP_TIMEOUT_S)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def batch_body() -> bytes:
    """A gzip'd protocol-v1 batch with one MESSAGE_CREATE, as the relay sends it."""
    when = MOMENT.isoformat().replace("+00:00", "Z")
    envelope = {
        "v": 1,
        "batch_id": "local-stack-test-1",
        "relay": {"name": "test", "shard": [0, 1], "session_id": "sess-local"},
        "events": [
            {
                "t": "MESSAGE_CREATE",
                "seq": 1,
                "received_at": when,
                "session_id": "sess-local",
                "shard": [0, 1],
                "d": {
                    "id": MESSAGE_ID,
                    "channel_id": CHANNEL,
                    "guild_id": GUILD,
                    "author": {"id": AUTHOR, "username": "ada"},
                    "content": "said through the local stack",
                    "timestamp": when,
                    "edited_timestamp": None,
                },
            }
        ],
    }
    return gzip.compress(json.dumps(envelope).encode("utf-8"))


def signed_headers(private_key: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Content-Encoding": "gzip", **Signer(private_key).headers(body)}


def test_local_stack_listens_on_free_loopback_ports_when_ports_are_zero(stack: LocalStack) -> None:
    api, aws = urlsplit(stack.api_url), urlsplit(stack.aws_endpoint_url)
    assert (api.hostname, aws.hostname) == ("127.0.0.1", "127.0.0.1")
    assert api.port and aws.port and api.port != aws.port


def test_local_stack_creates_table_with_ttl_when_template_defines_them(stack: LocalStack) -> None:
    template = load_template()
    expected = table_definition(template)
    table = stack.client("dynamodb").describe_table(TableName=stack.table)["Table"]
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.table)["TimeToLiveDescription"]
    assert table["KeySchema"] == expected["KeySchema"]
    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == sorted(
        index["IndexName"] for index in expected["GlobalSecondaryIndexes"]
    )
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", ttl_attribute(template))


def test_local_stack_creates_bucket_with_template_settings_when_started(stack: LocalStack) -> None:
    properties = load_template()["Resources"]["ArchiveBucket"]["Properties"]
    s3 = stack.client("s3")
    block = s3.get_public_access_block(Bucket=stack.bucket)["PublicAccessBlockConfiguration"]
    assert block == properties["PublicAccessBlockConfiguration"]
    assert s3.get_bucket_versioning(Bucket=stack.bucket)["Status"] == properties["VersioningConfiguration"]["Status"]


def test_local_stack_serves_every_template_route_when_started(stack: LocalStack) -> None:
    template = load_template()
    declared = {f"{route.method} {route.path}" for route in http_routes(template)}
    declared |= {f"{route.method} {route.path} (function URL)" for route in function_url_routes(template)}
    assert {key for key, _, _ in stack.endpoints()} == declared
    assert "POST /gateway/events (function URL)" in declared


def test_local_stack_serves_the_ingest_function_url_at_the_webhook_path_when_started(stack: LocalStack) -> None:
    served = {(key, url, function) for key, url, function in stack.endpoints()}
    assert ("POST /gateway/events (function URL)", stack.gateway_events_url, "IngestFunction") in served
    # A function URL hands the handler every method: the handler itself answers 405, naming POST.
    target = urlsplit(stack.gateway_events_url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=HTTP_TIMEOUT_S)
    try:
        connection.request("GET", target.path)
        answer = connection.getresponse()
        status, allow, body = answer.status, answer.getheader("allow"), json.loads(answer.read())
    finally:
        connection.close()
    assert (status, allow) == (405, "POST")
    assert body == {"error": "method not allowed: /gateway/events takes POST"}


def test_local_stack_lands_batch_in_s3_and_dynamodb_when_post_is_signed(stack: LocalStack) -> None:
    assert stack.keys is not None
    body = batch_body()
    status, answer = post(stack.gateway_events_url, body, signed_headers(stack.keys.relay_private_key, body))
    assert (status, answer["accepted"]) == (200, 1)
    assert stack.drain(HTTP_TIMEOUT_S * 4)
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("Contents", [])
    partition = f"year={MOMENT:%Y}/month={MOMENT:%m}/day={MOMENT:%d}/"
    assert {key["Key"].split("/", 1)[0] for key in listed if partition in key["Key"]} >= {"raw", "events", "events_csv"}
    history = message_history(HotReader(stack.table, stack.client("dynamodb")), MESSAGE_ID, GUILD)
    assert history is not None
    assert [version["content"] for version in history.versions] == ["said through the local stack"]


def test_local_stack_answers_401_when_signature_is_by_another_key(stack: LocalStack) -> None:
    body = batch_body()
    status, answer = post(stack.gateway_events_url, body, signed_headers(generate_keypair().private_key, body))
    assert status == 401
    assert "error" in answer


def test_local_stack_answers_404_json_when_route_is_unknown(stack: LocalStack) -> None:
    status, answer = post(f"{stack.api_url}/no/such/route", b"{}", {"Content-Type": "application/json"})
    assert (status, answer) == (404, {"message": "Not Found"})


def test_local_stack_writes_dev_file_with_keys_and_mode_600_when_started(stack: LocalStack) -> None:
    info = json.loads(stack.dev_file.read_text(encoding="utf-8"))
    required = {"api_url", "aws_endpoint_url", "region", "bucket", "table", "relay_private_key", "relay_public_key",
                "discord_private_key", "discord_public_key", "application_id"}  # fmt: skip
    assert required <= info.keys()
    assert (info["api_url"], info["table"], info["bucket"]) == (stack.api_url, stack.table, stack.bucket)
    assert Signer(info["relay_private_key"]).public_key == info["relay_public_key"]
    assert stat.S_IMODE(stack.dev_file.stat().st_mode) == 0o600


def test_local_stack_keeps_dev_keys_when_restarted(tmp_path: Path) -> None:
    dev_file = tmp_path / "dev.json"
    with LocalStack(dev_file=dev_file) as first:
        keys = first.keys
    with LocalStack(dev_file=dev_file) as second:
        assert second.keys == keys
        assert not second.keys_created


def test_local_stack_refuses_second_stack_when_one_runs_in_process(stack: LocalStack, tmp_path: Path) -> None:
    from guildlog.errors import ConfigurationError

    with pytest.raises(ConfigurationError), LocalStack(dev_file=tmp_path / "other.json"):
        pass


def test_apigw_answers_500_without_traceback_when_handler_raises(tmp_path: Path) -> None:
    handler_file = tmp_path / "app.py"
    handler_file.write_text("def lambda_handler(event, context):\n    raise RuntimeError('secret detail')\n")
    route = Route(method="POST", path="/boom", function_id="BoomFunction", handler_file=handler_file,
                  handler_name="lambda_handler")  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("w") as log_stream:
        server = ApiGatewayServer([route], log_stream=log_stream)
        server.serve_in_thread()
        try:
            status, answer = post(f"{server.url}/boom", b"{}", {"Content-Type": "application/json"})
        finally:
            server.stop()
    assert (status, answer) == (500, {"message": "Internal Server Error"})
    assert "secret detail" in log.read_text()  # the developer still sees it


def test_apigw_hands_handler_base64_body_when_request_is_gzip(tmp_path: Path) -> None:
    handler_file = tmp_path / "app.py"
    handler_file.write_text(
        "import json\n"
        "def lambda_handler(event, context):\n"
        "    keys = ('routeKey', 'rawPath', 'isBase64Encoded', 'body', 'headers')\n"
        "    return {'statusCode': 200, 'body': json.dumps({k: event[k] for k in keys}\n"
        "            | {'method': event['requestContext']['http']['method'],\n"
        "               'timeEpoch': event['requestContext']['timeEpoch']})}\n"
    )
    route = Route(method="POST", path="/echo", function_id="EchoFunction", handler_file=handler_file,
                  handler_name="lambda_handler")  # fmt: skip
    server = ApiGatewayServer([route])
    server.serve_in_thread()
    try:
        body = gzip.compress(b'{"hello": "world"}')
        status, echoed = post(f"{server.url}/echo", body, {"Content-Encoding": "gzip", "X-Mixed-Case": "yes"})
    finally:
        server.stop()
    assert status == 200
    assert (echoed["routeKey"], echoed["rawPath"], echoed["method"]) == ("POST /echo", "/echo", "POST")
    assert echoed["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(echoed["body"])) == b'{"hello": "world"}'
    assert echoed["headers"]["x-mixed-case"] == "yes"
    assert isinstance(echoed["timeEpoch"], int)
