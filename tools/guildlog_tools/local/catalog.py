"""template.yaml's Glue tables as data, and as DuckDB views over the same S3 prefixes.

`guildlog query --local` defines its tables from the template's own `AWS::Glue::Table`
resources (name, columns, partition keys, SerDe, `storage.location.template`), so the local
engine and Athena read the archive with one definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guildlog.errors import ConfigurationError

GLUE_TABLE_TYPE = "AWS::Glue::Table"
JSON_SERDES = frozenset({"org.openx.data.jsonserde.JsonSerDe", "org.apache.hive.hcatalog.data.JsonSerDe"})
CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
_DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "boolean": "BOOLEAN"}
_PROJECTED = re.compile(r"\$\{!?([a-z_]+)\}")


@dataclass(frozen=True)
class GlueTable:
    """One table of the archive database, with its S3 location resolved for a given bucket."""

    logical_id: str
    name: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[str, ...]
    serde: str
    serde_parameters: Mapping[str, str]
    parameters: Mapping[str, str]
    location_template: str  # e.g. s3://bucket/events/year=${year}/month=${month}/day=${day}/

    @property
    def glob(self) -> str:
        """Every object of every projected partition: each `${key}` of the template becomes `*`."""
        return _PROJECTED.sub("*", self.location_template).rstrip("/") + "/*"

    def duckdb_view(self) -> str:
        """`CREATE VIEW` reading the table's objects with hive partitioning, columns as in Glue."""
        partition_types = ", ".join(f"'{key}': 'VARCHAR'" for key in self.partition_keys)
        if self.serde in JSON_SERDES:
            columns = ", ".join(f"'{name}': '{_duckdb_type(kind)}'" for name, kind in self.columns)
            reader = (
                f"read_json({_quote(self.glob)}, format = 'newline_delimited', columns = {{{columns}}}, "
                f"hive_partitioning = true, hive_types = {{{partition_types}}})"
            )
        elif self.serde == CSV_SERDE:
            separator = self.serde_parameters.get("separatorChar", ",")
            quote = self.serde_parameters.get("quoteChar", '"')
            skip = int(self.parameters.get("skip.header.line.count", "0"))
            columns = ", ".join(f"'{name}': '{_duckdb_type(kind)}'" for name, kind in self.columns)
            # OpenCSVSerDe reads an empty field as an empty string, never as NULL; so does this.
            reader = (
                f"read_csv({_quote(self.glob)}, delim = {_quote(separator)}, quote = {_quote(quote)}, "
                f"escape = {_quote(quote)}, header = {'true' if skip else 'false'}, columns = {{{columns}}}, "
                f"auto_detect = false, allow_quoted_nulls = false, "
                f"hive_partitioning = true, hive_types = {{{partition_types}}})"
            )
        else:
            raise ConfigurationError("no local reader for this SerDe", table=self.name, serde=self.serde)
        # Built from the template's own definitions, every literal quoted by _quote.
        return f"CREATE OR REPLACE VIEW {self.name} AS SELECT * FROM {reader}"  # noqa: S608

    def duckdb_empty_view(self) -> str:
        """The same columns and no rows: what Athena answers for a table with no objects yet."""
        names = [*self.columns, *((key, "string") for key in self.partition_keys)]
        select = ", ".join(f"CAST(NULL AS {_duckdb_type(kind)}) AS {name}" for name, kind in names)
        return f"CREATE OR REPLACE VIEW {self.name} AS SELECT {select} WHERE false"


def glue_tables(template: Mapping[str, Any], bucket: str) -> list[GlueTable]:
    """Every Glue table of the template, in template order, located in `bucket`."""
    buckets = [
        logical_id
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::S3::Bucket"
    ]
    tables = []
    for logical_id, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != GLUE_TABLE_TYPE:
            continue
        table_input = resource.get("Properties", {}).get("TableInput", {})
        storage = table_input.get("StorageDescriptor", {})
        parameters = dict(table_input.get("Parameters") or {})
        template_value = parameters.pop("storage.location.template", None)
        if template_value is None:
            raise ConfigurationError("a Glue table has no storage.location.template", table=logical_id)
        serde = storage.get("SerdeInfo", {})
        tables.append(
            GlueTable(
                logical_id=logical_id,
                name=str(table_input.get("Name")),
                columns=tuple((str(c["Name"]), str(c["Type"])) for c in storage.get("Columns", [])),
                partition_keys=tuple(str(k["Name"]) for k in table_input.get("PartitionKeys", [])),
                serde=str(serde.get("SerializationLibrary")),
                serde_parameters={str(k): str(v) for k, v in (serde.get("Parameters") or {}).items()},
                parameters={str(k): str(v) for k, v in parameters.items()},
                location_template=_resolve_location(template_value, bucket, buckets, logical_id),
            )
        )
    return tables


def _resolve_location(value: Any, bucket: str, bucket_ids: list[str], where: str) -> str:
    """`!Sub s3://${ArchiveBucket}/…/year=${!year}/…` → `s3://<bucket>/…/year=${year}/…`."""
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise ConfigurationError("storage.location.template must be a string or a simple !Sub", table=where)
    for name in re.findall(r"\$\{([^}!]+)\}", text):
        if name not in bucket_ids:
            raise ConfigurationError("storage.location.template may only name the bucket", table=where, name=name)
        text = text.replace("${" + name + "}", bucket)
    return text.replace("${!", "${")


def _duckdb_type(kind: str) -> str:
    if kind not in _DUCKDB_TYPES:
        raise ConfigurationError("no DuckDB type for this Glue type", type=kind)
    return _DUCKDB_TYPES[kind]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
