"""`guildlog export`: a channel's (or a server's) log over a day or a range as JSON, CSV or a
DiscordChatExporter file, stored under exports/ with a presigned link, like `/logs export`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from guildlog_tools.progress import Progress

TABLE_ENV = "GUILDLOG_TABLE_NAME"


def register(subparsers: argparse._SubParsersAction) -> None:
    from guildlog.services.exports import DEFAULT_LINK_SECONDS, FORMATS, MAX_EXPORT_DAYS

    parser = subparsers.add_parser(
        "export",
        help="export a channel's log as json, csv or dce (DiscordChatExporter) with a presigned link",
        description="Read the asked days from the S3 archive (events/), keep the server's (and channel's) rows, "
        "and store the file under exports/ (expired by the bucket after a week) with a presigned link. "
        f"At most {MAX_EXPORT_DAYS} days.",
    )
    parser.add_argument("--guild", required=True, help="the server's id")
    parser.add_argument("--channel", default=None, help="only this channel (required for --format dce)")
    parser.add_argument("--day", default=None, help="one day, YYYY-MM-DD (UTC)")
    parser.add_argument("--from", dest="first", default=None, help="first day of a range")
    parser.add_argument("--to", dest="last", default=None, help="last day of a range")
    parser.add_argument("--format", choices=FORMATS, default="json", help="json (default), csv or dce")
    parser.add_argument("--out", type=Path, default=None, help="also write the file here")
    parser.add_argument(
        "--link-seconds", type=int, default=DEFAULT_LINK_SECONDS, help=f"link lifetime (default {DEFAULT_LINK_SECONDS})"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", action="store_true", help="the running `guildlog dev` stack's bucket")
    target.add_argument("--bucket", default=None, help="an archive bucket on AWS ($GUILDLOG_BUCKET_NAME)")
    target.add_argument("--stack", default=None, help="the archive bucket of this deployed stack")
    parser.add_argument(
        "--table",
        default=None,
        help=f"the hot table whose directory names the server and channel (${TABLE_ENV}; "
        "--local and --stack find it themselves)",
    )
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.s3_exports import S3ArchiveRows, S3ExportStore
    from guildlog.errors import ExportError, QueryError, UsageError
    from guildlog.services.exports import Exporter, ExportRequest
    from guildlog_tools.cli.compact import resolve_bucket, usage_day
    from guildlog_tools.cli.errors import writable_out
    from guildlog_tools.progress import progress

    if args.day and (args.first or args.last):
        raise UsageError("give either --day or --from and --to, not both")
    if args.day:
        first = last = usage_day(args.day, "--day")
    elif args.first and args.last:
        first, last = usage_day(args.first, "--from"), usage_day(args.last, "--to")
    else:
        raise UsageError("name the days: --day YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD")
    if args.out:
        writable_out(args.out)  # before the upload, so a bad path costs nothing
    try:
        request = ExportRequest(
            guild_id=args.guild, channel_id=args.channel, first=first, last=last, output_format=args.format
        )
    except (ExportError, QueryError) as exc:
        raise UsageError(exc.message, **exc.fields) from exc
    bucket, client = resolve_bucket(args)
    directory, no_directory = resolve_directory(args)
    with progress("export", total=(last - first).days + 1, unit="days") as shown:
        archive = _DaysRead(S3ArchiveRows(bucket, client), shown)
        store = S3ExportStore(bucket, client)
        exporter = Exporter(archive, store, link_seconds=args.link_seconds, names=directory)
        result = exporter.export(request)
    if args.out:
        args.out.write_bytes(result.file.body)
    print(
        f"{result.file.name}: {result.file.rows} events, {result.file.messages} messages, {len(result.file.body)} bytes"
    )
    print(f"names    {_names_line(request, result.file, no_directory)}")
    print(f"stored   s3://{bucket}/{result.key}")
    print(f"link     {result.url}")
    print(f"expires  {result.expires_at.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    if args.out:
        print(f"written  {args.out}")
    return 0


class _DaysRead:
    """The archive's rows of each day, counting each day read whole as one step of the export."""

    def __init__(self, archive: Any, shown: Progress) -> None:
        self.archive = archive
        self.shown = shown

    def rows(self, day: date) -> Iterator[dict[str, Any]]:
        yield from self.archive.rows(day)
        self.shown.advance()


def resolve_directory(args: argparse.Namespace) -> tuple[Any | None, str | None]:
    """(the hot table's directory of names, None) or (None, why there is none): --local's dev file,
    --stack's TableName output, or --table / $GUILDLOG_TABLE_NAME."""
    import boto3

    from guildlog.adapters.dynamodb_store import DynamoStore

    if args.local:
        from guildlog_tools.local.devfile import read_dev_file
        from guildlog_tools.local.stack import DUMMY_CREDENTIALS

        info = read_dev_file(args.dev_file)
        if not info.get("table"):
            return None, "the dev file names no table"
        client = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=info["aws_endpoint_url"],
            region_name=info.get("region") or "us-east-1",
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return DynamoStore(str(info["table"]), client), None
    table = args.table or os.environ.get(TABLE_ENV)
    if not table and args.stack:
        from guildlog_tools.cli.query import stack_outputs

        table = stack_outputs(args.stack, args.region).get("TableName")
    if not table:
        return None, f"no table given (--table NAME or ${TABLE_ENV})"
    client = boto3.client("dynamodb", region_name=args.region) if args.region else boto3.client("dynamodb")
    return DynamoStore(table, client), None


def _names_line(request: Any, file: Any, no_directory: str | None) -> str:
    """The server's and channel's names as the file gives them, and which ids stand in for a name."""
    shown = [f"server {file.guild_name!r}" if file.guild_name else f"server {request.guild_id} (no name known)"]
    if request.channel_id:
        if file.channel_name:
            shown.append(f"#{file.channel_name}")
        else:
            shown.append(f"channel {request.channel_id} (no name known)")
    line = ", ".join(shown)
    if not file.guild_name or (request.channel_id and not file.channel_name):
        source = f"the directory was not read: {no_directory}" if no_directory else "nor does the directory"
        line += f"; the exported days do not name it, {source}, so the file shows the id"
    return line
