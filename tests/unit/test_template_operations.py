"""template.yaml: what an operator relies on — dead-letter queues, alarms, the dashboard, throttles,
reserved concurrency, access logs and an https-only Discord base — read from the template itself."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from guildlog.adapters.heartbeat_metric import DEFAULT_NAMESPACE, DEFAULT_SERVICE, METRIC_NAME
from guildlog_relay.batcher import DEFAULT_LINGER_MS, DEFAULT_MAX_AGE_MS
from guildlog_tools.local.template import (
    archive_bucket_id,
    dead_letter_queue_ids,
    function_properties,
    function_url_routes,
    http_routes,
    load_template,
    on_failure_queue_id,
    resources_of_type,
)
from tests.unit.test_template import TEMPLATE_PATH, as_list, function_ids

ALARM = "AWS::CloudWatch::Alarm"
QUEUE = "AWS::SQS::Queue"
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
# Lambda's async invokes and EventBridge's deliveries: the paths that need a dead-letter queue.
ASYNC_FUNCTIONS = ("WorkerFunction", "CompactFunction")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {logical_id: r["Properties"] for logical_id, r in resources_of_type(template, ALARM).items()}


def invoked_asynchronously(template: dict[str, Any]) -> set[str]:
    """Functions another function may invoke, or that a schedule or event rule invokes."""
    invoked = set()
    for function_id in function_ids(template):
        properties = function_properties(template, function_id)
        for policy in as_list(properties.get("Policies") or []):
            for statement in as_list(policy.get("Statement", [])):
                if "lambda:InvokeFunction" in as_list(statement.get("Action")):
                    invoked |= {r["Fn::GetAtt"][0] for r in as_list(statement["Resource"]) if "Fn::GetAtt" in r}
        events = (properties.get("Events") or {}).values()
        if any(event.get("Type") in ("Schedule", "ScheduleV2", "EventBridgeRule") for event in events):
            invoked.add(function_id)
    return invoked


def cloudformation_pattern(template: dict[str, Any], parameter: str) -> re.Pattern[str]:
    # CloudFormation matches AllowedPattern against the whole value.
    return re.compile(template["Parameters"][parameter]["AllowedPattern"])


# --- dead-letter queues -----------------------------------------------------------------------


def test_every_async_function_sends_failures_to_a_queue_when_retries_run_out(template: dict[str, Any]) -> None:
    assert invoked_asynchronously(template) == set(ASYNC_FUNCTIONS)
    for function_id in ASYNC_FUNCTIONS:
        config = function_properties(template, function_id)["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] == 2, function_id
        assert on_failure_queue_id(template, function_id) is not None, function_id


def test_nightly_schedule_retries_then_dead_letters_when_it_cannot_invoke(template: dict[str, Any]) -> None:
    [nightly] = function_properties(template, "CompactFunction")["Events"].values()
    queue_id = on_failure_queue_id(template, "CompactFunction")

    assert nightly["Type"] == "Schedule"
    assert nightly["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert nightly["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert nightly["Properties"]["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 24 * 3600


def test_only_the_nightly_rule_may_write_to_the_compaction_queue_when_eventbridge_fails(
    template: dict[str, Any],
) -> None:
    queue_id = on_failure_queue_id(template, "CompactFunction")
    [policy] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if r["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    [statement] = policy["PolicyDocument"]["Statement"]

    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow",
        {"Service": "events.amazonaws.com"},
        "sqs:SendMessage",
    )
    # SAM names the rule of CompactFunction's event Nightly "CompactFunctionNightly".
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["CompactFunctionNightly", "Arn"]}}}


def redrive_targets(template: dict[str, Any]) -> set[str]:
    """The dead-letter queues of the queues that feed a function (the moderation log's), by logical id."""
    return {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in resources_of_type(template, QUEUE).values()
        if "RedrivePolicy" in queue["Properties"]
    }


def dead_letter_queues(template: dict[str, Any]) -> dict[str, Any]:
    """Every queue but those a function reads from (which have a redrive policy instead)."""
    return {q: v for q, v in resources_of_type(template, QUEUE).items() if "RedrivePolicy" not in v["Properties"]}


def test_dead_letter_queues_keep_messages_encrypted_for_14_days_when_created(template: dict[str, Any]) -> None:
    queues = dead_letter_queues(template)
    assert set(queues) == {on_failure_queue_id(template, f) for f in ASYNC_FUNCTIONS} | redrive_targets(template)
    for queue_id, queue in queues.items():
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600, queue_id
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, queue_id


def test_every_queue_is_an_output_for_the_dlq_command_when_deployed(template: dict[str, Any]) -> None:
    assert sorted(dead_letter_queue_ids(template).values()) == sorted(dead_letter_queues(template))


# --- alarms and dashboard ---------------------------------------------------------------------


def test_every_alarm_notifies_the_topic_only_when_one_is_given(template: dict[str, Any]) -> None:
    found = alarms(template)
    assert found
    for alarm_id, alarm in found.items():
        assert alarm["AlarmActions"] == NOTIFY and alarm["OKActions"] == NOTIFY, alarm_id
    assert template["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:sns:eu-west-1:123456789012:guildlog-alarms", True),
        ("arn:aws:sqs:eu-west-1:123456789012:guildlog-alarms", False),
        ("guildlog-alarms", False),
    ],
)
def test_alarm_topic_parameter_takes_an_sns_arn_or_nothing_when_deploying(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert bool(cloudformation_pattern(template, "AlarmTopicArn").fullmatch(value)) is accepted


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_alarm_when_it_errs_or_is_throttled(template: dict[str, Any], metric: str) -> None:
    watched = {
        alarm["Dimensions"][0]["Value"]["Ref"]
        for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/Lambda" and alarm.get("MetricName") == metric
    }
    assert watched == set(function_ids(template))


def test_every_dead_letter_queue_alarms_when_a_message_waits(template: dict[str, Any]) -> None:
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms(template).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Threshold"] == 0
    }
    assert watched == set(dead_letter_queues(template))


