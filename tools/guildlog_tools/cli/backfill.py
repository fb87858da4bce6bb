"""`guildlog backfill`: fetch what Discord still holds of a guild's history into a stack's archive and hot table.

Thin: the paging, captures, checkpoints' use and the summary are `guildlog.services.backfill`'s (the
gap-repair function runs the same code in Lambda). Here: the arguments, where the stack and the bot
token are, a checkpoint file per guild and window (so a run cut off resumes), and a progress bar.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError, UsageError
from guildlog_tools.progress import progress

STACK_ENV = "GUILDLOG_STACK_NAME"
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backfill",
        help="fetch a guild's message history from Discord's REST API into the archive (resumable)",
        description="Pages every text channel, active thread and archived thread of the guild through Discord's "
        "REST API (within its rate limits) and writes the messages as rows with source `backfill`, each answer "
        "kept in raw/ as a REST capture. A channel the bot cannot read is reported and skipped. A message the "
        "relay already logged is not stored again, nor is it when the relay's copy arrives later; re-running "
        "changes nothing; a run cut off resumes where it stopped (a checkpoint file per guild and window). "
        "Backfilled messages are history: they are never posted to a log channel.",
        epilog="examples:\n"
        "  guildlog backfill --guild 81384788765712384 --local\n"
        "  DISCORD_TOKEN=… guildlog backfill --guild 81384788765712384 --after 2026-11-01 --stack guildlog\n"
        "  guildlog backfill --guild 81384788765712384 --channel 381870553235193857 --before 2026-11-20T12:00:00Z",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--guild", required=True, help="the guild (server) id")
    parser.add_argument(
        "--channel", action="append", default=None, metavar="ID", help="only this channel (and its threads); repeat"
    )
    parser.add_argument("--after", default=None, help="messages from this time on (ISO 8601, UTC if no offset)")
    parser.add_argument("--before", default=None, help="messages before this time (ISO 8601, UTC if no offset)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--stack", default=None, help=f"write into this deployed stack (${STACK_ENV})")
    target.add_argument("--local", action="store_true", help="write into the running `guildlog dev` stack")
    parser.add_argument("--dev-file", default=None, help="the local stack's dev.json (with --local)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    parser.add_argument(
        "--api-base", default=None, help="Discord's REST base URL (default: Discord, or the local stack's)"
    )
    parser.add_argument(
        "--token-file", type=Path, default=None, help="a file holding the bot token (else $DISCORD_TOKEN)"
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".guildlog"), help="where checkpoints are kept")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (a bar on a terminal, else a line every 10 s; the summary is still printed)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guildlog.adapters.discord_rest import DiscordRest
    from guildlog.services.backfill import Backfill, Window

    guild = _snowflake(args.guild, "--guild")
    channels = [_snowflake(c, "--channel") for c in args.channel or []]
    window = Window(_moment(args.after, "--after"), _moment(args.before, "--before"))
    if window.after and window.before and window.after >= window.before:
        raise UsageError("--after must be earlier than --before")
    ingestor, known, api_base, token = _target(args)
    checkpoints = FileCheckpoints(checkpoint_path(args.state_dir, guild, window, channels))
    rest = DiscordRest(args.api_base or api_base, lambda: token)
    bar = _Progress(enabled=not args.no_progress)
    try:
        backfill = Backfill(rest, ingestor, checkpoints, progress=bar.update, known=known)
        summary = backfill.run(guild, window, channels or None)
    finally:
        bar.close()
    for line in summary.lines():
        print(line)
    print(f"checkpoints: {checkpoints.path} (delete it to fetch everything again)")
    return 1 if summary.failed else 0


class FileCheckpoints:
    """`services.backfill.Checkpoints` in a JSON file, rewritten whole (and atomically) on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                problem = f"checkpoint file {path} cannot be read ({exc}): delete it to start over"
                raise ConfigurationError(problem) from None
            if not isinstance(loaded, dict):
                raise ConfigurationError(f"checkpoint file {path} is not a JSON object: delete it to start over")
            self.state = loaded

    def get(self, channel_id: str) -> tuple[str | None, bool]:
        entry = self.state.get(channel_id) or {}
        last = entry.get("last_id")
        return (str(last) if last else None), bool(entry.get("done"))

    def set(self, channel_id: str, last_id: str | None, done: bool) -> None:
        self.state[channel_id] = {"last_id": last_id, "done": done}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)


