"""Moto-backed AWS for integration tests: the table and bucket come from template.yaml's own definitions."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.paths import REPO

TABLE = "guildlog-test-table"
BUCKET = "guildlog-test-archive"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's in-memory AWS with the stack's table (with TTL) and bucket; yields clients and names."""
    import boto3
    from moto import mock_aws

    from guildlog_tools.local.template import load_template, table_definition, ttl_attribute

    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = load_template()
    with mock_aws():
        ddb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        ddb.create_table(**{**table_definition(template), "TableName": TABLE})
        ddb.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute(template)}
        )
        s3.create_bucket(Bucket=BUCKET)
        yield {"dynamodb": ddb, "s3": s3, "table": TABLE, "bucket": BUCKET}


def load_function(name: str) -> ModuleType:
    """A function's app.py, loaded by path as Lambda would (functions/ is not a package)."""
    path = REPO / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"guildlog_function_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    function_name = "guildlog-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:guildlog-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


def function_url_event(
    body: bytes, headers: dict[str, str], path: str = "/gateway/events", method: str = "POST"
) -> dict[str, Any]:
    """A request as IngestFunction's function URL hands it over (payload format 2.0, the shape an HTTP
    API's v2 integration has too): `$default` route, lower-cased headers, binary bodies base64."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
        "requestContext": {
            "accountId": "anonymous",
            "routeKey": "$default",
            "stage": "$default",
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
        },
    }


def now_iso(offset_seconds: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + offset_seconds))


def gzip_json(value: Any) -> bytes:
    return gzip.compress(json.dumps(value).encode("utf-8"))
