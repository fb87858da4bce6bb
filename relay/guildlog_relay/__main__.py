"""`python -m guildlog_relay [flags]`: the relay alone, as its container runs it.

The same command as `guildlog relay`, without the developer tooling (and so without finding a
running `guildlog dev`): the image the stack hosts installs the relay and the layer, nothing else.
Exit codes are the relay's: 0 stopped, 1 an error, 2 a usage error, 78 a configuration to fix.
"""

from __future__ import annotations

import argparse
import sys

from guildlog.errors import GuildlogError
from guildlog_relay import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guildlog")
    subparsers = parser.add_subparsers(dest="command")
    cli.register(subparsers)
    args = parser.parse_args(["relay", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except GuildlogError as exc:
        print(f"guildlog relay: {exc.message}", file=sys.stderr)
        return cli.EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