def checkpoint_path(state_dir: Path, guild: str, window: Any, channels: list[str]) -> Path:
    """One file per guild, window and channel choice: another window starts afresh."""
    scope = json.dumps([window.describe(), sorted(channels)])
    return state_dir / "backfill" / f"{guild}-{hashlib.sha256(scope.encode()).hexdigest()[:12]}.json"


class _Progress:
    """Messages fetched, noted with the channel being read (guildlog_tools.progress on stderr)."""

    def __init__(self, enabled: bool) -> None:
        self._stack = contextlib.ExitStack()
        self._bar = self._stack.enter_context(progress("backfill", unit="msg")) if enabled else None

    def update(self, channel: Any, count: int) -> None:
        if self._bar is None:
            return
        label = f"#{channel.name}" if channel.name else channel.channel_id
        self._bar.describe(f"{channel.kind} {label}"[:40])
        self._bar.advance(count)

    def close(self) -> None:
        self._stack.close()


def _target(args: argparse.Namespace) -> tuple[Any, Any, str, str]:
    """(Ingestor, the messages it already holds, Discord REST base, bot token) for --local or --stack /
    $GUILDLOG_STACK_NAME."""
    from guildlog.adapters.discord_rest import DEFAULT_API_BASE

    if args.local:
        from guildlog_tools.cli.dlq import _local_client
        from guildlog_tools.local.devfile import read_dev_file
        from guildlog_tools.local.stack import DEV_BOT_TOKEN_SECRET_NAME

        info = read_dev_file(args.dev_file)
        endpoint = str(info.get("aws_endpoint_url") or "")
        if not info.get("table") or not info.get("bucket"):
            raise ConfigurationError("the dev file names no table or bucket: restart `guildlog dev`")
        secret = _local_client("secretsmanager", endpoint, info).get_secret_value(SecretId=DEV_BOT_TOKEN_SECRET_NAME)
        dynamodb = _local_client("dynamodb", endpoint, info)
        ingestor = _ingestor(str(info["table"]), str(info["bucket"]), dynamodb, _local_client("s3", endpoint, info))
        known = _known(str(info["table"]), dynamodb)
        return ingestor, known, str(info.get("discord_rest_url") or DEFAULT_API_BASE), str(secret["SecretString"])
    stack = args.stack or os.environ.get(STACK_ENV)
    if not stack:
        raise UsageError(f"name the stack: --stack NAME (or ${STACK_ENV}), or --local for `guildlog dev`")
    from guildlog_relay.credentials import resolve_token
    from guildlog_tools.cli.dlq import _client
    from guildlog_tools.cli.query import stack_outputs

    outputs = stack_outputs(stack, args.region)
    if not outputs.get("TableName") or not outputs.get("ArchiveBucketName"):
        raise ConfigurationError(f"stack {stack!r} has no TableName/ArchiveBucketName outputs: deploy the template")
    token, _ = resolve_token(token_file=args.token_file, secret_arn=None, environ=os.environ)
    dynamodb = _client("dynamodb", args.region)
    ingestor = _ingestor(outputs["TableName"], outputs["ArchiveBucketName"], dynamodb, _client("s3", args.region))
    return ingestor, _known(outputs["TableName"], dynamodb), DEFAULT_API_BASE, token


def _ingestor(table: str, bucket: str, dynamodb: Any, s3: Any) -> Any:
    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.services.directory import Directory
    from guildlog.services.ingest import Ingestor

    store = DynamoStore(table, dynamodb)
    # No notifier: backfilled history is never posted to a log channel.
    return Ingestor(S3Archive(bucket, s3), store, directory=Directory(store))


def _known(table: str, dynamodb: Any) -> Any:
    """The messages the relay logged under an older event id (services/known_creates.py)."""
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services.known_creates import HotCreates

    return HotCreates(HotReader(table, dynamodb))


def _snowflake(value: str, flag: str) -> str:
    if not _SNOWFLAKE.match(value or ""):
        raise UsageError(f"{flag} must be a Discord id (15-21 digits), not {value!r}")
    return value


def _moment(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        example = "2026-11-20 or 2026-11-20T12:00:00Z"
        raise UsageError(f"{flag} must be an ISO 8601 time like {example}, not {value!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.year < 2015:
        raise UsageError(f"{flag} is before Discord existed (2015): {value!r}")
    return moment
