"""`guildlog query`: a named query or any SQL over the archive, on Athena or locally on DuckDB."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from guildlog.errors import ConfigurationError, QueryError, UsageError

WORKGROUP_ENV = "GUILDLOG_ATHENA_WORKGROUP"
DATABASE_ENV = "GUILDLOG_GLUE_DATABASE"
STACK_ENV = "GUILDLOG_STACK_NAME"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="run a named query (or SQL) over the archive on Athena, or locally with --local",
        description="Run one of the stack's named Athena queries, or any SQL in Athena's dialect, over the S3 "
        "archive (tables events, events_csv and raw, partitioned by year/month/day). Without --local it runs on "
        "Athena in the stack's workgroup and prints the bytes scanned and what they cost; with --local the same "
        "SQL runs on DuckDB over the running `guildlog dev` stack's S3.",
        epilog="examples:\n"
        "  guildlog query --list\n"
        "  guildlog query --named top_members --param guild=123456789012345678 --param day=2026-11-20\n"
        "  guildlog query --local --named deleted_messages --param guild=… --param from=2026-11-19 "
        "--param to=2026-11-20\n"
        "  guildlog query --local \"SELECT category, count(*) FROM events WHERE day = '20' GROUP BY 1\"",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sql", nargs="?", help="a SQL statement in Athena's dialect (instead of --named)")
    parser.add_argument("--named", metavar="NAME", help="a named query (see --list)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a named query's parameter: guild, user, day or from and to (YYYY-MM-DD), lookback_from",
    )
    parser.add_argument("--list", action="store_true", help="list the named queries and their parameters")
    parser.add_argument("--local", action="store_true", help="run on DuckDB over the local stack's S3")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output (default: table)")
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument(
        "--stack", default=None, help=f"read the workgroup and database from this stack's outputs (${STACK_ENV})"
    )
    parser.add_argument("--workgroup", default=None, help=f"Athena workgroup (${WORKGROUP_ENV}; default: the stack's)")
    parser.add_argument("--database", default=None, help=f"Glue database (${DATABASE_ENV}; default: the stack's)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.queries import bind, get_named_query, named_queries
    from guildlog.queries.result import render

    if args.list:
        for query in named_queries().values():
            print(f"{query.name}\n    {query.description}\n    parameters: {', '.join(_caller_parameters(query))}\n")
        return 0
    if bool(args.sql) == bool(args.named):
        raise UsageError("give either a SQL statement or --named NAME (`guildlog query --list` shows the names)")
    params = parse_params(args.param)
    if args.named:
        try:
            bound = bind(get_named_query(args.named), params)
        except QueryError as exc:
            # What was typed is wrong: name the flag, and how to see what the query takes.
            raise UsageError(
                f"--named {args.named}: {exc.message} (`guildlog query --list` shows each query's parameters)"
            ) from None
        sql, local_values, athena_values = bound.sql, list(bound.values), bound.athena_parameters()
    else:
        if params:
            raise UsageError("--param goes with --named; write the values into the SQL instead")
        sql, local_values, athena_values = args.sql, [], []
    if args.local:
        from guildlog_tools.local.query_engine import LocalQueryEngine
        from guildlog_tools.progress import progress

        # DuckDB tells nothing of a query's progress until it ends (its query_progress() stays -1 here):
        # while it runs this shows the time spent, then the rows it returned.
        with progress("query", unit="rows") as shown, LocalQueryEngine.from_dev_file(args.dev_file) as engine:
            result = engine.run(sql, local_values)
            shown.advance(len(result.rows))
    else:
        from guildlog.adapters.athena import AthenaQueryRunner

        workgroup, database = resolve_athena_target(args)
        runner = AthenaQueryRunner(workgroup, database, _client("athena", args.region))
        result = runner.run(sql, athena_values)
    sys.stdout.write(render(result, args.format))
    print(result.summary(), file=sys.stderr)
    return 0


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param takes KEY=VALUE, not {pair!r}, e.g. --param day=2026-11-20")
        if key.strip() in params:
            raise UsageError(f"--param {key.strip()} is given twice: keep one")
        params[key.strip()] = value.strip()
    return params


def resolve_athena_target(args: argparse.Namespace) -> tuple[str, str]:
    """(workgroup, database): flags, then environment, then the stack's outputs."""
    workgroup = args.workgroup or os.environ.get(WORKGROUP_ENV)
    database = args.database or os.environ.get(DATABASE_ENV)
    stack = args.stack or os.environ.get(STACK_ENV)
    if (not workgroup or not database) and stack:
        outputs = stack_outputs(stack, args.region)
        workgroup = workgroup or outputs.get("AthenaWorkGroupName")
        database = database or outputs.get("GlueDatabaseName")
    if not workgroup or not database:
        raise UsageError(
            "name the Athena workgroup and Glue database: --stack NAME (or --workgroup and --database), "
            "or run with --local against `guildlog dev`"
        )
    return workgroup, database


def stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    try:
        described = _client("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as exc:
        from guildlog_tools.cli.errors import aws_reason

        raise ConfigurationError(f"cannot read the outputs of stack {stack!r}: {aws_reason(exc)}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def _caller_parameters(query: Any) -> list[str]:
    names = []
    for name in dict.fromkeys(query.placeholders):
        if name in ("from", "to"):
            if "day | from, to" not in names:
                names.append("day | from, to")
        elif name == "lookback_from":
            names.append("[lookback_from]")
        else:
            names.append(name)
    return names
