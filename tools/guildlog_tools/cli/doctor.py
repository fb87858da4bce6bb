"""`guildlog doctor --stack NAME | --local`: check a stack end to end; exit 1 when any check fails."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError

TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the variable's name
API_BASE_ENV = "GUILDLOG_DISCORD_API_BASE"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a deployed stack (or the local one), each check with ✓ or ✗ and its fix",
        description="Check a stack end to end: its outputs, table and bucket; that both webhooks refuse unsigned "
        "requests; the application's interactions endpoint URL, slash commands and privileged intents; the bot's "
        "servers and permissions; the relay's heartbeat per shard; dead-letter queues; alarms. Exits 1 when any "
        "check fails (warnings and skipped checks do not), so it can run in CI or cron. The bot token comes from "
        f"--token-file, ${TOKEN_ENV}, or the stack's own secret (BotTokenSecretArn).",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", metavar="NAME", help="the CloudFormation stack's name")
    where.add_argument("--local", action="store_true", help="the running `guildlog dev` stack (its dev file)")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument("--guild", action="append", default=[], metavar="ID", help="a server the bot must be in")
    parser.add_argument("--token-file", type=Path, help=f"the bot token (default: ${TOKEN_ENV}, else the stack's)")
    parser.add_argument("--api-base", help=f"Discord's REST base URL (default: ${API_BASE_ENV}, else discord.com)")
    parser.add_argument("--state-dir", type=Path, help="with --local: where dev.json is (default: .guildlog)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog_tools.doctor.checks import FAIL, SKIP, WARN, run_checks

    target = _target(args)
    results = run_checks(target)
    failed = [r for r in results if r.status == FAIL]
    if args.json:
        print(json.dumps({"target": target.name, "ok": not failed, "checks": [vars(r) for r in results]}, indent=2))
    else:
        print(f"guildlog doctor: {target.name}" + (f" ({target.region})" if target.kind == "stack" else ""))
        for result in results:
            print("\n".join(result.lines()))
        counts = {s: sum(1 for r in results if r.status == s) for s in (FAIL, WARN, SKIP)}
        passed = len(results) - sum(counts.values())
        print(
            f"{len(results)} checks: {passed} passed, {counts[FAIL]} failed, "
            f"{counts[WARN]} warnings, {counts[SKIP]} skipped",
            flush=True,
        )
    return 1 if failed else 0


def _target(args: argparse.Namespace) -> Any:
    from guildlog_tools.aws_clients import client_factory, default_region
    from guildlog_tools.doctor.target import local_target, stack_target

    if args.local:
        from guildlog_tools.local.devfile import default_dev_file, read_dev_file

        dev = read_dev_file(default_dev_file(args.state_dir))
        endpoint, region = str(dev.get("aws_endpoint_url") or ""), str(dev.get("region") or "us-east-1")
        target = local_target(dev, client_factory(region, endpoint))
        token = _token(args.token_file, None, None)
        if token and args.api_base:  # the local stack's own fake Discord serves no application routes
            target.discord = _discord(args.api_base, token)
        target.guilds = list(args.guild)
        return target
    region = args.region or default_region()
    client = client_factory(region)
    target = stack_target(args.stack, client, region)
    token = _token(args.token_file, target.parameters.get("BotTokenSecretArn"), client)
    if token:
        target.discord = _discord(args.api_base or os.environ.get(API_BASE_ENV) or "", token)
    target.guilds = list(args.guild)
    return target


def _token(path: Path | None, secret_arn: str | None, client: Any) -> str | None:
    """--token-file, else $DISCORD_TOKEN, else the stack's secret; None when none is readable."""
    from guildlog.adapters.secrets import clean_token, read_token_secret

    if path is not None:
        try:
            return clean_token(path.read_text(encoding="utf-8"), f"token file {path}")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if os.environ.get(TOKEN_ENV, "").strip():
        return clean_token(os.environ[TOKEN_ENV], TOKEN_ENV)
    if secret_arn and client is not None:
        try:
            return read_token_secret(secret_arn, client("secretsmanager"))
        except ConfigurationError as exc:
            print(f"guildlog doctor: {exc.message}; the Discord checks are skipped", file=sys.stderr)
    return None


def _discord(api_base: str, token: str) -> Any:
    from guildlog.adapters.discord_rest import DEFAULT_API_BASE, DiscordRest

    return DiscordRest(api_base or DEFAULT_API_BASE, lambda: token)
