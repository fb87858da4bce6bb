"""template.yaml: the security and shape properties the stack promises, read from the template itself."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import pytest

from guildlog_tools.local.template import (
    archive_bucket_id,
    function_environment,
    function_properties,
    function_url_routes,
    http_routes,
    load_template,
    resources_of_type,
    table_definition,
    ttl_attribute,
)
from tests.paths import REPO

TEMPLATE_PATH = REPO / "template.yaml"
SETTINGS_VARIABLES = {
    "GUILDLOG_TABLE_NAME",
    "GUILDLOG_BUCKET_NAME",
    "GUILDLOG_RELAY_PUBLIC_KEY",
    "GUILDLOG_DISCORD_PUBLIC_KEY",
    "GUILDLOG_APPLICATION_ID",
    "GUILDLOG_RETENTION_DAYS",
    "GUILDLOG_BOT_TOKEN_SECRET_ARN",
    "GUILDLOG_DISCORD_API_BASE",
}
ARCHIVE_PREFIXES = ("raw/", "events/", "events_csv/")
# Services whose actions read or write guild data, secrets or keys.
DATA_SERVICES = {"s3", "dynamodb", "secretsmanager", "ssm", "kms", "glue", "athena", "sqs", "sns", "lambda"}
# Parameters that name a secret by its ARN; the secret itself never passes through the template.
SECRET_ARN_PARAMETERS = ("BotTokenSecretArn", "DiscordClientSecretArn", "RelaySigningKeySecretArn")
# A Discord bot token: base64 user id, a timestamp part and an HMAC part, dot-separated.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    [(logical_id, resource)] = found.items()
    return logical_id, resource


def archive_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket_id = archive_bucket_id(template)
    return bucket_id, template["Resources"][bucket_id]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_ids(template: dict[str, Any]) -> list[str]:
    ids = list(resources_of_type(template, "AWS::Serverless::Function"))
    assert ids, "the template declares no functions"
    return ids


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner, statement) for every identity policy statement: function Policies and IAM resources."""
    for function_id in function_ids(template):
        for policy in as_list(function_properties(template, function_id).get("Policies") or []):
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in as_list(policy["Statement"]):
                    yield function_id, statement
    for resource_type in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, resource in resources_of_type(template, resource_type).items():
            properties = resource.get("Properties", {})
            documents = [p.get("PolicyDocument", {}) for p in properties.get("Policies", [])]
            documents.append(properties.get("PolicyDocument", {}))
            for document in documents:
                for statement in as_list(document.get("Statement", [])):
                    yield logical_id, statement