def test_ingest_alarm_watches_the_function_url_when_its_5xx_rate_rises(template: dict[str, Any]) -> None:
    alarm = alarms(template)["IngestServerErrorRateAlarm"]
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    [expression] = [m for m in alarm["Metrics"] if "Expression" in m]
    [url_route] = function_url_routes(template)

    assert {(m["Namespace"], m["MetricName"]) for m in stats.values()} == {
        ("AWS/Lambda", "Url5xxCount"),
        ("AWS/Lambda", "UrlRequestCount"),
    }
    assert stats["errors"]["MetricName"] == "Url5xxCount" and stats["requests"]["MetricName"] == "UrlRequestCount"
    for metric in stats.values():
        assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": url_route.function_id}}]
    assert expression["ReturnData"] is True and "errors / requests" in expression["Expression"]


def test_heartbeat_alarm_fires_when_no_heartbeat_arrives_for_the_parameter_minutes(template: dict[str, Any]) -> None:
    alarm = alarms(template)["RelayHeartbeatAlarm"]
    minutes = template["Parameters"]["RelayHeartbeatAlarmMinutes"]

    assert (alarm["Namespace"], alarm["MetricName"]) == (DEFAULT_NAMESPACE, METRIC_NAME)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": DEFAULT_SERVICE}]
    assert (
        template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        == alarm["Namespace"]
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        60,
        {"Ref": "RelayHeartbeatAlarmMinutes"},
        {"Ref": "RelayHeartbeatAlarmMinutes"},
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert 2 <= minutes["MinValue"] <= minutes["Default"] <= minutes["MaxValue"] <= 1440


def test_heartbeat_alarm_cannot_fire_on_a_healthy_relay_whose_heartbeats_wait_out_the_linger(
    template: dict[str, Any],
) -> None:
    # The heartbeat waits up to the linger (and the flush) in the relay, then the post, the
    # invocation and the log-to-metric step: a minute allowed for those.
    delay = (DEFAULT_LINGER_MS + DEFAULT_MAX_AGE_MS) / 1000 + 60
    minutes = template["Parameters"]["RelayHeartbeatAlarmMinutes"]

    assert empty_minutes_in_a_row(delay) < minutes["MinValue"] <= minutes["Default"]
    assert empty_minutes_in_a_row(delay + 60) >= minutes["MinValue"]  # what the margin is: a minute


def empty_minutes_in_a_row(delay: float, interval: float = 60.0, drift: float = 0.25) -> int:
    """The most one-minute periods in a row without a heartbeat data point, as the alarm sees them
    at the start of each minute, when every heartbeat reaches the metric `delay` seconds after it
    was made and one is made every `interval` + `drift` seconds (the drift now and then leaves a
    minute without one), over many phases of the heartbeats against the minute."""
    worst = 0
    for phase in range(0, 60, 3):
        made = [phase + k * (interval + drift) for k in range(int(6 * 3600 / interval))]
        for now in range(600, int(made[-1]) - 600, 60):
            seen = {int(t // 60) for t in made if now - 900 <= t < now and t + delay <= now}
            run = 0
            while run < 15 and now // 60 - 1 - run not in seen:
                run += 1
            worst = max(worst, run)
    return worst


def test_dashboard_shows_every_alarm_when_opened(template: dict[str, Any]) -> None:
    [dashboard] = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    document = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    [alarm_widget] = [w for w in document["widgets"] if w["type"] == "alarm"]
    prefix = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
    # By name, so that the dashboard does not depend on the alarms (ARNs built from each AlarmName).
    names = {alarm["AlarmName"]["Fn::Sub"] for alarm in alarms(template).values()}

    assert len(alarm_widget["properties"]["alarms"]) == len(names)
    assert all(f'"{prefix}{name}"' in body for name in names)


# --- throttles and concurrency ----------------------------------------------------------------


def test_dashboard_shows_the_function_url_requests_and_errors_when_opened(template: dict[str, Any]) -> None:
    [dashboard] = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    document = json.loads(re.sub(r"\$\{[^}]+\}", "x", dashboard["Properties"]["DashboardBody"]["Fn::Sub"]))
    [widget] = [w for w in document["widgets"] if "/gateway/events" in w.get("properties", {}).get("title", "")]
    metrics = widget["properties"]["metrics"]

    assert metrics[0] == ["AWS/Lambda", "UrlRequestCount", "FunctionName", "x"]
    assert [row[1] for row in metrics[1:]] == ["Url4xxCount", "Url5xxCount"]
    assert "AWS/ApiGateway" not in json.dumps(widget)
    assert '"FunctionName", "${IngestFunction}"]' in dashboard["Properties"]["DashboardBody"]["Fn::Sub"]


def test_each_webhook_route_has_its_own_throttle_when_requests_flood(template: dict[str, Any]) -> None:
    [api] = resources_of_type(template, "AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["RouteSettings"]
    routes = {f"{r.method} {r.path}" for r in http_routes(template)}

    assert set(settings) == routes
    for route_key in routes:
        assert settings[route_key]["ThrottlingRateLimit"] > 0, route_key
        assert settings[route_key]["ThrottlingBurstLimit"] >= settings[route_key]["ThrottlingRateLimit"], route_key
        assert settings[route_key]["DetailedMetricsEnabled"] is True, route_key
    default = api["Properties"]["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] <= min(s["ThrottlingRateLimit"] for s in settings.values())


def reserved(template: dict[str, Any], function_id: str) -> int:
    value = function_properties(template, function_id)["ReservedConcurrentExecutions"]
    condition, reserved_value, otherwise = value["Fn::If"]
    assert (condition, otherwise) == ("ReservesConcurrency", {"Ref": "AWS::NoValue"}), function_id
    return int(reserved_value)


def test_every_function_reserves_concurrency_when_the_account_allows_it(template: dict[str, Any]) -> None:
    total = sum(reserved(template, function_id) for function_id in function_ids(template))
    parameter = template["Parameters"]["ReserveConcurrency"]

    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("true", ["false", "true"])
    # The parameter's description names the total an operator's account must leave room for.
    assert f"{total} in all" in parameter["Description"]


def test_both_webhooks_reserve_their_own_concurrency_when_one_is_flooded(template: dict[str, Any]) -> None:
    for route in [*http_routes(template), *function_url_routes(template)]:
        assert reserved(template, route.function_id) > 0, route.function_id


def test_ingest_function_url_keeps_a_ceiling_of_20_when_concurrency_is_reserved(template: dict[str, Any]) -> None:
    # No API Gateway throttle in front of the function URL: reserved concurrency is its only ceiling.
    assert [r.function_id for r in function_url_routes(template)] == ["IngestFunction"]
    assert reserved(template, "IngestFunction") == 20


# --- archive access logs ----------------------------------------------------------------------


def test_archive_bucket_logs_access_to_its_own_log_bucket_when_deployed(template: dict[str, Any]) -> None:
    archive_id = archive_bucket_id(template)
    logging = template["Resources"][archive_id]["Properties"]["LoggingConfiguration"]
    log_bucket_id = logging["DestinationBucketName"]["Ref"]
    log_bucket = template["Resources"][log_bucket_id]

    assert log_bucket_id != archive_id
    assert log_bucket["Type"] == "AWS::S3::Bucket"
    rules = log_bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["ExpirationInDays"] for r in rules if not r.get("Prefix")] == [{"Ref": "AccessLogRetentionDays"}]
    block = log_bucket["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block[flag] is True for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls"))
    encryption = log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert [rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in encryption] == ["AES256"]


def test_log_bucket_admits_only_s3_log_delivery_to_the_archive_prefix_when_writing(template: dict[str, Any]) -> None:
    logging = template["Resources"][archive_bucket_id(template)]["Properties"]["LoggingConfiguration"]
    log_bucket_id = logging["DestinationBucketName"]["Ref"]
    [policy] = [
        r["Properties"]["PolicyDocument"]
        for r in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": log_bucket_id}
    ]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]

    assert [(s["Principal"], s["Action"]) for s in allows] == [
        ({"Service": "logging.s3.amazonaws.com"}, "s3:PutObject")
    ]
    assert allows[0]["Resource"] == {"Fn::Sub": "${" + log_bucket_id + ".Arn}/" + logging["LogFilePrefix"] + "*"}
    assert allows[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# --- Discord base URL and checkov -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://discord.com/api/v10", True),
        ("https://discord.example:8443/api", True),
        ("http://discord.com/api/v10", False),
        ("https://user:secret@discord.example/api", False),
        ("https://discord.com/api v10", False),
        ("ftp://discord.com", False),
    ],
)
def test_discord_api_base_takes_only_https_when_deploying(template: dict[str, Any], value: str, accepted: bool) -> None:
    parameter = template["Parameters"]["DiscordApiBase"]

    assert bool(cloudformation_pattern(template, "DiscordApiBase").fullmatch(value)) is accepted
    assert cloudformation_pattern(template, "DiscordApiBase").fullmatch(parameter["Default"])


def test_every_checkov_skip_gives_its_reason_when_a_finding_is_suppressed(template: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in template["Resources"].items()
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), logical_id
        assert len(skip.get("comment", "").split()) >= 8, (logical_id, skip["id"])
