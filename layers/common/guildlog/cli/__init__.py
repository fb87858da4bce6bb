"""The `guildlog` command line. Each subcommand lives in its own module with `register(subparsers)`.

Heavy or dev-only dependencies (websockets, duckdb, moto) are imported inside the commands that
need them, never here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from guildlog import __version__
from guildlog.errors import GuildlogError

# Module names under guildlog.cli, in the order `guildlog --help` lists them.
SUBCOMMANDS = ("dev", "demo", "relay", "keygen", "query", "compact", "commands", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guildlog", description="A serverless, lossless Discord logger.")
    parser.add_argument("--version", action="version", version=f"guildlog {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"guildlog.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GuildlogError as exc:
        print(f"guildlog {args.command}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
