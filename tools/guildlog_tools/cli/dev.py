"""`guildlog dev`: the embedded local stack in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guildlog_tools.local.stack import LocalStack


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="run the local stack (moto + the HTTP API on loopback)",
        description="Start moto's server and template.yaml's HTTP API on 127.0.0.1, with the table and bucket "
        "created from the template and the functions running in this process. Dev keys are generated on the "
        "first run and kept in <state-dir>/dev.json, which `guildlog relay` reads. Moto keeps its data in "
        "memory: it is gone when this stops.",
    )
    parser.add_argument("--port", type=int, default=0, help="HTTP API port (default: a free port)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto's port (default: a free port)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where dev.json lives (default: .guildlog, or the file named by $GUILDLOG_DEV_FILE)",
    )
    parser.add_argument(
        "--discord-api-base",
        default=None,
        metavar="URL",
        help="send every Discord REST call the stack makes (follow-ups, log posts, invite look-ups) to URL instead "
        "of the built-in fake Discord (default: `discord_api_base` in dev.json, else the fake)",
    )
    parser.add_argument(
        "--discord-cdn-base",
        default=None,
        metavar="URL",
        help="download the files of logged messages (attachment copies) from URL instead of the built-in fake "
        "Discord's CDN",
    )
    parser.add_argument("--quiet", action="store_true", help="no request log and no function log lines")
    # `guildlog dev` ends its process once stopped (see exit_now); a caller in-process may opt out.
    parser.set_defaults(func=run, exit_process=True)


def run(args: argparse.Namespace) -> int:
    from guildlog_tools.local.devfile import default_dev_file
    from guildlog_tools.local.stack import LocalStack

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(
        dev_file=default_dev_file(args.state_dir),
        port=args.port,
        aws_port=args.aws_port,
        function_log_level="INFO",
        function_log=None if args.quiet else sys.stdout,
        access_log=not args.quiet,
        discord_api_base=args.discord_api_base,
        discord_cdn_base=args.discord_cdn_base,
    )
    try:
        stack.start()
        try:
            print_banner(stack)
            while not stop.wait(timeout=1.0):
                pass
            print("\nguildlog dev: stopping", flush=True)
        finally:
            stack.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"guildlog dev: stopped; the stored data is gone, the dev keys stay in {stack.dev_file}", flush=True)
    if args.exit_process:
        exit_now(0)
    return 0


def exit_now(code: int) -> None:
    """End the process without tearing its objects down one by one.

    Moto's in-memory state is discarded with the process anyway, and freeing it object by object
    at interpreter exit takes seconds per 10,000 events stored (a minute for a large replay), while
    a restart waits for the port. Everything worth keeping (the dev file, the output) is written.
    """
    import logging
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def print_banner(stack: LocalStack) -> None:
    """The endpoints, names and public keys; the private keys stay in the dev file."""
    assert stack.keys is not None
    keys = stack.keys
    width = max(len(key) for key, _, _ in stack.endpoints())
    lines = [
        "guildlog dev: the local stack is running (Ctrl-C to stop)",
        "",
        f"HTTP API      {stack.api_url}",
        *(f"  {key:<{width}}  {url}  -> {function}" for key, url, function in stack.endpoints()),
        f"AWS (moto)    {stack.aws_endpoint_url}  region {stack.region}, any credentials",
        f"  table       {stack.table}",
        f"  bucket      {stack.bucket}",
        (
            f"Discord       {stack.discord.api_base}  (local-only fake: follow-ups and log posts land here)"
            if stack.discord
            else f"Discord       {stack.discord_api_base}  (--discord-api-base: every Discord REST call goes here)"
        ),
        "",
        f"relay public key    {keys.relay_public_key}",
        f"Discord public key  {keys.discord_public_key}",
        f"application id      {keys.application_id}",
        f"dev file            {stack.dev_file} (mode 600: holds the private keys; "
        + ("new keys)" if stack.keys_created else "keys kept from the last run)"),
        "",
        "Send a recorded session:  guildlog relay --replay events/gateway/demo-session.jsonl",
        f"Look inside:              AWS_ENDPOINT_URL={stack.aws_endpoint_url} aws s3 ls s3://{stack.bucket}/",
        "",
        "Moto keeps everything in memory: the table's and the bucket's contents are lost when this stops.",
    ]
    print("\n".join(lines), flush=True)
