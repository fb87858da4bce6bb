"""`guildlog compact --day D`: what CompactFunction does every night, for any day, by hand."""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta
from typing import Any

from guildlog.errors import QueryError, UsageError

BUCKET_ENV = "GUILDLOG_BUCKET_NAME"


def register(subparsers: argparse._SubParsersAction) -> None:
    from guildlog.services.partition import DATASETS

    parser = subparsers.add_parser(
        "compact",
        help="merge a day's per-batch archive objects into one object per dataset",
        description="For each dataset (raw, events, events_csv, quarantine) and day, merge the partition's "
        "per-batch objects into one object, dropping duplicate event ids, writing the merged object before "
        "deleting its inputs. Safe to re-run and to run while the nightly CompactFunction runs.",
    )
    parser.add_argument("--day", required=True, help="the partition day, YYYY-MM-DD (UTC)")
    parser.add_argument("--to", default=None, help="compact every day from --day to this one")
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS), help="only these datasets")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", action="store_true", help="the running `guildlog dev` stack's bucket")
    target.add_argument("--bucket", default=None, help=f"an archive bucket on AWS (${BUCKET_ENV})")
    target.add_argument("--stack", default=None, help="the archive bucket of this deployed stack")
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.s3_compaction import S3CompactionStore
    from guildlog.services.compaction import Compactor
    from guildlog.services.partition import DATASETS
    from guildlog_tools.progress import progress

    first = usage_day(args.day, "--day")
    last = usage_day(args.to, "--to") if args.to else first
    if last < first:
        raise UsageError("--to is before --day: swap them")
    bucket, client = resolve_bucket(args)
    compactor = Compactor(S3CompactionStore(bucket, client))
    datasets = args.dataset or list(DATASETS)
    refused = 0
    print(f"{'day':<10}  {'dataset':<10}  {'state':<13}  {'objects':>7}  {'lines':>7}  {'dupes':>5}  bytes in -> out")
    day = first
    with progress("compact", total=((last - first).days + 1) * len(datasets), unit="partitions") as shown:
        while day <= last:
            for dataset in datasets:  # one at a time, so each row and the progress show when it is done
                result = compactor.compact(dataset, day)
                refused += result.state == "refused"
                print(
                    f"{day.isoformat():<10}  {result.dataset:<10}  {result.state:<13}  {result.inputs:>7}  "
                    f"{result.lines_out:>7}  {result.duplicates:>5}  {result.bytes_in} -> {result.bytes_out}"
                    + (f"  ({result.reason})" if result.reason else ""),
                    flush=True,
                )
                shown.advance()
            day += timedelta(days=1)
    return 1 if refused else 0


def usage_day(text: str, flag: str) -> date:
    """A YYYY-MM-DD day given on the command line; UsageError naming the flag otherwise."""
    from guildlog.queries import parse_day

    try:
        return parse_day(text, flag)
    except QueryError as exc:
        raise UsageError(f"{exc.message}, e.g. 2026-11-20") from None


def resolve_bucket(args: argparse.Namespace) -> tuple[str, Any]:
    """(bucket, S3 client) for --local (dev.json's moto), --bucket / $GUILDLOG_BUCKET_NAME, or --stack."""
    import boto3

    if args.local:
        from guildlog_tools.local.devfile import read_dev_file
        from guildlog_tools.local.stack import DUMMY_CREDENTIALS

        info = read_dev_file(args.dev_file)
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=info["aws_endpoint_url"],
            region_name=info.get("region") or "us-east-1",
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return str(info["bucket"]), client
    client = boto3.client("s3", region_name=args.region) if args.region else boto3.client("s3")
    bucket = args.bucket or os.environ.get(BUCKET_ENV)
    if not bucket and args.stack:
        from guildlog_tools.cli.query import stack_outputs

        bucket = stack_outputs(args.stack, args.region).get("ArchiveBucketName")
    if not bucket:
        raise UsageError(f"name the archive: --local, --bucket NAME (or ${BUCKET_ENV}) or --stack NAME")
    return bucket, client
