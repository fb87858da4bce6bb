"""`guildlog forget --guild G --user U`: erase a member's data in a guild now; `--guild G` alone: delete
the guild's data now (what happens on its own a grace period after the guild removes the bot)."""

from __future__ import annotations

import argparse
import re
import uuid
from typing import Any

from guildlog.errors import UsageError

_SNOWFLAKE = re.compile(r"[0-9]{15,21}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forget",
        help="erase a member's data in a guild (or a whole guild's) from the hot table, archive and exports",
        description="With --user: erase the member's message content, names, avatars and attachment copies in "
        "the guild from the hot table, every archive dataset and the exports, then verify and print the receipt "
        "(kept in the table for the guild's audit). Without --user: delete everything of the guild. "
        "Resumable: run it again with the same --job-id after an interruption. Cannot be undone: needs --yes.",
    )
    parser.add_argument("--guild", required=True, help="the guild (server) id")
    parser.add_argument("--user", default=None, help="the member's user id (omit to delete the whole guild)")
    parser.add_argument("--yes", action="store_true", help="confirm: the erasure cannot be undone")
    parser.add_argument("--job-id", default=None, help="resume this job (default: a new one)")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="skip the wait for ingest to read the tombstone and, with --stack, for ArchiveFunction to write what"
        " was queued before it (7 minutes; 1 with --local): only when nothing is being ingested",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", action="store_true", help="the running `guildlog dev` stack")
    target.add_argument("--stack", default=None, help="a deployed stack (its TableName and ArchiveBucketName)")
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.set_defaults(func=run)


def _snowflake(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    if not _SNOWFLAKE.fullmatch(value):
        raise UsageError(f"{flag} takes a Discord id (15 to 21 digits), not {value[:40]!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.erasure_store import ErasureStore
    from guildlog.adapters.s3_rewrite import S3VersionedObjects
    from guildlog.services.timefmt import iso, utcnow

    guild = _snowflake(args.guild, "--guild")
    user = _snowflake(args.user, "--user")
    assert guild is not None
    if not (args.local or args.stack):
        raise UsageError("name the stack: --local or --stack NAME")
    if not args.yes:
        what = f"member {user}'s data in guild {guild}" if user else f"every record of guild {guild}"
        raise UsageError(f"this erases {what} and cannot be undone: add --yes")
    table, bucket, dynamodb, s3 = resolve(args)
    hot = ErasureStore(table, dynamodb)
    objects = S3VersionedObjects(bucket, s3)
    job_id = args.job_id or f"cli-{uuid.uuid4().hex[:12]}"
    if user:
        from guildlog.adapters.erasure_requests import STACK_ARCHIVE_SETTLE_SECONDS
        from guildlog.services.erasure.job import ErasureJob, ErasureRequest
        from guildlog.services.erasure.tombstones import CACHE_SECONDS

        settle = 0 if args.no_wait else int(CACHE_SECONDS) + (STACK_ARCHIVE_SETTLE_SECONDS if args.stack else 0)
        receipt = ErasureJob(hot, objects, archive=archive_queries(args), settle_seconds=settle).run(
            ErasureRequest(guild, user, job_id, "cli", iso(utcnow()))
        )
    else:
        from guildlog.services.erasure.guild import GuildDeletion

        receipt = GuildDeletion(hot, objects).run(guild, requested_by="cli", job_id=job_id)
    print(receipt.summary())
    print(f"job id: {job_id} (run again with --job-id {job_id} to resume)")
    return 0 if receipt.verification.clean else 1


class FreshLocalEngine:
    """The local stack's DuckDB, opened afresh for each statement: the views then list the objects as the
    erasure left them (the verification runs after the rewrite)."""

    def __init__(self, dev_file: str | None) -> None:
        self.dev_file = dev_file

    def run_bound(self, bound: Any) -> Any:
        from guildlog_tools.local.query_engine import LocalQueryEngine

        with LocalQueryEngine.from_dev_file(self.dev_file) as engine:
            return engine.run_bound(bound)


def archive_queries(args: argparse.Namespace) -> Any:
    """The member's days in the whole archive and the verification query: DuckDB with --local, the
    stack's Athena workgroup with --stack (its AthenaWorkGroupName and GlueDatabaseName outputs)."""
    from guildlog.services.erasure.archive_query import ArchiveMemberQueries

    if args.local:
        return ArchiveMemberQueries(FreshLocalEngine(args.dev_file))
    import boto3

    from guildlog.adapters.athena import AthenaQueryRunner
    from guildlog_tools.cli.query import stack_outputs

    outputs = stack_outputs(args.stack, args.region)
    if not outputs.get("AthenaWorkGroupName") or not outputs.get("GlueDatabaseName"):
        raise UsageError(f"stack {args.stack!r} has no AthenaWorkGroupName or GlueDatabaseName output")
    client = boto3.client("athena", region_name=args.region) if args.region else boto3.client("athena")
    return ArchiveMemberQueries(
        AthenaQueryRunner(outputs["AthenaWorkGroupName"], outputs["GlueDatabaseName"], client, timeout=300.0)
    )


def resolve(args: argparse.Namespace) -> tuple[str, str, Any, Any]:
    """(table, bucket, DynamoDB client, S3 client) of --local (dev.json's moto) or --stack."""
    import boto3

    if args.local:
        from guildlog_tools.local.devfile import read_dev_file
        from guildlog_tools.local.stack import DUMMY_CREDENTIALS

        info = read_dev_file(args.dev_file)
        session = boto3.session.Session()
        options = {
            "endpoint_url": info["aws_endpoint_url"],
            "region_name": info.get("region") or "us-east-1",
            "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
        return (
            str(info["table"]),
            str(info["bucket"]),
            session.client("dynamodb", **options),
            session.client("s3", **options),
        )
    from guildlog_tools.cli.query import stack_outputs

    outputs = stack_outputs(args.stack, args.region)
    if not outputs.get("TableName") or not outputs.get("ArchiveBucketName"):
        raise UsageError(f"stack {args.stack!r} has no TableName or ArchiveBucketName output")
    region = {"region_name": args.region} if args.region else {}
    return (
        outputs["TableName"],
        outputs["ArchiveBucketName"],
        boto3.client("dynamodb", **region),
        boto3.client("s3", **region),
    )
