"""The stack-hosted relay (RelayHosting=fargate): what the template promises about it.

checkov scans these resources only in `make checkov`'s second run; these tests hold the properties
guildlog itself relies on: nothing of it exists unless asked for, nothing reaches it from outside,
it reads only its two secrets and its own checkpoint items, and a deploy drains it before its
successor starts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from guildlog_tools.local.template import load_template
from tests.paths import REPO

TEMPLATE_PATH = REPO / "template.yaml"
CONTAINERFILE = REPO / "deploy" / "Containerfile"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def relay_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if k.startswith("Relay") and k != "RelayHeartbeatAlarm"}


def container(template: dict[str, Any]) -> dict[str, Any]:
    [definition] = template["Resources"]["RelayTaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def environment(template: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container(template)["Environment"]}


def test_relay_resources_exist_only_when_the_stack_hosts_the_relay(template: dict[str, Any]) -> None:
    resources = relay_resources(template)

    assert {"RelayService", "RelayTaskDefinition", "RelayTaskRole", "RelaySecurityGroup"} <= set(resources)
    assert {k for k, v in resources.items() if v.get("Condition") != "HostsRelay"} == set()
    assert template["Conditions"]["HostsRelay"] == {"Fn::Equals": [{"Ref": "RelayHosting"}, "fargate"]}
    assert template["Parameters"]["RelayHosting"]["Default"] == "none"


def test_relay_security_group_admits_nothing_inbound_and_only_https_out_when_hosted(template: dict[str, Any]) -> None:
    properties = template["Resources"]["RelaySecurityGroup"]["Properties"]

    assert "SecurityGroupIngress" not in properties
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in properties["SecurityGroupEgress"]] == [
        ("tcp", 443, 443)
    ]
    ingress_rules = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert ingress_rules == []


def test_relay_task_role_reads_its_secrets_and_only_its_own_checkpoint_items_when_hosted(
    template: dict[str, Any],
) -> None:
    [policy] = template["Resources"]["RelayTaskRole"]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]

    grants = sorted((str(s["Action"]), str(s["Resource"])) for s in statements)
    assert grants == sorted(
        [
            ("secretsmanager:GetSecretValue", str({"Ref": "BotTokenSecretArn"})),
            ("secretsmanager:GetSecretValue", str({"Fn::Sub": "${RelaySigningKeySecretArn}"})),
            (
                str(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]),
                str({"Fn::GetAtt": ["Table", "Arn"]}),
            ),
        ]
    )
    [table_grant] = [s for s in statements if str(s["Action"]).startswith("['dynamodb")]
    assert table_grant["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RELAY#*"]}}


def test_relay_container_runs_read_only_and_unprivileged_when_hosted(template: dict[str, Any]) -> None:
    definition = container(template)

    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["Privileged"] is False
    assert definition["User"] != "0" and not definition["User"].startswith("root")
    [mount] = definition["MountPoints"]
    assert environment(template)["GUILDLOG_STATE_DIR"].startswith(mount["ContainerPath"] + "/")


def test_relay_container_gets_secrets_by_arn_never_by_value_when_hosted(template: dict[str, Any]) -> None:
    env = environment(template)

    assert env["GUILDLOG_TOKEN_SECRET_ARN"] == {"Ref": "BotTokenSecretArn"}
    assert env["GUILDLOG_SIGNING_KEY_SECRET_ARN"] == {"Ref": "RelaySigningKeySecretArn"}
    assert env["GUILDLOG_CHECKPOINT_TABLE"] == {"Ref": "Table"}
    assert not {"DISCORD_TOKEN", "GUILDLOG_SIGNING_KEY_FILE", "GUILDLOG_TOKEN_FILE"} & set(env)


def test_relay_container_is_healthy_only_when_its_healthz_answers_when_hosted(template: dict[str, Any]) -> None:
    check = container(template)["HealthCheck"]["Command"]
    env = environment(template)

    assert check[0] == "CMD"
    assert f"http://{env['GUILDLOG_HEALTH_HOST']}:{env['GUILDLOG_HEALTH_PORT']}/healthz" in check[-1]


def test_relay_task_drains_before_it_is_killed_when_replaced(template: dict[str, Any]) -> None:
    definition = container(template)
    drain = float(environment(template)["GUILDLOG_DRAIN_TIMEOUT"])

    # Fargate's longest stop timeout is 120 s: the drain must end before SIGKILL.
    assert drain < definition["StopTimeout"] <= 120


def test_relay_service_stops_the_old_tasks_before_starting_new_ones_when_deploying(template: dict[str, Any]) -> None:
    deployment = template["Resources"]["RelayService"]["Properties"]["DeploymentConfiguration"]

    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (0, 100)


def test_relay_service_runs_one_task_per_shard_group_claimed_in_the_table_when_hosted(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["RelayShardGroups"]
    env = environment(template)

    assert template["Resources"]["RelayService"]["Properties"]["DesiredCount"] == {"Ref": "RelayShardGroups"}
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (
        "Number",
        1,
        1,
        16,
    )
    assert env["GUILDLOG_SHARD_GROUPS"] == {"Ref": "RelayShardGroups"}
    assert env["GUILDLOG_CHECKPOINT_TABLE"] == {"Ref": "Table"}  # where the groups are claimed
    [relay_group] = [
        g
        for g in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        if g["Label"]["default"] == "Relay"
    ]
    assert "RelayShardGroups" in relay_group["Parameters"]


def test_relay_shard_group_items_fall_under_the_task_roles_key_condition_when_hosted(template: dict[str, Any]) -> None:
    from fnmatch import fnmatchcase

    from guildlog.services import keys

    [policy] = template["Resources"]["RelayTaskRole"]["Properties"]["Policies"]
    [table_grant] = [s for s in policy["PolicyDocument"]["Statement"] if str(s["Action"]).startswith("['dynamodb")]
    [pattern] = table_grant["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]

    for pk in (keys.RELAY_LAYOUT_PK, keys.relay_group_pk(0), keys.relay_group_pk(15), keys.relay_pk(3)):
        assert fnmatchcase(pk, pattern), pk
    assert not fnmatchcase(keys.guild_pk("1"), pattern)


def test_relay_task_runs_on_arm64_unless_on_spot_which_only_has_x86_when_allowed(template: dict[str, Any]) -> None:
    task = template["Resources"]["RelayTaskDefinition"]["Properties"]
    [strategy] = template["Resources"]["RelayService"]["Properties"]["CapacityProviderStrategy"]

    assert task["RuntimePlatform"]["CpuArchitecture"] == {"Fn::If": ["RelayOnSpot", "X86_64", "ARM64"]}
    assert strategy["CapacityProvider"] == {"Fn::If": ["RelayOnSpot", "FARGATE_SPOT", "FARGATE"]}


def test_relay_hosting_refuses_to_deploy_when_the_image_or_the_key_is_missing(template: dict[str, Any]) -> None:
    rule = template["Rules"]["HostedRelayNeedsImageAndKey"]
    asserted = [a["Assert"] for a in rule["Assertions"]]

    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "RelayHosting"}, "fargate"]}
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "RelayImageUri"}, ""]}]} in asserted
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "RelaySigningKeySecretArn"}, ""]}]} in asserted


def test_relay_image_matches_the_task_definition_when_built(template: dict[str, Any]) -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    env = environment(template)
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    volume = re.search(r'^VOLUME \["([^"]+)"\]$', text, re.MULTILINE)
    entrypoint = re.search(r'^ENTRYPOINT \["python", "-m", "([a-z_]+)"\]$', text, re.MULTILINE)

    assert user == [container(template)["User"]]
    assert volume is not None and volume.group(1) == container(template)["MountPoints"][0]["ContainerPath"]
    assert entrypoint is not None and (REPO / "relay" / entrypoint.group(1) / "__main__.py").is_file()
    assert f"127.0.0.1:{env['GUILDLOG_HEALTH_PORT']}/healthz" in text
    assert not re.search(r"^COPY tools", text, re.MULTILINE), "the image holds the relay, not the developer tooling"
