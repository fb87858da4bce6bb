"""`guildlog import FORMAT PATH`: other loggers' history (Discard, DiscordChatExporter, DAF, NDJSON)
into the same ingest path as the relay, resumable, with progress and a summary (docs/importers.md)."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(".guildlog") / "imports"


def register(subparsers: argparse._SubParsersAction) -> None:
    from guildlog_tools.importers import FORMATS

    parser = subparsers.add_parser(
        "import",
        help="import another logger's history: discard, dce, daf or ndjson",
        description="Read a folder (or one file) of another logger's output and send it, signed, to the ingest "
        "webhook of a stack (--stack, --endpoint) or to the local stack's ingest service (--local). Rows carry "
        "source `import` and ids from the source's own keys: a re-run or an overlapping import changes nothing. "
        "An interrupted import resumes where it stopped. Field mapping: docs/importers.md.",
    )
    parser.add_argument("format", choices=tuple(FORMATS), metavar="FORMAT", help=", ".join(FORMATS))
    parser.add_argument("path", type=Path, metavar="PATH", help="the folder or file to import")
    parser.add_argument("--guild", default=None, help="the server's id, where the source does not say it")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", action="store_true", help="the running `guildlog dev` stack's ingest service")
    target.add_argument("--stack", default=None, help="the ingest webhook of this deployed stack")
    target.add_argument("--endpoint", default=None, help="an ingest webhook URL (…/gateway/events)")
    parser.add_argument(
        "--signing-key-file", type=Path, default=None, help="the relay's private key (with --stack or --endpoint)"
    )
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region of --stack (default: boto3's)")
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="restart", action="store_false", help="continue where it stopped (default)")
    resume.add_argument("--restart", dest="restart", action="store_true", help="forget the checkpoint, start over")
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help=f"checkpoint file (default: {DEFAULT_STATE_DIR}/…)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress (a bar on a terminal, else a line every 10 s)"
    )
    parser.set_defaults(func=run, restart=False)


def run(args: argparse.Namespace) -> int:
    from guildlog.errors import UsageError
    from guildlog_tools.importers import source_for
    from guildlog_tools.importers.checkpoint import Checkpoint
    from guildlog_tools.importers.core import snowflake
    from guildlog_tools.importers.progress import NoProgress, Progress
    from guildlog_tools.importers.runner import run_import

    if not args.path.exists():
        raise UsageError(f"{args.path}: no such file or folder")
    if args.guild is not None and snowflake(args.guild) is None:
        raise UsageError(f"--guild {args.guild!r} is not a server id (a snowflake of 15-21 digits)")
    sink, target = resolve_sink(args)
    fingerprint = hashlib.sha256(
        "\n".join([args.format, str(args.path.resolve()), args.guild or "", target]).encode("utf-8")
    ).hexdigest()
    path = args.checkpoint or DEFAULT_STATE_DIR / f"{args.format}-{fingerprint[:16]}.json"
    checkpoint = Checkpoint(path, fingerprint)
    if args.restart:
        checkpoint.clear()
    elif path.exists():
        print(f"guildlog import: resuming from {path}", file=sys.stderr)
    progress = NoProgress() if args.no_progress else Progress()
    try:
        summary = run_import(
            source_for(args.format, guild=args.guild), args.path, sink, checkpoint=checkpoint, progress=progress
        )
    except KeyboardInterrupt:
        print(f"guildlog import: interrupted; run the same command again to resume ({path})", file=sys.stderr)
        raise
    print(f"import {args.format} {args.path} → {target}")
    for line in summary.lines():
        print(line)
    if summary.read == 0 and summary.skipped_total:
        print(f"guildlog import: nothing in {args.path} could be read as {args.format}", file=sys.stderr)
        return 1
    return 0


def resolve_sink(args: argparse.Namespace) -> tuple[Any, str]:
    """(sink, a name of the target) for --local, --stack or --endpoint."""
    from guildlog.errors import UsageError

    if args.local:
        return local_sink(args.dev_file)
    if args.stack or args.endpoint:
        from guildlog_relay.cli import SIGNING_KEY_FILE_ENV

        key_file = args.signing_key_file or (
            Path(os.environ[SIGNING_KEY_FILE_ENV]) if os.environ.get(SIGNING_KEY_FILE_ENV) else None
        )
        if key_file is None:
            raise UsageError(
                f"--signing-key-file PATH (or ${SIGNING_KEY_FILE_ENV}) is required with --stack or --endpoint"
            )
        endpoint = args.endpoint
        if args.stack:
            from guildlog_tools.cli.query import stack_outputs

            endpoint = stack_outputs(args.stack, args.region).get("GatewayEventsUrl")
            if not endpoint:
                raise UsageError(f"stack {args.stack!r} has no GatewayEventsUrl output: is it a guildlog stack?")
        return webhook_sink(str(endpoint), key_file), str(endpoint)
    raise UsageError("name the target: --local, --stack NAME or --endpoint URL")


def webhook_sink(endpoint: str, key_file: Path) -> Any:
    from guildlog.adapters.signatures import Signer
    from guildlog.errors import ConfigurationError
    from guildlog_relay.cli import read_key_file
    from guildlog_relay.poster import Poster
    from guildlog_tools.importers.sink import WebhookSink

    try:
        signer = Signer(read_key_file(key_file))
    except ConfigurationError:
        raise
    except Exception:  # whatever the seed's problem, its text must not reach the message
        raise ConfigurationError(f"{key_file} does not hold a 64-hex Ed25519 private key") from None
    return WebhookSink(Poster(endpoint, signer))


def local_sink(dev_file: str | None) -> tuple[Any, str]:
    import boto3

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.directory import Directory
    from guildlog.services.ingest import Ingestor
    from guildlog_tools.importers.sink import IngestorSink
    from guildlog_tools.local.devfile import read_dev_file
    from guildlog_tools.local.stack import DUMMY_CREDENTIALS

    info = read_dev_file(dev_file)
    session = boto3.session.Session()
    options = {
        "endpoint_url": info["aws_endpoint_url"],
        "region_name": info.get("region") or "us-east-1",
        "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
    store = DynamoStore(str(info["table"]), session.client("dynamodb", **options))
    ingestor = Ingestor(
        S3Archive(str(info["bucket"]), session.client("s3", **options)), store, directory=Directory(store)
    )
    return IngestorSink(ingestor), f"the local stack ({info['aws_endpoint_url']})"
