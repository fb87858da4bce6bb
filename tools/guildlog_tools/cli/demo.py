"""`guildlog demo`: replay a recorded session through the relay into a fresh local stack and show what landed."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="replay a recorded session into a fresh local stack and show what landed",
        description="Start a fresh local stack in this process (its own temporary dev file: a running "
        "`guildlog dev` is not touched), run `guildlog relay --replay` on the session as a subprocess, then print "
        "the archive's objects per partition day, rows per category, the daily counters and the deleted "
        "messages recovered from DynamoDB. Exits non-zero when the relay does not get every batch acknowledged.",
    )
    parser.add_argument(
        "--session",
        type=Path,
        default=None,
        help="a JSON-lines file of gateway frames (default: the checkout's events/gateway/demo-session.jsonl)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog_tools.local.demo import run_demo

    return run_demo(args.session)
