"""The `guildlog` command line. Each subcommand lives in its own module with `register(subparsers)`.

Heavy or dev-only dependencies (websockets, duckdb, moto) are imported inside the commands that
need them, never here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from guildlog import __version__
from guildlog_tools.cli.errors import EXIT_USAGE, OneLineParser, fail, quiet_broken_pipe

# The module of each subcommand, in the order `guildlog --help` lists them. The relay's command
# lives with the relay daemon; every other one is developer or operator tooling.
SUBCOMMANDS = {
    "dev": "guildlog_tools.cli.dev",
    "demo": "guildlog_tools.cli.demo",
    "relay": "guildlog_relay.cli",
    "keygen": "guildlog_tools.cli.keygen",
    "query": "guildlog_tools.cli.query",
    "compact": "guildlog_tools.cli.compact",
    "commands": "guildlog_tools.cli.commands",
    "export": "guildlog_tools.cli.export",
    "setup": "guildlog_tools.cli.setup",
    "doctor": "guildlog_tools.cli.doctor",
    "dlq": "guildlog_tools.cli.dlq",
    "import": "guildlog_tools.cli.import_",
    "backfill": "guildlog_tools.cli.backfill",
    "forget": "guildlog_tools.cli.forget",
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="guildlog", description="A serverless, lossless Discord logger.")
    parser.add_argument("--version", action="version", version=f"guildlog {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback when a command fails")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        if name == "relay":
            from guildlog_tools.local.devfile import relay_target
            from guildlog_tools.progress import progress

            module.register(subparsers, local_target=relay_target, progress=progress)
        else:
            module.register(subparsers)
    for sub in subparsers.choices.values():
        # Also after the command (`guildlog export … --debug`); SUPPRESS keeps the top-level value.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return quiet_broken_pipe()
    except Exception as exc:
        if args.debug:
            raise
        return fail(f"guildlog {args.command}", exc)


if __name__ == "__main__":
    sys.exit(main())
