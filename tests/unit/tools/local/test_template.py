"""guildlog_tools.local.template: the short-tag loader and the helpers the local stack builds from."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from guildlog.errors import ConfigurationError
from guildlog_tools.local.template import (
    HttpRoute,
    default_template_path,
    function_environment,
    function_properties,
    function_url_routes,
    http_routes,
    load_template,
    table_definition,
    ttl_attribute,
)
from tests.paths import REPO

STACK = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.13
    CodeUri: src/
    Layers: [!Ref Shared]
    Environment:
      Variables:
        TABLE: !Ref Table
        MODE: global
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: PK, AttributeType: S }
        - { AttributeName: SK, AttributeType: S }
        - { AttributeName: GSI1PK, AttributeType: S }
      KeySchema:
        - { AttributeName: PK, KeyType: HASH }
        - { AttributeName: SK, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: GSI1
          KeySchema: [{ AttributeName: GSI1PK, KeyType: HASH }]
          Projection: { ProjectionType: KEYS_ONLY }
          ContributorInsightsSpecification: { Enabled: true }
      TimeToLiveSpecification: { AttributeName: gone_at, Enabled: true }
      SSESpecification: { SSEEnabled: true }
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: pkg.web.handle
      Layers: [!Ref Extra]
      Environment:
        Variables:
          MODE: own
          URL: !Sub "https://${AWS::Region}.example/${Table}"
      Events:
        Post:
          Type: HttpApi
          Properties: { Method: post, Path: /things }
        Fallback:
          Type: HttpApi
        Nightly:
          Type: Schedule
          Properties: { Schedule: rate(1 day) }
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.lambda_handler
      Description: !If [IsProd, !Join ["-", [a, !Select [0, !Split [",", "x,y"]]]], !Ref AWS::NoValue]
      Role: !GetAtt WorkerRole.Arn
      Events:
        Get:
          Type: HttpApi
          Properties: { Method: GET, Path: /things }
Outputs:
  Endpoint:
    Condition: IsProd
    Value: !GetAtt Cache.RedisEndpoint.Address
"""


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def stack(tmp_path: Path) -> dict[str, Any]:
    return load_template(write(tmp_path, STACK))


# --- load_template ----------------------------------------------------------------------------


def test_load_template_expands_ref_and_sub_when_short_tags_are_used(stack: dict[str, Any]) -> None:
    variables = stack["Resources"]["Api"]["Properties"]["Environment"]["Variables"]
    assert variables["URL"] == {"Fn::Sub": "https://${AWS::Region}.example/${Table}"}
    assert stack["Globals"]["Function"]["Environment"]["Variables"]["TABLE"] == {"Ref": "Table"}


def test_load_template_splits_getatt_at_the_first_dot_when_attribute_is_dotted(stack: dict[str, Any]) -> None:
    assert stack["Resources"]["Worker"]["Properties"]["Role"] == {"Fn::GetAtt": ["WorkerRole", "Arn"]}
    assert stack["Outputs"]["Endpoint"]["Value"] == {"Fn::GetAtt": ["Cache", "RedisEndpoint.Address"]}


