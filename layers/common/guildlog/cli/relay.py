"""`guildlog relay`: placeholder until its module lands."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("relay", help="(not built yet)")
    parser.set_defaults(func=lambda args: print("guildlog relay is not built yet") or 2)
