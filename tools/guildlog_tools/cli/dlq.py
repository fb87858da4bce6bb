"""`guildlog dlq list|replay`: failed asynchronous work waiting in the stack's dead-letter queues."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from guildlog.errors import ConfigurationError

STACK_ENV = "GUILDLOG_STACK_NAME"
OUTPUT_SUFFIX = "DeadLetterQueueUrl"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dlq",
        help="list or replay failed async work (worker jobs, nightly compactions) in the dead-letter queues",
        description="Every asynchronous path of the stack ends in a dead-letter queue when its retries run out: "
        "a worker job (a deferred answer and its command log) after three failed runs, a nightly compaction "
        "after three failed runs or when its schedule could not invoke it, a batch's archive lines after "
        "ArchiveFunction failed on them five times. `list` shows what waits there and "
        "why, leaving it in place; `replay` invokes each message's function again with its original event and "
        "deletes the message once Lambda accepts the invoke (archive lines go back to ArchiveQueue). "
        "The queues are the stack outputs ending in "
        f"{OUTPUT_SUFFIX}, or the running `guildlog dev` stack's with --local.",
        epilog="examples:\n"
        "  guildlog dlq list --stack guildlog\n"
        "  guildlog dlq replay --stack guildlog --queue worker --dry-run\n"
        "  guildlog dlq replay --local --id 4f6c…",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show the messages waiting in each dead-letter queue")
    _common(listing)
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output (default: table)")
    listing.set_defaults(func=run_list)
    replay = actions.add_parser("replay", help="invoke each message's function again, then delete the message")
    _common(replay)
    replay.add_argument("--id", action="append", default=None, metavar="MESSAGE_ID", help="only this message")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed, change nothing")
    replay.set_defaults(func=run_replay)


def _common(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--stack", default=None, help=f"a deployed stack's queues (${STACK_ENV})")
    target.add_argument("--local", action="store_true", help="the running `guildlog dev` stack's queues")
    parser.add_argument(
        "--queue", default=None, help="one queue, by name or its start (worker, compact; default: every queue)"
    )
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")


def run_list(args: argparse.Namespace) -> int:
    from guildlog_tools.dead_letters import DeadLetterReader

    queues, sqs, _ = resolve(args)
    reader = DeadLetterReader(sqs)
    listed = {queue.name: _aws(lambda q=queue: reader.list(q), queue.name) for queue in queues}
    if args.format == "json":
        document = {name: [letter.summary() for letter in letters] for name, letters in listed.items()}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return 0
    for name, letters in listed.items():
        print(f"{name}: {len(letters)} waiting")
        for letter in letters:
            info = letter.summary()
            where = f"{info['function'] or info.get('target') or '?'} after {info['attempts'] or '?'} attempts"
            print(f"  {letter.message_id}  {letter.sent_at or '-'}  {where}")
            print(f"      {letter.problem or letter.error or 'no error recorded'}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from guildlog_tools.dead_letters import DeadLetterReader

    queues, sqs, lambda_client = resolve(args, with_lambda=True)
    reader = DeadLetterReader(sqs, lambda_client)
    only = set(args.id) if args.id else None
    verb = "would replay" if args.dry_run else "replayed"
    left = replayed = 0

    def report(letter: Any, problem: str | None) -> None:
        target = letter.summary()["function"] or letter.summary().get("target") or "?"
        print(f"  {letter.message_id}  {f'left: {problem}' if problem else f'{verb} to {target}'}")

    for queue in queues:
        print(f"{queue.name}:")
        result = _aws(lambda q=queue: reader.replay(q, only=only, dry_run=args.dry_run, on_each=report), queue.name)
        replayed += len(result.replayed)
        left += len(result.left)
    print(f"{verb}: {replayed}, left in the queues: {left}")
    return 1 if left else 0


def resolve(args: argparse.Namespace, with_lambda: bool = False) -> tuple[list[Any], Any, Any]:
    """(queues, SQS client, Lambda client or None) for --local or --stack / $GUILDLOG_STACK_NAME."""
    from guildlog_tools.dead_letters import DeadLetterQueue

    if args.local:
        from guildlog_tools.local.devfile import read_dev_file

        info = read_dev_file(args.dev_file)
        urls = info.get("dead_letter_queues")
        if not isinstance(urls, dict):
            raise ConfigurationError("the dev file names no dead-letter queues: restart `guildlog dev`")
        sqs = _local_client("sqs", str(info["aws_endpoint_url"]), info)
        lambda_client = (
            _local_client("lambda", str(info.get("lambda_endpoint_url") or ""), info) if with_lambda else None
        )
    else:
        stack = args.stack or os.environ.get(STACK_ENV)
        if not stack:
            raise ConfigurationError(f"name the stack: --stack NAME (or ${STACK_ENV}), or --local for `guildlog dev`")
        from guildlog_tools.cli.query import stack_outputs

        urls = {key: value for key, value in stack_outputs(stack, args.region).items() if key.endswith(OUTPUT_SUFFIX)}
        if not urls:
            raise ConfigurationError(f"stack {stack!r} has no {OUTPUT_SUFFIX} outputs: deploy the current template")
        sqs = _client("sqs", args.region)
        lambda_client = _client("lambda", args.region) if with_lambda else None
    queues = [DeadLetterQueue(key.removesuffix("Url"), str(url)) for key, url in sorted(urls.items())]
    if args.queue:
        wanted = args.queue.lower()
        queues = [q for q in queues if q.name.lower().startswith(wanted)]
        if not queues:
            names = ", ".join(key.removesuffix("Url") for key in sorted(urls))
            raise ConfigurationError(f"no dead-letter queue matches {args.queue!r} (there are: {names})")
    return queues, sqs, lambda_client


def _aws(call: Any, queue: str) -> Any:
    """Run one queue's calls; an AWS error becomes a one-line message, not a traceback."""
    try:
        return call()
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot read the dead-letter queue {queue} ({type(exc).__name__}: {exc})") from None


def _client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def _local_client(service: str, endpoint: str, info: dict[str, Any]) -> Any:
    import boto3

    from guildlog_tools.local.stack import DUMMY_CREDENTIALS

    if not endpoint:
        raise ConfigurationError("the dev file has no local endpoint for " + service + ": restart `guildlog dev`")
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=info.get("region") or "us-east-1",
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