def test_load_template_expands_nested_tags_when_functions_are_composed(stack: dict[str, Any]) -> None:
    assert stack["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert stack["Resources"]["Worker"]["Properties"]["Description"] == {
        "Fn::If": [
            "IsProd",
            {"Fn::Join": ["-", ["a", {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}]]},
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_load_template_keeps_dates_as_strings_when_unquoted(stack: dict[str, Any]) -> None:
    assert stack["AWSTemplateFormatVersion"] == "2010-09-09"


def test_load_template_expands_getatt_and_condition_when_given_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Resources:
          R: { Type: X, Properties: { A: !GetAtt [Res, Arn], B: !Condition IsProd, C: !Base64 hi } }
        """,
    )
    properties = load_template(path)["Resources"]["R"]["Properties"]
    assert properties == {
        "A": {"Fn::GetAtt": ["Res", "Arn"]},
        "B": {"Condition": "IsProd"},
        "C": {"Fn::Base64": "hi"},
    }


def test_load_template_raises_configuration_error_when_a_tag_is_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  R: { Type: X, Properties: { A: !Reff Table } }\n")
    with pytest.raises(ConfigurationError, match="not valid YAML") as caught:
        load_template(path)
    assert "!Reff" in caught.value.fields["reason"]


def test_load_template_refuses_python_tags_when_loading(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  R: !!python/object/apply:os.system [echo]\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_template(path)


def test_load_template_raises_configuration_error_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_template(tmp_path / "absent.yaml")


def test_load_template_raises_configuration_error_when_resources_are_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no Resources"):
        load_template(write(tmp_path, "- just\n- a list\n"))


def test_load_template_reads_the_checkout_template_when_no_path_is_given() -> None:
    assert default_template_path() == REPO / "template.yaml"
    assert "Resources" in load_template()


# --- table ------------------------------------------------------------------------------------


def test_table_definition_is_valid_create_table_input_when_read_from_the_stack() -> None:
    import boto3
    from botocore.validate import validate_parameters

    definition = table_definition(load_template())
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    validate_parameters(definition, client.meta.service_model.operation_model("CreateTable").input_shape)


def test_table_definition_keeps_only_create_table_keys_when_template_has_more(stack: dict[str, Any]) -> None:
    definition = table_definition(stack)
    assert set(definition) == {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "GlobalSecondaryIndexes",
    }
    assert definition["TableName"] == "Table"
    assert definition["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "GSI1",
            "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]


def test_table_definition_returns_a_copy_when_caller_mutates_it(stack: dict[str, Any]) -> None:
    table_definition(stack)["KeySchema"].clear()
    assert len(stack["Resources"]["Table"]["Properties"]["KeySchema"]) == 2


def test_table_definition_includes_throughput_when_billing_is_provisioned(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              TableName: fixed
              AttributeDefinitions: [{ AttributeName: PK, AttributeType: S }]
              KeySchema: [{ AttributeName: PK, KeyType: HASH }]
              ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 }
        """,
    )
    definition = table_definition(load_template(path))
    assert definition["TableName"] == "fixed"
    assert definition["BillingMode"] == "PROVISIONED"
    assert definition["ProvisionedThroughput"] == {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}


def test_table_definition_raises_configuration_error_when_keys_use_intrinsics(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{ AttributeName: !Ref KeyName, AttributeType: S }]
              KeySchema: [{ AttributeName: !Ref KeyName, KeyType: HASH }]
        """,
    )
    with pytest.raises(ConfigurationError, match="intrinsic"):
        table_definition(load_template(path))


def test_table_definition_raises_configuration_error_when_tables_are_ambiguous(tmp_path: Path) -> None:
    properties = "{ BillingMode: PAY_PER_REQUEST, KeySchema: [], AttributeDefinitions: [] }"
    table = f"{{ Type: AWS::DynamoDB::Table, Properties: {properties} }}"
    template = load_template(write(tmp_path, f"Resources:\n  A: {table}\n  B: {table}\n"))
    with pytest.raises(ConfigurationError, match="exactly one"):
        table_definition(template)
    assert table_definition(template, "B")["TableName"] == "B"


def test_ttl_attribute_names_the_attribute_when_ttl_is_enabled(stack: dict[str, Any]) -> None:
    assert ttl_attribute(stack) == "gone_at"


def test_ttl_attribute_is_none_when_ttl_is_disabled(stack: dict[str, Any]) -> None:
    stack["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"]["Enabled"] = False
    assert ttl_attribute(stack) is None


# --- functions and routes ---------------------------------------------------------------------


def test_function_properties_apply_globals_when_the_function_omits_them(stack: dict[str, Any]) -> None:
    properties = function_properties(stack, "Api")
    assert properties["Runtime"] == "python3.13"
    assert properties["CodeUri"] == "src/"
    assert properties["Layers"] == [{"Ref": "Shared"}, {"Ref": "Extra"}]
    assert function_properties(stack, "Worker")["CodeUri"] == "functions/worker/"


def test_function_properties_raise_configuration_error_when_the_id_is_not_a_function(stack: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        function_properties(stack, "Table")


def test_function_environment_lets_the_function_win_when_names_collide(stack: dict[str, Any]) -> None:
    assert function_environment(stack, "Api") == {
        "TABLE": {"Ref": "Table"},
        "MODE": "own",
        "URL": {"Fn::Sub": "https://${AWS::Region}.example/${Table}"},
    }
    assert function_environment(stack, "Worker") == {"TABLE": {"Ref": "Table"}, "MODE": "global"}
    assert stack["Globals"]["Function"]["Environment"]["Variables"]["MODE"] == "global"


def test_http_routes_list_every_http_api_event_when_read(stack: dict[str, Any]) -> None:
    assert http_routes(stack) == [
        HttpRoute("ANY", "$default", "Api", "src/pkg/web.py", "handle"),
        HttpRoute("GET", "/things", "Worker", "functions/worker/app.py", "lambda_handler"),
        HttpRoute("POST", "/things", "Api", "src/pkg/web.py", "handle"),
    ]


def test_http_routes_raise_configuration_error_when_code_is_not_local(stack: dict[str, Any]) -> None:
    stack["Resources"]["Worker"]["Properties"]["CodeUri"] = {"Bucket": "b", "Key": "k"}
    with pytest.raises(ConfigurationError, match="CodeUri"):
        http_routes(stack)


def test_function_url_routes_serve_ingest_at_its_webhook_path_when_it_has_a_function_url(
    stack: dict[str, Any],
) -> None:
    assert function_url_routes(stack) == []
    stack["Resources"]["IngestFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "functions/ingest/", "Handler": "app.lambda_handler",
                       "FunctionUrlConfig": {"AuthType": "NONE"}},
    }  # fmt: skip
    assert function_url_routes(stack) == [
        HttpRoute("POST", "/gateway/events", "IngestFunction", "functions/ingest/app.py", "lambda_handler", True)
    ]
    assert all(not route.function_url for route in http_routes(stack))


def test_function_url_routes_raise_configuration_error_when_a_function_url_has_no_known_path(
    stack: dict[str, Any],
) -> None:
    stack["Resources"]["Worker"]["Properties"]["FunctionUrlConfig"] = {"AuthType": "NONE"}
    with pytest.raises(ConfigurationError, match="function URL") as raised:
        function_url_routes(stack)
    assert raised.value.fields == {"function": "Worker"}