def references(value: Any, name: str, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths inside `value` where `{"Ref": name}` or `${name}` appears."""
    if isinstance(value, dict):
        if value.get("Ref") == name:
            yield path
            return
        for key, item in value.items():
            yield from references(item, name, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, name, (*path, index))
    elif isinstance(value, str) and "${" + name + "}" in value:
        yield path


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


# --- archive bucket ---------------------------------------------------------------------------


def test_archive_bucket_blocks_public_access_when_deployed(template: dict[str, Any]) -> None:
    _, bucket = archive_bucket(template)
    block = bucket["Properties"]["PublicAccessBlockConfiguration"]
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    assert {flag: block.get(flag) for flag in flags} == dict.fromkeys(flags, True)


def test_archive_bucket_disables_acls_when_objects_are_written(template: dict[str, Any]) -> None:
    _, bucket = archive_bucket(template)
    rules = bucket["Properties"]["OwnershipControls"]["Rules"]
    assert [rule["ObjectOwnership"] for rule in rules] == ["BucketOwnerEnforced"]


def test_archive_bucket_encrypts_objects_when_stored_without_headers(template: dict[str, Any]) -> None:
    _, bucket = archive_bucket(template)
    configuration = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithms = {rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in configuration}
    assert algorithms and algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}


def test_archive_bucket_policy_denies_requests_when_transport_is_not_tls(template: dict[str, Any]) -> None:
    bucket_id, _ = archive_bucket(template)
    policies = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if resource["Properties"].get("Bucket") == {"Ref": bucket_id}
    ]
    assert len(policies) == 1
    bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    objects_arn = {"Fn::Sub": "${" + bucket_id + ".Arn}/*"}
    denials = [
        statement
        for statement in as_list(policies[0]["PolicyDocument"]["Statement"])
        if statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and as_list(statement.get("Action")) == ["s3:*"]
        and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
        and bucket_arn in as_list(statement.get("Resource"))
        and objects_arn in as_list(statement.get("Resource"))
    ]
    assert len(denials) == 1


@pytest.mark.parametrize("prefix", ARCHIVE_PREFIXES)
def test_archive_bucket_moves_objects_to_cheaper_storage_when_they_age(template: dict[str, Any], prefix: str) -> None:
    _, bucket = archive_bucket(template)
    rules = [
        rule
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if rule.get("Status") == "Enabled" and rule.get("Prefix") == prefix and "Transitions" in rule
    ]
    assert len(rules) == 1
    transitions = rules[0].get("Transitions", [])
    classes = [t["StorageClass"] for t in sorted(transitions, key=lambda t: t["TransitionInDays"])]
    assert classes and classes[0] in {"STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"}
    # Expiry is a rule of its own (ArchiveMaxRetentionDays may be shorter than a transition's age).
    assert "Expiration" not in rules[0] and "ExpirationInDays" not in rules[0]


def test_archive_bucket_expires_exports_when_a_week_old(template: dict[str, Any]) -> None:
    _, bucket = archive_bucket(template)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    exports = [r for r in rules if r.get("Status") == "Enabled" and r.get("Prefix") == "exports/"]
    assert [rule.get("ExpirationInDays") for rule in exports] == [7]


def test_archive_bucket_aborts_uploads_when_left_incomplete(template: dict[str, Any]) -> None:
    _, bucket = archive_bucket(template)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    cleanup = [
        rule
        for rule in rules
        if rule.get("Status") == "Enabled"
        and not rule.get("Prefix")
        and rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")
    ]
    assert cleanup, "no bucket-wide rule aborts incomplete multipart uploads"


@pytest.mark.parametrize("resource_type", ["AWS::S3::Bucket", "AWS::DynamoDB::Table"])
def test_stateful_resource_is_retained_when_stack_is_deleted_or_replaced(
    template: dict[str, Any], resource_type: str
) -> None:
    resources = resources_of_type(template, resource_type)
    assert resources
    for logical_id, resource in resources.items():
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), logical_id


# --- table ------------------------------------------------------------------------------------


def test_table_keeps_point_in_time_recovery_when_deployed(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::DynamoDB::Table")
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_table_expires_hot_items_when_expires_at_passes(template: dict[str, Any]) -> None:
    assert ttl_attribute(template) == "expires_at"


def test_table_bills_per_request_when_deployed(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::DynamoDB::Table")
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table["Properties"]


def test_table_encrypts_at_rest_when_deployed(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::DynamoDB::Table")
    assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True


def test_table_keys_follow_design_when_created(template: dict[str, Any]) -> None:
    definition = table_definition(template)
    key = {k["KeyType"]: k["AttributeName"] for k in definition["KeySchema"]}
    indexes = {
        index["IndexName"]: (
            {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]},
            index["Projection"]["ProjectionType"],
        )
        for index in definition["GlobalSecondaryIndexes"]
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    assert key == {"HASH": "PK", "RANGE": "SK"}
    assert indexes == {f"GSI{n}": ({"HASH": f"GSI{n}PK", "RANGE": f"GSI{n}SK"}, "ALL") for n in (1, 2, 3)}
    assert types == dict.fromkeys(["PK", "SK"] + [f"GSI{n}{k}" for n in (1, 2, 3) for k in ("PK", "SK")], "S")


# --- functions, logs, layer -------------------------------------------------------------------


def test_every_function_runs_python313_on_arm64_with_the_layer_when_deployed(template: dict[str, Any]) -> None:
    layer_id, _ = only(template, "AWS::Serverless::LayerVersion")
    for function_id in function_ids(template):
        properties = function_properties(template, function_id)
        assert properties.get("Runtime") == "python3.13", function_id
        assert properties.get("Architectures") == ["arm64"], function_id
        assert {"Ref": layer_id} in properties.get("Layers", []), function_id


def test_common_layer_builds_for_python313_on_arm64_when_sam_builds(template: dict[str, Any]) -> None:
    _, layer = only(template, "AWS::Serverless::LayerVersion")
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert (REPO / "layers/common/requirements.txt").is_file()


def test_every_function_logs_to_its_own_group_with_retention_when_deployed(template: dict[str, Any]) -> None:
    groups = {
        str(resource["Properties"].get("LogGroupName", {}).get("Fn::Sub")): resource["Properties"]
        for resource in resources_of_type(template, "AWS::Logs::LogGroup").values()
        if isinstance(resource["Properties"].get("LogGroupName"), dict)
    }
    for function_id in function_ids(template):
        group = groups.get(f"/aws/lambda/${{{function_id}}}")
        assert group is not None, f"{function_id} has no explicit log group"
        assert group.get("RetentionInDays") == {"Ref": "LogRetentionDays"}, function_id


def test_http_api_logs_access_when_requests_arrive(template: dict[str, Any]) -> None:
    _, api = only(template, "AWS::Serverless::HttpApi")
    destination = api["Properties"]["AccessLogSettings"]["DestinationArn"]
    group_id, attribute = destination["Fn::GetAtt"]
    group = template["Resources"][group_id]
    assert (group["Type"], attribute) == ("AWS::Logs::LogGroup", "Arn")
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_log_retention_parameter_allows_only_cloudwatch_values_when_deploying(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["LogRetentionDays"]
    valid = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
    assert set(parameter["AllowedValues"]) <= valid
    assert parameter["Default"] in parameter["AllowedValues"]


def test_every_function_gets_the_settings_environment_when_deployed(template: dict[str, Any]) -> None:
    for function_id in function_ids(template):
        environment = function_environment(template, function_id)
        assert set(environment) >= SETTINGS_VARIABLES, function_id
        assert environment["POWERTOOLS_SERVICE_NAME"] == "guildlog"
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "guildlog"
        assert function_properties(template, function_id).get("Tracing") == "Active"


def test_ingest_function_gives_up_within_30_seconds_when_slow(template: dict[str, Any]) -> None:
    # A function URL waits as long as the function runs; 30 s bounds a stuck batch (the relay retries it).
    properties = function_properties(template, "IngestFunction")
    assert properties["Timeout"] <= 30
    assert properties["MemorySize"] >= 1024


# --- routes -----------------------------------------------------------------------------------


def test_http_api_routes_reach_interactions_and_the_web_viewer_when_requested(template: dict[str, Any]) -> None:
    routes = {(r.method, r.path): (r.function_id, r.module_path, r.handler_name) for r in http_routes(template)}
    assert routes == {
        ("POST", "/interactions"): ("InteractionsFunction", "functions/interactions/app.py", "lambda_handler"),
        ("GET", "/app"): ("WebFunction", "functions/web/app.py", "lambda_handler"),
        ("ANY", "/app/{proxy+}"): ("WebFunction", "functions/web/app.py", "lambda_handler"),
    }


def test_relay_webhook_is_ingest_function_url_at_gateway_events_when_requested(template: dict[str, Any]) -> None:
    routes = [(r.method, r.path, r.function_id, r.module_path, r.handler_name) for r in function_url_routes(template)]
    assert routes == [("POST", "/gateway/events", "IngestFunction", "functions/ingest/app.py", "lambda_handler")]


# --- the ingest function URL ------------------------------------------------------------------


def test_only_ingest_function_has_a_url_when_deployed(template: dict[str, Any]) -> None:
    with_url = [f for f in function_ids(template) if "FunctionUrlConfig" in function_properties(template, f)]
    assert with_url == ["IngestFunction"]
    assert not resources_of_type(template, "AWS::Lambda::Url")
    # A public invoke permission of its own would open a function the template means to keep closed.
    permissions = resources_of_type(template, "AWS::Lambda::Permission").values()
    assert not [p for p in permissions if p["Properties"].get("Principal") == "*"]


def test_ingest_function_url_is_unauthenticated_without_cors_when_the_relay_signs_each_body(
    template: dict[str, Any],
) -> None:
    # AuthType NONE: the handler answers 404/405 to other routes and 401 to an unsigned body first.
    config = function_properties(template, "IngestFunction")["FunctionUrlConfig"]
    assert config == {"AuthType": "NONE"}
    environment = function_environment(template, "IngestFunction")
    assert environment["GUILDLOG_RELAY_PUBLIC_KEY"] == {"Ref": "RelayPublicKey"}
    skips = {s["id"]: s["comment"] for s in template["Resources"]["IngestFunction"]["Metadata"]["checkov"]["skip"]}
    assert "signature" in skips["CKV_AWS_258"]


def test_ingest_function_has_no_http_api_event_when_its_url_is_the_webhook(template: dict[str, Any]) -> None:
    events = function_properties(template, "IngestFunction").get("Events") or {}
    assert not [e for e in events.values() if e.get("Type") in ("HttpApi", "Api")]
    _, api = only(template, "AWS::Serverless::HttpApi")
    assert not [key for key in api["Properties"]["RouteSettings"] if "/gateway/events" in key]


def test_relay_endpoint_is_the_ingest_function_url_when_output_and_hosted(template: dict[str, Any]) -> None:
    expected = {"Fn::Sub": "${IngestFunctionUrl.FunctionUrl}gateway/events"}  # FunctionUrl ends in "/"
    assert template["Outputs"]["GatewayEventsUrl"]["Value"] == expected
    [task] = resources_of_type(template, "AWS::ECS::TaskDefinition").values()
    [container] = task["Properties"]["ContainerDefinitions"]
    endpoint = {e["Name"]: e["Value"] for e in container["Environment"]}["GUILDLOG_ENDPOINT"]
    assert endpoint == expected


def test_every_route_handler_exists_in_the_repo_when_sam_builds(template: dict[str, Any]) -> None:
    for route in [*http_routes(template), *function_url_routes(template)]:
        module = ast.parse((REPO / route.module_path).read_text(encoding="utf-8"))
        defined = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
        assigned = [t for node in module.body if isinstance(node, ast.Assign) for t in node.targets]
        defined |= {target.id for target in assigned if isinstance(target, ast.Name)}
        assert route.handler_name in defined, f"{route.module_path} defines no {route.handler_name}"


# --- IAM and secrets --------------------------------------------------------------------------


def test_function_policies_are_inline_documents_when_granting_access(template: dict[str, Any]) -> None:
    # A managed policy or a SAM policy template could grant `*` where this test cannot see it.
    for function_id in function_ids(template):
        for policy in as_list(function_properties(template, function_id).get("Policies") or []):
            assert isinstance(policy, dict) and "Statement" in policy, (function_id, policy)


def test_no_statement_grants_data_actions_when_resource_is_a_wildcard(template: dict[str, Any]) -> None:
    statements = list(policy_statements(template))
    assert statements
    for owner, statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        assert "NotAction" not in statement and "NotResource" not in statement, owner
        assert all(a != "*" and not a.endswith(":*") for a in actions), (owner, actions)
        if any(a.split(":")[0] in DATA_SERVICES for a in actions):
            assert "*" not in as_list(statement.get("Resource")), (owner, statement.get("Sid"))


def test_ingest_writes_only_archive_prefixes_when_putting_objects(template: dict[str, Any]) -> None:
    bucket_id, _ = archive_bucket(template)
    resources = [
        resource
        for owner, statement in policy_statements(template)
        if owner == "IngestFunction" and statement.get("Effect") == "Allow"
        for action in as_list(statement["Action"])
        if action.startswith("s3:")
        for resource in as_list(statement["Resource"])
    ]
    prefixes = ("raw", "events", "events_csv", "quarantine")
    assert sorted(map(str, resources)) == sorted(
        str({"Fn::Sub": "${" + bucket_id + ".Arn}/" + prefix + "/*"}) for prefix in prefixes
    )


def test_parameters_hold_no_token_when_deployed(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        if re.search(r"token|secret|password", name, re.IGNORECASE):
            assert name in SECRET_ARN_PARAMETERS, f"{name} looks like a credential parameter"
        default = str(parameter.get("Default", ""))
        assert not TOKEN_SHAPE.search(default), name
    for name in SECRET_ARN_PARAMETERS:
        secret_arn = template["Parameters"][name]
        assert secret_arn.get("Default", "") == ""
        assert secret_arn["AllowedPattern"].startswith(("^arn:aws", "^(arn:aws"))
        assert ":secretsmanager:" in secret_arn["AllowedPattern"]
    assert not [s for s in strings(template) if TOKEN_SHAPE.search(s)], "a token-shaped literal is in the template"


def test_bot_token_secret_arn_is_used_only_when_reading_the_secret(template: dict[str, Any]) -> None:
    allowed_statements = [
        statement
        for _, statement in policy_statements(template)
        if as_list(statement.get("Action")) == ["secretsmanager:GetSecretValue"]
    ]
    for owner, statement in policy_statements(template):
        uses_secret = any(references(statement, "BotTokenSecretArn"))
        grants_secrets = any(str(a).startswith("secretsmanager:") for a in as_list(statement.get("Action")))
        if owner == "WebFunction" and not uses_secret:
            continue  # the viewer's own secrets: test_web_function_reads_only_its_two_secrets_when_signing_in
        if owner == "RelayTaskRole" and not uses_secret:
            continue  # the relay's signing key: test_template_relay_hosting.py
        if uses_secret or grants_secrets:
            assert statement in allowed_statements, (owner, statement)
            assert as_list(statement["Resource"]) == [{"Ref": "BotTokenSecretArn"}], owner
    # Anywhere else the ARN may only travel as the setting that names it.
    other_uses = [
        path
        for path in references({k: v for k, v in template.items() if k != "Parameters"}, "BotTokenSecretArn")
        if "Statement" not in path
        and path[-1] != "GUILDLOG_BOT_TOKEN_SECRET_ARN"
        and not _container_setting(template, path, "GUILDLOG_TOKEN_SECRET_ARN")
    ]
    assert other_uses == []
    assert allowed_statements, "nothing may read the bot token"


def _container_setting(template: dict[str, Any], path: tuple[Any, ...], name: str) -> bool:
    """Whether `path` is the Value of a container's environment variable `name` (the hosted relay's)."""
    if len(path) < 3 or path[-1] != "Value" or path[-3] != "Environment":
        return False
    entry: Any = template
    for step in path[:-1]:
        entry = entry[step]
    return entry.get("Name") == name


# --- outputs and lint -------------------------------------------------------------------------


def test_outputs_name_every_url_and_resource_when_clients_need_them(template: dict[str, Any]) -> None:
    expected = {
        "ApiUrl",
        "GatewayEventsUrl",
        "InteractionsUrl",
        "TableName",
        "ArchiveBucketName",
        "IngestFunctionName",
        "InteractionsFunctionName",
        "WorkerFunctionName",
        "CommonLayerArn",
        "WebUrl",
        "WebFunctionName",
    }
    assert expected <= set(template["Outputs"])
    assert template["Outputs"]["GatewayEventsUrl"]["Value"]["Fn::Sub"].endswith("}gateway/events")
    assert template["Outputs"]["InteractionsUrl"]["Value"]["Fn::Sub"].endswith("/interactions")
    assert template["Outputs"]["WebUrl"]["Value"]["Fn::Sub"].endswith("/app")


def test_template_passes_cfn_lint_when_linted() -> None:
    from cfnlint.api import lint_file

    problems = [
        f"{match.rule.id} {match.message} (line {match.linenumber})"
        for match in lint_file(TEMPLATE_PATH)
        if match.rule.id[:1] in {"E", "W"}
    ]
    assert problems == []


# --- slash commands: the worker and who may start it ------------------------------------------


def test_interactions_function_may_invoke_only_the_worker_when_deferring(template: dict[str, Any]) -> None:
    lambda_statements = [
        statement
        for owner, statement in policy_statements(template)
        if any(str(a).startswith("lambda:") for a in as_list(statement.get("Action")))
    ]
    assert [(s["Effect"], as_list(s["Action"]), as_list(s["Resource"])) for s in lambda_statements] == [
        ("Allow", ["lambda:InvokeFunction"], [{"Fn::GetAtt": ["WorkerFunction", "Arn"]}])
    ] * 2
    owners = [owner for owner, s in policy_statements(template) if s in lambda_statements]
    assert owners == ["InteractionsFunction", "WebFunction"]  # the web viewer's exports run in the worker too
    environment = function_environment(template, "InteractionsFunction")
    assert environment["GUILDLOG_WORKER_FUNCTION"] == {"Ref": "WorkerFunction"}


def test_worker_function_is_reached_only_by_async_invokes_when_deployed(template: dict[str, Any]) -> None:
    properties = function_properties(template, "WorkerFunction")
    assert not [e for e in (properties.get("Events") or {}).values() if e.get("Type") == "HttpApi"]
    config = properties["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    # A run fits well inside the 15-minute interaction token; a job's log write may be retried for longer.
    assert properties["Timeout"] <= 5 * 60 < 15 * 60 <= config["MaximumEventAgeInSeconds"]
    assert (REPO / "functions/worker/app.py").is_file()


def worker_s3_resources(template: dict[str, Any], actions: set[str]) -> list[str]:
    return sorted(
        str(resource)
        for owner, statement in policy_statements(template)
        if owner == "WorkerFunction" and statement.get("Effect") == "Allow"
        for action in as_list(statement["Action"])
        if action in actions
        for resource in as_list(statement["Resource"])
    )


def test_worker_writes_only_archive_prefixes_and_exports_when_logging_commands(template: dict[str, Any]) -> None:
    bucket_id, _ = archive_bucket(template)
    # athena-results/: where the workgroup writes the archive look-ups' answers (/logs message).
    prefixes = ("raw", "events", "events_csv", "quarantine", "exports", "athena-results")
    assert worker_s3_resources(template, {"s3:PutObject", "s3:DeleteObject"}) == sorted(
        str({"Fn::Sub": "${" + bucket_id + ".Arn}/" + prefix + "/*"}) for prefix in prefixes
    )


def test_worker_reads_only_events_and_its_exports_when_exporting(template: dict[str, Any]) -> None:
    bucket_id, _ = archive_bucket(template)
    assert worker_s3_resources(template, {"s3:GetObject"}) == sorted(
        str({"Fn::Sub": "${" + bucket_id + ".Arn}/" + prefix + "/*"})
        for prefix in ("events", "exports", "athena-results", "attachments")
    )
    listings = [
        statement
        for owner, statement in policy_statements(template)
        if owner == "WorkerFunction" and "s3:ListBucket" in as_list(statement["Action"])
    ]
    assert sorted(str(s["Condition"]) for s in listings) == sorted(
        str({"StringLike": {"s3:prefix": prefix}}) for prefix in ("events/*", "athena-results/*")
    )


def test_worker_runs_athena_only_in_the_stacks_workgroup_when_looking_up_archived_messages(
    template: dict[str, Any],
) -> None:
    resources = sorted(
        str(resource)
        for owner, statement in policy_statements(template)
        if owner == "WorkerFunction" and any(a.startswith("athena:") for a in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    )
    workgroup = "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}"
    assert resources == [str({"Fn::Sub": workgroup})]


def test_interactions_function_writes_nothing_but_claims_and_config_when_answering(template: dict[str, Any]) -> None:
    actions = {
        action
        for owner, statement in policy_statements(template)
        if owner == "InteractionsFunction" and statement.get("Effect") == "Allow"
        for action in as_list(statement["Action"])
    }
    writes = {a for a in actions if a.startswith(("s3:", "dynamodb:")) and not a.endswith(("GetItem", "Query"))}
    assert writes == {"dynamodb:PutItem", "dynamodb:UpdateItem", "s3:GetObject"}
    # The one S3 read: attachment copies, for the presigned links of /logs message.
    reads = [
        statement["Resource"]
        for owner, statement in policy_statements(template)
        if owner == "InteractionsFunction" and "s3:GetObject" in as_list(statement["Action"])
    ]
    assert reads == [{"Fn::Sub": "${ArchiveBucket.Arn}/attachments/*"}]


# --- the web viewer ---------------------------------------------------------------------------


def test_web_function_reads_only_its_two_secrets_when_signing_in(template: dict[str, Any]) -> None:
    granted = [
        statement
        for owner, statement in policy_statements(template)
        if owner == "WebFunction"
        and any(str(a).startswith("secretsmanager:") for a in as_list(statement["Action"]))
        and not any(references(statement, "BotTokenSecretArn"))  # viewer roles: the bot token's own test
    ]
    assert [as_list(s["Action"]) for s in granted] == [["secretsmanager:GetSecretValue"]]
    assert as_list(granted[0]["Resource"]) == [
        {"Fn::If": ["HasDiscordClientSecret", {"Ref": "DiscordClientSecretArn"}, {"Ref": "AWS::NoValue"}]},
        {"Ref": "WebSessionSecret"},
    ]
    assert "Default" not in template["Parameters"]["BotTokenSecretArn"]


def test_web_session_key_is_generated_by_cloudformation_when_deployed(template: dict[str, Any]) -> None:
    secret = template["Resources"]["WebSessionSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretString" not in secret["Properties"]


def test_web_function_reads_the_table_and_links_exports_when_serving_pages(template: dict[str, Any]) -> None:
    actions = {
        str(action)
        for owner, statement in policy_statements(template)
        if owner == "WebFunction"
        for action in as_list(statement["Action"])
    }
    # Besides reads: an export started from a page (the worker writes it; the page lists and links it),
    # and the archive queries of pages past the hot table (Athena writes their results for the page).
    assert actions == {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "secretsmanager:GetSecretValue",
        "lambda:InvokeFunction", "s3:ListBucket", "s3:GetObject", "athena:StartQueryExecution",
        "athena:GetQueryExecution", "athena:GetQueryResults", "athena:GetWorkGroup", "glue:GetDatabase",
        "glue:GetTable", "glue:GetPartitions", "s3:GetBucketLocation", "s3:PutObject", "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }  # fmt: skip
    s3 = [s for owner, s in policy_statements(template) if owner == "WebFunction" and "s3:" in str(s["Action"])]
    readable = [{"Fn::Sub": "${ArchiveBucket.Arn}/exports/*"}, {"Fn::Sub": "${ArchiveBucket.Arn}/events/*"}]
    assert [s["Resource"] for s in s3 if s["Action"] == "s3:GetObject"] == [readable]
    assert [s["Condition"] for s in s3 if s["Action"] == "s3:ListBucket"] == [
        {"StringLike": {"s3:prefix": ["exports/*", "events/*"]}},
        {"StringLike": {"s3:prefix": "athena-results/*"}},
    ]
    # Writes only where the workgroup puts query results; Athena only in the stack's workgroup.
    writes = [s for s in s3 if "s3:PutObject" in as_list(s["Action"])]
    assert [s["Resource"] for s in writes] == [{"Fn::Sub": "${ArchiveBucket.Arn}/athena-results/*"}]
    athena = [s for owner, s in policy_statements(template) if owner == "WebFunction" and "athena:" in str(s)]
    assert [s["Resource"] for s in athena] == [
        {"Fn::Sub": "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}"}
    ]


# --- attachment copies ------------------------------------------------------------------------


def function_actions(template: dict[str, Any], function_id: str) -> dict[str, list[Any]]:
    """Action → the resources it is allowed on, for one function's own policy statements."""
    found: dict[str, list[Any]] = {}
    for owner, statement in policy_statements(template):
        if owner == function_id and statement.get("Effect") == "Allow":
            for action in as_list(statement["Action"]):
                found.setdefault(action, []).extend(as_list(statement["Resource"]))
    return found


