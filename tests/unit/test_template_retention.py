"""template.yaml's archive retention: the stack-wide maximum as a parameter, enforced by lifecycle rules,
handed to the nightly pass, and exports that expire with links that never outlive them."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.services import keys
from guildlog.services.exports import MAX_LINK_SECONDS
from guildlog_tools.local.template import archive_bucket_id, function_properties, load_template
from tests.paths import TEMPLATE

RETAINED_PREFIXES = ("raw/", "events/", "events_csv/", "quarantine/", "attachments/")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    bucket = template["Resources"][archive_bucket_id(template)]
    return [r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"] if r.get("Status") == "Enabled"]


def test_template_bounds_the_archive_maximum_when_the_parameter_is_declared(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ArchiveMaxRetentionDays"]

    assert (parameter["Type"], parameter["MinValue"]) == ("Number", 1)
    assert parameter["Default"] <= parameter["MaxValue"]


@pytest.mark.parametrize("prefix", RETAINED_PREFIXES)
def test_template_expires_a_dataset_at_the_archive_maximum_when_the_lifecycle_runs(
    template: dict[str, Any], prefix: str
) -> None:
    expiring = [r for r in rules(template) if r.get("Prefix") == prefix and "ExpirationInDays" in r]

    assert [r["ExpirationInDays"] for r in expiring] == [{"Ref": "ArchiveMaxRetentionDays"}]


def test_template_lets_no_export_link_outlive_its_file_when_exports_expire(template: dict[str, Any]) -> None:
    [days] = [r["ExpirationInDays"] for r in rules(template) if r.get("Prefix") == "exports/"]

    assert days * 86_400 >= MAX_LINK_SECONDS


def test_template_hands_the_maximum_to_the_nightly_pass_when_it_runs(template: dict[str, Any]) -> None:
    properties = function_properties(template, "CompactFunction")

    assert properties["Environment"]["Variables"]["GUILDLOG_ARCHIVE_MAX_RETENTION_DAYS"] == {
        "Ref": "ArchiveMaxRetentionDays"
    }


def test_template_lets_the_nightly_pass_query_only_the_retention_index_when_it_reads_the_table(
    template: dict[str, Any],
) -> None:
    statements = [
        s
        for policy in function_properties(template, "CompactFunction")["Policies"]
        for s in policy.get("Statement", [])
        if any(
            str(a).startswith("dynamodb:") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        )
    ]

    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("dynamodb:Query", {"Fn::Sub": "${Table.Arn}/index/GSI3"}),
        (["dynamodb:GetItem", "dynamodb:BatchWriteItem"], {"Fn::GetAtt": ["Table", "Arn"]}),
        # The guild deletions that are due (services/erasure): one partition, ERASE#DUE.
        ("dynamodb:Query", {"Fn::GetAtt": ["Table", "Arn"]}),
    ]
    assert statements[2]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [keys.DUE_DELETIONS_PK]}
    }
    assert statements[1]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [keys.ARCHIVE_SWEEP_PK]}
    }
