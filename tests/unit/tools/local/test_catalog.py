"""template.yaml's Athena side: Glue tables against the row model and the S3 layout, the workgroup,
the query policy and the named queries, plus the local engine's reading of the same tables."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from guildlog.models.envelope import RawArchiveLine
from guildlog.models.row import ROW_FIELDS, EventRow, row_columns
from guildlog.queries import named_queries
from guildlog.services.csv_render import render_csv
from guildlog.services.partition import partition_prefix
from guildlog_tools.local.catalog import glue_tables
from guildlog_tools.local.template import archive_bucket_id, load_template, resources_of_type
from guildlog_tools.named_queries import replace_block
from tests.paths import REPO

TEMPLATE_PATH = REPO / "template.yaml"
TABLE_DATASETS = {"events": "events", "events_csv": "events_csv", "raw": "raw"}
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def tables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["TableInput"]["Name"]: resource["Properties"]
        for resource in resources_of_type(template, "AWS::Glue::Table").values()
    }


def columns_of(properties: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in properties["TableInput"]["StorageDescriptor"]["Columns"]]


# --- tables -----------------------------------------------------------------------------------


def test_catalog_declares_the_three_tables_when_deployed(template: dict[str, Any]) -> None:
    assert set(tables(template)) == set(TABLE_DATASETS)
    for properties in tables(template).values():
        assert properties["DatabaseName"] == {"Ref": "ArchiveDatabase"}
        assert properties["TableInput"]["TableType"] == "EXTERNAL_TABLE"


def test_events_table_columns_equal_the_row_model_when_deployed(template: dict[str, Any]) -> None:
    assert columns_of(tables(template)["events"]) == row_columns()


def test_events_csv_table_columns_are_the_row_fields_as_text_when_deployed(template: dict[str, Any]) -> None:
    # OpenCSVSerDe hands every field over as text; numbers are cast in the query.
    assert columns_of(tables(template)["events_csv"]) == [(name, "string") for name in ROW_FIELDS]


def test_raw_table_columns_equal_the_raw_line_model_when_deployed(template: dict[str, Any]) -> None:
    assert columns_of(tables(template)["raw"]) == [(name, "string") for name in RawArchiveLine.model_fields]


@pytest.mark.parametrize("table", sorted(TABLE_DATASETS))
def test_table_projects_two_digit_year_month_day_partitions_when_queried(template: dict[str, Any], table: str) -> None:
    table_input = tables(template)[table]["TableInput"]
    parameters = table_input["Parameters"]

    assert [(k["Name"], k["Type"]) for k in table_input["PartitionKeys"]] == [
        ("year", "string"),
        ("month", "string"),
        ("day", "string"),
    ]
    assert parameters["projection.enabled"] == "true"
    assert {parameters[f"projection.{key}.type"] for key in ("year", "month", "day")} == {"integer"}
    assert parameters["projection.month.range"] == "1,12"
    assert parameters["projection.day.range"] == "1,31"
    assert parameters["projection.month.digits"] == parameters["projection.day.digits"] == "2"
    first_year, last_year = (int(y) for y in parameters["projection.year.range"].split(","))
    assert first_year <= 2015 and last_year >= 2050  # Discord's first year, and decades ahead


@pytest.mark.parametrize("table", sorted(TABLE_DATASETS))
@pytest.mark.parametrize("day", [date(2026, 1, 5), date(2026, 11, 20), date(2031, 12, 31)])
def test_table_location_template_matches_the_archive_layout_when_a_day_is_projected(
    template: dict[str, Any], table: str, day: date
) -> None:
    [located] = [t for t in glue_tables(template, "bucket-x") if t.name == table]
    projected = (
        located.location_template.replace("${year}", f"{day.year:04d}")
        .replace("${month}", f"{day.month:02d}")
        .replace("${day}", f"{day.day:02d}")
    )

    assert projected == f"s3://bucket-x/{partition_prefix(TABLE_DATASETS[table], day)}"
    storage = tables(template)[table]["TableInput"]["StorageDescriptor"]
    assert storage["Location"] == {"Fn::Sub": "s3://${ArchiveBucket}/" + TABLE_DATASETS[table] + "/"}


@pytest.mark.parametrize(("table", "serde"), [("events", JSON_SERDE), ("raw", JSON_SERDE), ("events_csv", CSV_SERDE)])
def test_table_reads_its_files_with_the_right_serde_when_queried(
    template: dict[str, Any], table: str, serde: str
) -> None:
    storage = tables(template)[table]["TableInput"]["StorageDescriptor"]

    assert storage["SerdeInfo"]["SerializationLibrary"] == serde
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert storage["Compressed"] is True


def test_events_csv_table_skips_the_header_and_disables_escaping_when_reading(template: dict[str, Any]) -> None:
    table_input = tables(template)["events_csv"]["TableInput"]

    assert table_input["Parameters"]["skip.header.line.count"] == "1"
    assert table_input["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {
        "separatorChar": ",",
        "quoteChar": '"',
        "escapeChar": "\0",
    }


# OpenCSVSerDe's reading rules, as Athena applies them: an escape character followed by the quote or
# by itself stands for that character, and followed by anything else it is dropped; a doubled quote
# inside a quoted field is one quote. (Quotes in the middle of a field never occur in our files.)
def opencsv_fields(line: str, escape: str, separator: str = ",", quote: str = '"') -> list[str]:
    fields: list[str] = []
    value: list[str] = []
    in_quotes = in_field = False
    i = 0
    while i < len(line):
        char = line[i]
        following = line[i + 1] if i + 1 < len(line) else ""
        if char == escape:
            if (in_quotes or in_field) and following in (quote, escape):
                value.append(following)
                i += 1
        elif char == quote:
            if (in_quotes or in_field) and following == quote:
                value.append(quote)
                i += 1
            else:
                in_quotes = not in_quotes
            in_field = not in_field
        elif char == separator and not in_quotes:
            fields.append("".join(value))
            value, in_field = [], False
        else:
            value.append(char)
            in_field = True
        i += 1
    fields.append("".join(value))
    return fields


TRICKY = [
    "line one\nline two",
    'she said "hi", then \\left',
    "C:\\temp\\new and a literal \\n",
    "ends with a backslash\\",
    'quote after backslash \\"',
    "nul\0inside",
    "=1+2",
    "",
]


def tricky_rows() -> list[EventRow]:
    return [
        EventRow(
            event_id=f"gw:s:{i}",
            batch_id="b-1",
            source="gateway",
            event_type="MESSAGE_CREATE",
            category="message",
            action="create",
            occurred_at="2026-11-20T00:00:00.000Z",
            received_at="2026-11-20T00:00:00.000Z",
            content=value,
            user_name=value,
            details='{"path":"C:\\\\x","q":"\\"","n":"a\\nb"}',
        )
        for i, value in enumerate(TRICKY)
    ]


def test_events_csv_serde_reads_every_cell_as_written_when_escaping_is_disabled(template: dict[str, Any]) -> None:
    escape = tables(template)["events_csv"]["TableInput"]["StorageDescriptor"]["SerdeInfo"]["Parameters"]["escapeChar"]
    text = render_csv(tricky_rows())
    written = list(csv.reader(io.StringIO(text, newline="")))

    read = [opencsv_fields(line, escape) for line in text.split("\r\n") if line]

    assert read == written


def test_opencsv_default_escape_would_corrupt_the_cells_when_left_as_backslash() -> None:
    # Why the table sets escapeChar: with the default, `\n` escapes and JSON in details lose their backslashes.
    text = render_csv(tricky_rows())
    written = list(csv.reader(io.StringIO(text, newline="")))

    read = [opencsv_fields(line, "\\") for line in text.split("\r\n") if line]

    assert read != written


# --- local views ------------------------------------------------------------------------------


def test_glue_tables_read_their_own_prefix_when_viewed_locally(template: dict[str, Any]) -> None:
    globs = {table.name: table.glob for table in glue_tables(template, "local-bucket")}

    assert globs == {
        name: f"s3://local-bucket/{prefix}/year=*/month=*/day=*/*" for name, prefix in TABLE_DATASETS.items()
    }


def test_glue_tables_define_a_duckdb_view_with_the_glue_columns_when_viewed_locally(template: dict[str, Any]) -> None:
    views = {table.name: table.duckdb_view() for table in glue_tables(template, "local-bucket")}

    assert "read_json(" in views["events"] and "'seq': 'BIGINT'" in views["events"]
    assert "read_csv(" in views["events_csv"] and "header = true" in views["events_csv"]
    assert all("hive_partitioning = true" in view for view in views.values())


# --- workgroup, policy, named queries ----------------------------------------------------------


def test_workgroup_encrypts_results_and_caps_bytes_scanned_when_queries_run(template: dict[str, Any]) -> None:
    [workgroup] = resources_of_type(template, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    results = configuration["ResultConfiguration"]

    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "QueryScanLimitBytes"}
    assert template["Parameters"]["QueryScanLimitBytes"]["MinValue"] >= 10 * 1024 * 1024
    assert results["EncryptionConfiguration"]["EncryptionOption"] in {"SSE_S3", "SSE_KMS"}
    assert results["OutputLocation"] == {"Fn::Sub": "s3://${ArchiveBucket}/athena-results/"}
    assert configuration["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"


def test_archive_bucket_expires_query_results_when_a_week_old(template: dict[str, Any]) -> None:
    bucket = template["Resources"][archive_bucket_id(template)]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]

    assert [r.get("ExpirationInDays") for r in rules if r.get("Prefix") == "athena-results/"] == [7]


def query_policy_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [policy] = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_query_policy_grants_glue_and_s3_reads_when_athena_runs_a_query(template: dict[str, Any]) -> None:
    statements = query_policy_statements(template)
    actions = {a for s in statements.values() for a in s["Action"]}

    assert {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"} <= actions
    assert {"glue:GetTable", "glue:GetDatabase"} <= actions
    assert {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:GetBucketLocation"} <= actions
    read = statements["ReadTheTables"]["Resource"]
    assert sorted(r["Fn::Sub"] for r in read) == sorted(
        f"${{ArchiveBucket.Arn}}/{p}/*" for p in TABLE_DATASETS.values()
    )
    assert statements["WriteAndReadResults"]["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/athena-results/*"}


def test_query_policy_grants_nothing_on_exports_or_quarantine_when_attached(template: dict[str, Any]) -> None:
    text = str(query_policy_statements(template))

    assert "exports/" not in text and "quarantine/" not in text


def test_named_query_resources_hold_the_stored_sql_when_deployed(template: dict[str, Any]) -> None:
    resources = resources_of_type(template, "AWS::Athena::NamedQuery")
    stored = named_queries()

    assert {r["Properties"]["Name"] for r in resources.values()} == set(stored)
    for resource in resources.values():
        properties = resource["Properties"]
        query = stored[properties["Name"]]
        assert properties["QueryString"] == query.sql
        assert properties["Description"] == query.description
        assert properties["Database"] == {"Ref": "ArchiveDatabase"}
        assert properties["WorkGroup"] == {"Ref": "AthenaWorkGroup"}


def test_named_query_block_is_up_to_date_when_the_sql_files_change() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    assert replace_block(text) == text, "run: python -m guildlog_tools.named_queries"


def test_outputs_name_the_database_and_workgroup_when_clients_query(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]

    assert outputs["GlueDatabaseName"]["Value"] == {"Ref": "ArchiveDatabase"}
    assert outputs["AthenaWorkGroupName"]["Value"] == {"Ref": "AthenaWorkGroup"}
