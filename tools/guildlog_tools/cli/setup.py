"""`guildlog setup`: one command from a bot token and AWS credentials to a working logger.

On a terminal it asks for what the flags do not give (the bot token, hidden; the stack's name);
with flags (or no terminal) it asks nothing, for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from guildlog.errors import ConfigurationError, SetupError

TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the variable's name
API_BASE_ENV = "GUILDLOG_DISCORD_API_BASE"
DEFAULT_STACK = "guildlog"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "setup",
        help="deploy and connect guildlog: token secret, stack, endpoint URL, commands, intents, invite, relay",
        description="Read the application id and public key from Discord with the bot token, make the relay key, "
        "store the token in Secrets Manager, deploy the stack (sam build + sam deploy, or CloudFormation from "
        "--template), set the application's Interactions Endpoint URL, register the slash commands, check the "
        "privileged intents, print the invite URL and the relay's command. Safe to run again: it changes only "
        "what differs.",
    )
    parser.add_argument("--stack", help=f"the stack's name (default: {DEFAULT_STACK}; asked on a terminal)")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument("--token-file", type=Path, help=f"the bot token (default: ${TOKEN_ENV}; asked on a terminal)")
    parser.add_argument("--application-id", help="checked against the token's application (read from Discord)")
    parser.add_argument("--public-key", help="checked against the application's key (read from Discord)")
    parser.add_argument(
        "--relay-key-file",
        type=Path,
        default=Path(".guildlog/relay.key"),
        help="kept when it exists (default: %(default)s)",
    )
    parser.add_argument(
        "--secret-name", default="guildlog/bot-token", help="Secrets Manager name (default: %(default)s)"
    )
    parser.add_argument("--template", type=Path, help="deploy this built template with CloudFormation instead of sam")
    parser.add_argument("--skip-deploy", action="store_true", help="the stack is deployed already: read its outputs")
    parser.add_argument("--guild", metavar="ID", help="register the commands in this server (they show at once)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="another stack parameter")
    parser.add_argument("--api-base", help=f"Discord's REST base URL (default: ${API_BASE_ENV}, else discord.com)")
    parser.add_argument(
        "--relay-image",
        metavar="URI",
        help="the stack runs the relay on Fargate from this image (`make relay-image`); the relay key goes into a "
        "secret. Default: you run the relay yourself",
    )
    parser.add_argument("--no-input", action="store_true", help="never ask, even on a terminal")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.discord_rest import DEFAULT_API_BASE, DiscordRest
    from guildlog.adapters.secrets import clean_token
    from guildlog_tools.aws_clients import client_factory, default_region
    from guildlog_tools.checkout import checkout_root
    from guildlog_tools.setup.wizard import Options, Wizard

    interactive = not args.no_input and sys.stdin.isatty()
    token = _token(args.token_file, interactive)
    stack = args.stack or (_ask(f"stack name [{DEFAULT_STACK}]: ") if interactive else "") or DEFAULT_STACK
    region = args.region or default_region()
    options = Options(
        stack=stack,
        region=region,
        token=clean_token(token, "the bot token"),
        relay_key_file=args.relay_key_file,
        secret_name=args.secret_name,
        application_id=args.application_id,
        public_key=args.public_key,
        template=args.template,
        skip_deploy=args.skip_deploy,
        guild=args.guild,
        parameters=_parameters(args.parameter),
        checkout=checkout_root(),
        relay_image=args.relay_image,
    )
    discord = DiscordRest(args.api_base or os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE, lambda: options.token)
    wizard = Wizard(options, discord, client_factory(region), sys.stdout)
    try:
        report = wizard.run()
    except SetupError:
        return 1  # the wizard has said what failed, how to fix it, and what is in place
    print(f"guildlog setup: done in {report.seconds:.1f} s", flush=True)
    return 0


def _token(path: Path | None, interactive: bool) -> str:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    value = os.environ.get(TOKEN_ENV, "")
    if not value.strip() and interactive:
        value = getpass.getpass("bot token (Developer Portal → Bot → Reset Token; not echoed): ")
    if not value.strip():
        raise ConfigurationError(f"no bot token: set ${TOKEN_ENV} or pass --token-file")
    return value


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


def _parameters(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--parameter {pair!r}: write it KEY=VALUE")
        out[key.strip()] = value
    return out
