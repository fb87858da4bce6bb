"""`guildlog demo`: placeholder until its module lands."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="(not built yet)")
    parser.set_defaults(func=lambda args: print("guildlog demo is not built yet") or 2)