def test_attachment_copy_function_puts_objects_only_under_attachments_when_copying(template: dict[str, Any]) -> None:
    actions = function_actions(template, "AttachmentCopyFunction")

    assert actions["s3:PutObject"] == [{"Fn::Sub": "${ArchiveBucket.Arn}/attachments/*"}]
    assert {a for a in actions if a.startswith("s3:")} == {"s3:PutObject"}


def test_attachment_copy_function_writes_only_message_items_when_recording(template: dict[str, Any]) -> None:
    [statement] = [
        s
        for owner, s in policy_statements(template)
        if owner == "AttachmentCopyFunction" and any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]

    assert as_list(statement["Action"]) == ["dynamodb:BatchWriteItem"]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["M#*"]}}


def test_attachment_copy_queue_has_a_dead_letter_queue_and_a_depth_alarm_when_deployed(
    template: dict[str, Any],
) -> None:
    queue = template["Resources"]["AttachmentCopyQueue"]["Properties"]
    alarm = template["Resources"]["AttachmentCopyDeadLetterQueueDepthAlarm"]["Properties"]

    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["AttachmentCopyDeadLetterQueue", "Arn"]}
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["AttachmentCopyDeadLetterQueue", "QueueName"]}
    assert queue["SqsManagedSseEnabled"] is True


def test_ingest_may_only_send_to_the_attachment_queue_when_handing_copies_over(template: dict[str, Any]) -> None:
    actions = function_actions(template, "IngestFunction")

    assert {"Fn::GetAtt": ["AttachmentCopyQueue", "Arn"]} in actions["sqs:SendMessage"]
    assert not any(a.startswith("sqs:") and a != "sqs:SendMessage" for a in actions)
