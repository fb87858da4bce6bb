"""`guildlog keygen`: a new Ed25519 key pair for the relay."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from guildlog.adapters.signatures import generate_keypair


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keygen",
        help="make a relay signing key pair",
        description="Print a new relay key pair. The public key is the stack's RelayPublicKey parameter; "
        "the private key stays with the relay (--signing-key-file).",
    )
    parser.add_argument("--out", type=Path, help="write the private key to this file (mode 600) instead of printing it")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog_tools.cli.errors import writable_out

    if args.out:
        # Never over an existing key: it may be the one the stack trusts.
        writable_out(args.out, overwrite=False)
    pair = generate_keypair()
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pair.private_key + "\n")
        private = f"(written to {args.out})"
    else:
        private = pair.private_key
    if args.json:
        print(json.dumps({"public_key": pair.public_key, "private_key": private}))
    else:
        print(f"public key  (stack parameter RelayPublicKey): {pair.public_key}")
        print(f"private key (relay --signing-key-file):       {private}")
    return 0
