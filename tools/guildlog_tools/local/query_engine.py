"""`guildlog query --local`: the named queries' Athena SQL on DuckDB, over the local stack's S3.

DuckDB reads the bucket through its httpfs extension, loaded from the `duckdb-extension-httpfs`
wheel (DuckDB's own signed build; signature checks stay on) with automatic installing and loading
turned off, so nothing is ever downloaded at run time. The tables are views defined from
template.yaml's Glue tables (`guildlog_tools.local.catalog`), with hive partitioning on
year/month/day: a query that names days reads only those days' objects. Each run counts the S3
objects and bytes DuckDB fetched, from DuckDB's own HTTP log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from guildlog.errors import ConfigurationError, QueryError
from guildlog.queries import BoundQuery
from guildlog.queries.result import QueryResult

ENGINE = "duckdb"
# Moto accepts any credentials; these only give DuckDB's S3 client something to sign with.
LOCAL_CREDENTIALS = ("testing", "testing")


def transpile(sql: str) -> str:
    """Athena (Trino) SQL → DuckDB SQL; `?` placeholders stay as they are."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        return sqlglot.transpile(sql, read="athena", write="duckdb")[0]
    except ParseError as exc:
        raise QueryError("the query is not valid Athena SQL", reason=str(exc).splitlines()[0]) from None


def httpfs_extension_path() -> Path:
    """The httpfs build for the installed DuckDB, from the duckdb-extension-httpfs wheel."""
    import duckdb

    version = duckdb.__version__
    try:
        import duckdb_extension_httpfs
    except ImportError:
        raise ConfigurationError(
            f"DuckDB's httpfs extension is not installed: pip install duckdb-extension-httpfs=={version}"
        ) from None
    path = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{version}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise ConfigurationError(
            f"the installed duckdb-extension-httpfs has no build for DuckDB {version}: "
            f"pip install duckdb-extension-httpfs=={version}",
            looked_for=str(path),
        )
    return path


class LocalQueryEngine:
    """A DuckDB connection whose tables are the archive's, read from an S3 endpoint (moto locally).

    Use as a context manager. `template` is a loaded template.yaml (default: the checkout's).
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        region: str = "us-east-1",
        access_key_id: str = LOCAL_CREDENTIALS[0],
        secret_access_key: str = LOCAL_CREDENTIALS[1],
        template: Mapping[str, Any] | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._template = template
        self._connection: Any = None
        self.tables: list[str] = []

    @classmethod
    def from_dev_file(cls, path: Path | str | None = None) -> LocalQueryEngine:
        """An engine on the running `guildlog dev` stack described by its dev.json."""
        from guildlog_tools.local.devfile import read_dev_file

        info = read_dev_file(path)
        missing = [key for key in ("aws_endpoint_url", "bucket") if not info.get(key)]
        if missing:
            raise ConfigurationError("the dev file does not name the stack's S3 endpoint and bucket", missing=missing)
        return cls(
            endpoint_url=str(info["aws_endpoint_url"]),
            bucket=str(info["bucket"]),
            region=info.get("region") or "us-east-1",
        )

    # -- lifecycle

    def open(self) -> LocalQueryEngine:
        import duckdb

        from guildlog_tools.local.catalog import glue_tables
        from guildlog_tools.local.template import load_template

        endpoint = urlsplit(self.endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ConfigurationError("the S3 endpoint must be an http(s) URL", endpoint=self.endpoint_url)
        connection = duckdb.connect(
            config={
                # Never fetch an extension from the network; httpfs comes from its wheel.
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        try:
            connection.execute(f"LOAD {_literal(str(httpfs_extension_path()))}")
            connection.execute("SET TimeZone = 'UTC'")
            # Each query reads what it needs from S3 again, so the bytes it reports are its own.
            connection.execute("SET enable_external_file_cache = false")
            key_id, secret = self._credentials
            connection.execute(
                "CREATE SECRET archive "
                "(TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?, URL_STYLE 'path', USE_SSL ?)",
                [key_id, secret, self.region, endpoint.netloc, endpoint.scheme == "https"],
            )
            template = self._template if self._template is not None else load_template()
            for table in glue_tables(template, self.bucket):
                try:
                    connection.execute(table.duckdb_view())
                except duckdb.IOException as exc:
                    if "No files found" not in str(exc):
                        raise
                    connection.execute(table.duckdb_empty_view())
                self.tables.append(table.name)
            connection.execute("CALL enable_logging('HTTP')")
        except duckdb.Error as exc:
            connection.close()
            raise QueryError("DuckDB could not open the archive", reason=str(exc).splitlines()[0]) from None
        self._connection = connection
        return self

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> LocalQueryEngine:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- queries

    def run_bound(self, bound: BoundQuery) -> QueryResult:
        return self.run(bound.sql, bound.values)

    def run(self, athena_sql: str, values: Sequence[Any] = ()) -> QueryResult:
        """Run one Athena-dialect statement with its `?` values; QueryError when DuckDB refuses it."""
        import duckdb

        if self._connection is None:
            self.open()
        connection = self._connection
        sql = transpile(athena_sql)
        connection.execute("CALL truncate_duckdb_logs()")
        started = time.perf_counter()
        try:
            cursor = connection.execute(sql, list(values))
            rows = [tuple(row) for row in cursor.fetchall()]
            columns = [column[0] for column in cursor.description or []]
        except duckdb.Error as exc:
            raise QueryError("the query failed on DuckDB", reason=str(exc).splitlines()[0]) from None
        elapsed = time.perf_counter() - started
        objects, read = self._reads()
        return QueryResult(
            columns=columns,
            rows=rows,
            engine=ENGINE,
            bytes_scanned=read,
            objects_read=objects,
            elapsed_seconds=elapsed,
        )

    def _reads(self) -> tuple[int, int]:
        """(objects, bytes) fetched with GET since the log was last cleared; listings are not reads."""
        entries = self._connection.execute(
            "SELECT request.url, response.status, response.headers FROM duckdb_logs_parsed('HTTP') "
            "WHERE request.type = 'GET'"
        ).fetchall()
        objects: set[str] = set()
        total = 0
        for url, _status, headers in entries:
            if "?" in url:  # ListObjectsV2 and other bucket-level requests
                continue
            objects.add(url)
            total += int((headers or {}).get("Content-Length") or 0)
        return len(objects), total


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
