"""`guildlog commands sync|diff`: register the slash commands with Discord, or show what differs.

The definitions in code (guildlog.services.commands.definitions) are the source: `sync` bulk
overwrites Discord's list with them (globally, or in one server with `--guild`, where changes show
at once — global ones can take a while to reach every client), `diff` compares Discord's list with
them. The bot token comes from `$DISCORD_TOKEN` or `--token-file` and is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError, UsageError

TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the variable's name
APPLICATION_ENV = "DISCORD_APPLICATION_ID"
API_BASE_ENV = "GUILDLOG_DISCORD_API_BASE"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "commands",
        help="register the slash commands with Discord, or show what differs",
        description="Compare or register guildlog's slash commands. The definitions in code are the source of "
        f"truth. The bot token is read from ${TOKEN_ENV} or --token-file.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = actions.add_parser(
        "sync",
        help="bulk-overwrite Discord's commands with the definitions (global, or one server with --guild)",
        description="PUT the definitions as the application's commands. Commands Discord has that the code does "
        "not are deleted. With --guild they are the server's commands and show at once; global commands may take "
        "a while to reach every client.",
    )
    diff = actions.add_parser(
        "diff",
        help="what Discord has registered versus the definitions in code",
        description="Show commands to add, to remove and that differ (field by field). Exits 0; with --exit-code, "
        "1 when anything differs.",
    )
    for action in (sync, diff):
        action.add_argument("--guild", metavar="ID", help="the server's commands instead of the global ones")
        action.add_argument(
            "--application-id", metavar="ID", help=f"default: ${APPLICATION_ENV}, else asked of Discord"
        )
        action.add_argument("--token-file", type=Path, help=f"a file holding the bot token (default: ${TOKEN_ENV})")
        action.add_argument(
            "--api-base", help=f"Discord's REST base URL (default: ${API_BASE_ENV}, else https://discord.com/api/v10)"
        )
        action.add_argument("--json", action="store_true", help="print JSON")
    sync.add_argument("--dry-run", action="store_true", help="show what would change and send nothing")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when Discord's commands differ from the code")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.discord_rest import DEFAULT_API_BASE, DiscordRest
    from guildlog.services.commands.definitions import check_command, registration_payload
    from guildlog.services.commands.registration import diff_commands

    wanted = registration_payload()
    problems = [problem for command in wanted for problem in check_command(command)]
    if problems:
        raise ConfigurationError("the command definitions break Discord's rules: " + "; ".join(problems))
    token = _token(args.token_file, required=not (args.action == "sync" and args.dry_run))
    rest = DiscordRest(
        args.api_base or os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE, (lambda: token) if token else None
    )
    if token is None:  # a dry run without a token: show the definitions only
        _print(args, {"would_put": wanted, "scope": _scope(args.guild, None)}, _payload_text(wanted, args.guild))
        return 0
    application_id = args.application_id or os.environ.get(APPLICATION_ENV) or str(rest.get_application()["id"])
    registered = rest.get_commands(application_id, args.guild)
    diff = diff_commands(wanted, registered)
    scope = _scope(args.guild, application_id)
    if args.action == "diff":
        _print(args, _diff_json(diff, scope), _diff_text(diff, scope))
        return 1 if args.exit_code and not diff.in_sync else 0
    if args.dry_run:
        text = _diff_text(diff, scope) + "\n" + ("(dry run: nothing sent)" if not diff.in_sync else "")
        _print(args, {**_diff_json(diff, scope), "dry_run": True}, text.rstrip())
        return 0
    answer = rest.put_commands(application_id, wanted, args.guild)
    after = diff_commands(wanted, answer)
    result = {**_diff_json(diff, scope), "registered": [c.get("name") for c in answer], "in_sync": after.in_sync}
    lines = [
        _diff_text(diff, scope),
        f"registered {len(answer)} commands ({scope}): "
        + ", ".join(f"/{c.get('name')} ({c.get('id')})" for c in answer),
    ]
    _print(args, result, "\n".join(lines))
    if not after.in_sync:
        raise ConfigurationError("Discord's answer still differs from the definitions; run `guildlog commands diff`")
    return 0


def _token(path: Path | None, *, required: bool) -> str | None:
    if path is not None:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the token file: {exc.strerror or exc}", path=str(path)) from None
    else:
        value = os.environ.get(TOKEN_ENV, "").strip()
    if not value:
        if required:
            raise UsageError(f"no bot token: set ${TOKEN_ENV} or pass --token-file")
        return None
    return value


def _scope(guild: str | None, application_id: str | None) -> str:
    who = f"application {application_id}" if application_id else "the application"
    return f"server {guild} of {who}" if guild else f"global commands of {who}"


def _diff_json(diff: Any, scope: str) -> dict[str, Any]:
    return {
        "scope": scope,
        "in_sync": diff.in_sync,
        "added": diff.added,
        "removed": diff.removed,
        "changed": diff.changed,
        "same": diff.same,
    }


def _diff_text(diff: Any, scope: str) -> str:
    lines = [f"{scope}:"]
    for name in diff.added:
        lines.append(f"  + /{name}  in the code, not registered")
    for name in diff.removed:
        lines.append(f"  - /{name}  registered, not in the code (a sync deletes it)")
    for name, differences in diff.changed.items():
        lines.append(f"  ~ /{name}  differs (registered → code):")
        lines.extend(f"      {d}" for d in differences)
    for name in diff.same:
        lines.append(f"  = /{name}")
    summary = (
        "in sync"
        if diff.in_sync
        else f"{len(diff.added)} to add, {len(diff.removed)} to remove, {len(diff.changed)} to update"
    )
    lines.append(summary)
    return "\n".join(lines)


def _payload_text(wanted: list[dict[str, Any]], guild: str | None) -> str:
    where = f"server {guild}" if guild else "global"
    names = ", ".join(f"/{c['name']}" for c in wanted)
    return f"would PUT {len(wanted)} {where} commands: {names} (dry run without a token: nothing compared or sent)"


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text, file=sys.stdout, flush=True)
