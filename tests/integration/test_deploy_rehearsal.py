"""The deploy rehearsal: template.yaml, transformed by the SAM translator, created in moto's CloudFormation
(a stand-in for `sam deploy`), and the created resources read back through the AWS APIs.

What moto's CloudFormation cannot create is listed in MOTO_CANNOT_CREATE, and each of those
resources' properties is checked from the transformed template instead; so are the few properties
it creates a resource without (MOTO_DROPS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog_tools.local.template import load_template
from tests.integration import rehearsal

pytestmark = pytest.mark.integration

STACK = "guildlog-rehearsal"
# Moto 5's CloudFormation skips these types; the last tests check their properties from the template.
MOTO_CANNOT_CREATE = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Athena::NamedQuery",
    "AWS::Athena::WorkGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    # The web viewer's session key (GenerateSecretString); tests/unit/test_template.py checks it.
    "AWS::SecretsManager::Secret",
}
# Properties moto's CloudFormation leaves out of resources it does create (moto 5.2).
MOTO_DROPS = {
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"),
    ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"),
    ("AWS::S3::Bucket", "LifecycleConfiguration"),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"),
    ("AWS::S3::Bucket", "VersioningConfiguration"),
    ("AWS::Lambda::Function", "Architectures"),
    ("AWS::Lambda::Function", "Layers"),
}


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            template = rehearsal.built_template(boto3.client("s3"))
            cloudformation = boto3.client("cloudformation")
            with rehearsal.skipped_types() as skipped:
                cloudformation.create_stack(
                    StackName=STACK,
                    TemplateBody=rehearsal.as_json(template),
                    Parameters=[
                        {"ParameterKey": k, "ParameterValue": v} for k, v in rehearsal.parameters("cd" * 32).items()
                    ],
                    Capabilities=["CAPABILITY_IAM"],
                )
                [stack] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
                summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
            physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in summaries}
            yield {
                "template": template,
                "stack": stack,
                "physical": physical,
                "skipped": skipped,
                "client": boto3.client,
                "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]},
            }
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_rehearsal_creates_the_stack_when_the_template_is_transformed(deployed: dict[str, Any]) -> None:
    assert deployed["stack"]["StackStatus"] == "CREATE_COMPLETE"


def test_rehearsal_skips_only_the_listed_types_when_moto_creates_the_stack(deployed: dict[str, Any]) -> None:
    assert deployed["skipped"] == MOTO_CANNOT_CREATE


def test_rehearsal_table_has_the_template_keys_and_indexes_when_created(deployed: dict[str, Any]) -> None:
    table = deployed["client"]("dynamodb").describe_table(TableName=deployed["outputs"]["TableName"])["Table"]

    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [("PK", "HASH"), ("SK", "RANGE")]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {f"GSI{n}": [f"GSI{n}PK", f"GSI{n}SK"] for n in (1, 2, 3)}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_rehearsal_bucket_is_encrypted_when_created(deployed: dict[str, Any]) -> None:
    s3, bucket = deployed["client"]("s3"), deployed["outputs"]["ArchiveBucketName"]

    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]

    assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


QUEUES = sorted(_of_type(load_template(), "AWS::SQS::Queue"))


@pytest.mark.parametrize("queue_id", QUEUES)
def test_rehearsal_queue_keeps_its_redrive_policy_when_created(deployed: dict[str, Any], queue_id: str) -> None:
    declared = deployed["template"]["Resources"][queue_id]["Properties"]
    attributes = deployed["client"]("sqs").get_queue_attributes(
        QueueUrl=deployed["physical"][queue_id], AttributeNames=["All"]
    )["Attributes"]

    if "RedrivePolicy" in declared:
        policy = json.loads(attributes["RedrivePolicy"])
        assert policy["maxReceiveCount"] == int(declared["RedrivePolicy"]["maxReceiveCount"])
    else:
        assert "RedrivePolicy" not in attributes


FUNCTIONS = sorted(_of_type(load_template(), "AWS::Serverless::Function"))


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_rehearsal_function_has_the_template_settings_when_created(deployed: dict[str, Any], function_id: str) -> None:
    declared = deployed["template"]["Resources"][function_id]["Properties"]
    config = deployed["client"]("lambda").get_function_configuration(FunctionName=deployed["physical"][function_id])

    assert config["Runtime"] == "python3.13"
    assert (config["MemorySize"], config["Timeout"]) == (declared["MemorySize"], declared["Timeout"])
    assert config["Handler"] == "app.lambda_handler"
    variables = config["Environment"]["Variables"]
    assert variables["GUILDLOG_TABLE_NAME"] == deployed["outputs"]["TableName"]
    assert variables["GUILDLOG_DISCORD_PUBLIC_KEY"] == "cd" * 32
    assert variables["GUILDLOG_BOT_TOKEN_SECRET_ARN"] == rehearsal.SECRET_ARN


# -- what moto cannot create, checked from the transformed template


def test_rehearsal_bucket_policy_denies_plain_http_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [policy] = [
        policy
        for policy in _of_type(deployed["template"], "AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": "ArchiveBucket"}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in (False, "false")
        for s in statements
    )


def test_rehearsal_http_api_routes_reach_the_functions_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [api] = _of_type(deployed["template"], "AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]

    assert set(paths) == {"/interactions", "/app", "/app/{proxy+}"}
    for path in paths.values():
        for operation in path.values():
            assert operation["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"


def test_rehearsal_relay_endpoint_is_the_public_ingest_function_url_when_created(deployed: dict[str, Any]) -> None:
    function = deployed["physical"]["IngestFunction"]
    config = deployed["client"]("lambda").get_function_url_config(FunctionName=function)

    assert config["AuthType"] == "NONE" and not config.get("Cors")
    assert deployed["outputs"]["GatewayEventsUrl"] == config["FunctionUrl"].rstrip("/") + "/gateway/events"
    assert deployed["outputs"]["GatewayEventsUrl"].startswith("https://") and ".lambda-url." in config["FunctionUrl"]


def test_rehearsal_only_ingest_function_is_public_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    urls = _of_type(deployed["template"], "AWS::Lambda::Url").values()
    public = [
        (p["Properties"]["FunctionName"], p["Properties"]["Action"])
        for p in _of_type(deployed["template"], "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]

    assert [(u["Properties"]["TargetFunctionArn"], u["Properties"]["AuthType"]) for u in urls] == [
        ({"Ref": "IngestFunction"}, "NONE")
    ]
    # A function URL with AuthType NONE answers only when both actions are granted to everyone.
    assert sorted(public) == [
        ({"Ref": "IngestFunction"}, "lambda:InvokeFunction"),
        ({"Ref": "IngestFunction"}, "lambda:InvokeFunctionUrl"),
    ]


def test_rehearsal_http_api_stage_is_throttled_and_logged_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [stage] = _of_type(deployed["template"], "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]

    assert properties["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert properties["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}


def test_rehearsal_worker_retries_failed_jobs_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    configs = _of_type(deployed["template"], "AWS::Lambda::EventInvokeConfig").values()
    worker = next(c for c in configs if c["Properties"]["FunctionName"] == {"Ref": "WorkerFunction"})

    assert worker["Properties"]["MaximumRetryAttempts"] == 2


def test_rehearsal_glue_tables_project_their_partitions_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    tables = _of_type(deployed["template"], "AWS::Glue::Table").values()

    for table in tables:
        parameters = table["Properties"]["TableInput"]["Parameters"]
        assert parameters["projection.enabled"] in (True, "true")
    assert len(_of_type(deployed["template"], "AWS::Glue::Database")) == 1


def test_rehearsal_workgroup_limits_the_bytes_scanned_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [workgroup] = _of_type(deployed["template"], "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]

    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "QueryScanLimitBytes"}
    assert configuration["EnforceWorkGroupConfiguration"] in (True, "true")
    queries = _of_type(deployed["template"], "AWS::Athena::NamedQuery").values()
    assert all(q["Properties"]["WorkGroup"] == {"Ref": "AthenaWorkGroup"} for q in queries)


def test_rehearsal_drops_only_the_listed_properties_when_moto_creates_the_stack(deployed: dict[str, Any]) -> None:
    client, outputs = deployed["client"], deployed["outputs"]
    function = client("lambda").get_function_configuration(FunctionName=deployed["physical"]["IngestFunction"])
    ttl = client("dynamodb").describe_time_to_live(TableName=outputs["TableName"])["TimeToLiveDescription"]
    s3 = client("s3")
    backups = client("dynamodb").describe_continuous_backups(TableName=outputs["TableName"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    s3_versioning = client("s3").get_bucket_versioning(Bucket=outputs["ArchiveBucketName"])
    missing = {
        ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): ttl["TimeToLiveStatus"] != "ENABLED",
        ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): pitr != "ENABLED",
        ("AWS::S3::Bucket", "VersioningConfiguration"): s3_versioning.get("Status") != "Enabled",
        ("AWS::Lambda::Function", "Architectures"): function["Architectures"] != ["arm64"],
        ("AWS::Lambda::Function", "Layers"): not function.get("Layers"),
        ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"): _s3_missing(
            s3.get_public_access_block, outputs["ArchiveBucketName"]
        ),
        ("AWS::S3::Bucket", "LifecycleConfiguration"): _s3_missing(
            s3.get_bucket_lifecycle_configuration, outputs["ArchiveBucketName"]
        ),
    }

    assert {key for key, gone in missing.items() if gone} == MOTO_DROPS


def _s3_missing(call: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        call(Bucket=bucket)
    except ClientError:
        return True
    return False


def test_rehearsal_table_expires_items_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [table] = _of_type(deployed["template"], "AWS::DynamoDB::Table").values()

    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_rehearsal_functions_run_on_arm64_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    functions = _of_type(deployed["template"], "AWS::Lambda::Function").values()

    assert functions and all(f["Properties"]["Architectures"] == ["arm64"] for f in functions)


def test_rehearsal_bucket_blocks_public_access_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    bucket = deployed["template"]["Resources"]["ArchiveBucket"]

    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )


def test_rehearsal_bucket_moves_old_objects_to_cheaper_storage_when_read_from_the_template(
    deployed: dict[str, Any],
) -> None:
    bucket = deployed["template"]["Resources"]["ArchiveBucket"]
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}

    for prefix in ("raw", "events", "events-csv"):
        transitions = rules[f"{prefix}-to-cheaper-storage"]["Transitions"]
        assert [(t["TransitionInDays"], t["StorageClass"]) for t in transitions][:1] == [(30, "STANDARD_IA")]


def test_rehearsal_table_keeps_backups_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    [table] = _of_type(deployed["template"], "AWS::DynamoDB::Table").values()

    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_rehearsal_bucket_keeps_versions_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    bucket = deployed["template"]["Resources"]["ArchiveBucket"]

    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_rehearsal_functions_load_the_common_layer_when_read_from_the_template(deployed: dict[str, Any]) -> None:
    functions = _of_type(deployed["template"], "AWS::Lambda::Function").values()
    [layer_id] = _of_type(deployed["template"], "AWS::Lambda::LayerVersion")

    assert functions and all(f["Properties"]["Layers"] == [{"Ref": layer_id}] for f in functions)


def test_rehearsal_runs_the_relay_service_with_its_settings_when_the_stack_hosts_the_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RelayHosting=fargate with two shard groups: moto creates the VPC, the cluster, the task definition
    and a service of two tasks, each told to claim one of two groups."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "us-east-1" if name == "AWS_DEFAULT_REGION" else "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), rehearsal.skipped_types():
        arn = boto3.client("secretsmanager").create_secret(Name="guildlog/relay-key", SecretString="ab" * 32)["ARN"]
        parameters = {
            **rehearsal.parameters("cd" * 32),
            "RelayHosting": "fargate",
            "RelayImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/guildlog-relay:1",
            "RelaySigningKeySecretArn": arn,
            "RelaySpot": "false",
            "RelayShardGroups": "2",
        }
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="guildlog-hosted",
            TemplateBody=rehearsal.as_json(rehearsal.built_template(boto3.client("s3"))),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        [stack] = cloudformation.describe_stacks(StackName="guildlog-hosted")["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        cluster, service = outputs["RelayServiceName"].split("/")
        ecs = boto3.client("ecs")
        [found] = ecs.describe_services(cluster=cluster, services=[service])["services"]
        task = ecs.describe_task_definition(taskDefinition=found["taskDefinition"])["taskDefinition"]

    assert stack["StackStatus"] == "CREATE_COMPLETE" and found["desiredCount"] == 2
    [container] = task["containerDefinitions"]
    settings = {e["name"]: e["value"] for e in container["environment"]}
    assert settings["GUILDLOG_SIGNING_KEY_SECRET_ARN"] == arn and settings["GUILDLOG_CHECKPOINT_TABLE"]
    assert settings["GUILDLOG_SHARD_GROUPS"] == "2"
    assert container["image"] == parameters["RelayImageUri"] and container["readonlyRootFilesystem"] is True
