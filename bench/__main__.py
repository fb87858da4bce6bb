"""`python -m bench [NAME …]`: run the named benchmark reports (all by default)."""

from __future__ import annotations

import argparse
import importlib
import sys

REPORTS = ("ingest", "coldstart", "localstack", "athena", "relay", "interactions", "modlog", "web", "import_bench")
# REST backfill: requests per 1,000 messages beside the floor.
REPORTS += ("backfill_bench",)
REPORTS += ("retention",)
REPORTS += ("erasure_bench",)
# ArchiveFunction's hold: S3 PUTs and SQS requests a day for a quiet server, hold 0 and 60 minutes.
REPORTS += ("archive_hold",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"reports to run: {', '.join(REPORTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in REPORTS]
    if unknown:
        parser.error(f"unknown report {unknown[0]!r}; choose from {', '.join(REPORTS)}")
    for name in args.names or REPORTS:
        importlib.import_module(f"bench.{name}").report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
