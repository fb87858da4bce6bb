"""`guildlog relay`: forward gateway events to the ingest webhook — live from Discord's Gateway
(the default), or from a recorded session (`--replay FILE`).

Configuration: an explicit flag beats its environment variable (GUILDLOG_*), which beats the
default. With no endpoint at all, the endpoint and key of a running `guildlog dev` are used
(`.guildlog/dev.json`). The bot token comes from `--token-file`, `--token-secret-arn` or
`DISCORD_TOKEN`, and never appears in output.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from guildlog.errors import ConfigurationError

ENDPOINT_ENV = "GUILDLOG_ENDPOINT"
API_BASE_ENV = "GUILDLOG_DISCORD_API_BASE"
DEFAULT_API_BASE_TEXT = "https://discord.com/api/v10"
TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the variable's name, not a token
SIGNING_KEY_FILE_ENV = "GUILDLOG_SIGNING_KEY_FILE"
SIGNING_KEY_SECRET_ENV = "GUILDLOG_SIGNING_KEY_SECRET_ARN"  # noqa: S105 - the variable's name, not a key
CHECKPOINT_TABLE_ENV = "GUILDLOG_CHECKPOINT_TABLE"
STATE_DIR_ENV = "GUILDLOG_STATE_DIR"
DEFAULT_STATE_DIR = Path(".guildlog") / "relay"
EXIT_USAGE = 2


def _env(name: str, default: Any = None, cast: Callable[[str], Any] = str) -> Any:
    """The default of a flag: its GUILDLOG_* variable when set (cast), else `default`."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not valid") from None


@dataclass(frozen=True)
class LocalTarget:
    """A running local stack the relay may forward to when no endpoint is given."""

    ingest_url: str
    private_key: str
    source: str  # where it was read, for messages (e.g. the dev file's path)


# Finds a running local stack from the environment: a LocalTarget, or the text of where it looked.
LocalTargetReader = Callable[[Mapping[str, str]], "LocalTarget | str"]


class FrameProgress(Protocol):
    def advance(self, amount: int = 1) -> None: ...


class ProgressReporter(Protocol):
    """How `--replay` shows its progress: `progress(label, total=…, unit=…)` is a context manager
    whose value counts frames read (guildlog_tools.progress gives one)."""

    def __call__(
        self, label: str, *, total: int | None = None, unit: str = "items"
    ) -> AbstractContextManager[FrameProgress]: ...


def register(
    subparsers: argparse._SubParsersAction,
    *,
    local_target: LocalTargetReader | None = None,
    progress: ProgressReporter | None = None,
) -> None:
    """Add `relay`. `local_target` is how the CLI finds a running `guildlog dev`, `progress` how a
    replay shows how far it got (the relay itself knows nothing of the developer tooling)."""
    parser = subparsers.add_parser(
        "relay",
        help="forward gateway events to the ingest webhook (live, or --replay a recorded session)",
        description="Hold Discord Gateway sessions and forward every dispatch event, batched and signed, to the "
        "ingest webhook. Every batch is spooled to --state-dir before it is sent and removed once acknowledged "
        "and checkpointed; "
        "batches an earlier run left behind are sent first. Each shard checkpoints its session after the webhook "
        "acknowledged it and resumes it on the next start; a session that cannot be resumed is recorded as a gap. "
        "With --replay FILE, forward a recorded session instead and exit 0 only when every batch was acknowledged.",
    )
    parser.set_defaults(func=run, local_target=local_target, progress=progress)
    target = parser.add_argument_group("webhook")
    target.add_argument(
        "--endpoint", help=f"the webhook URL, …/gateway/events (env {ENDPOINT_ENV}; default: the running dev stack)"
    )
    target.add_argument(
        "--signing-key-file",
        type=Path,
        metavar="PATH",
        help=f"the relay's 64-hex private key, as `guildlog keygen --out` writes it (env {SIGNING_KEY_FILE_ENV})",
    )
    target.add_argument(
        "--signing-key-secret-arn",
        metavar="ARN",
        help=f"read the private key from this Secrets Manager secret instead (env {SIGNING_KEY_SECRET_ENV}; "
        "how the stack-hosted relay gets it)",
    )
    target.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help=f"spool, rejected batches and checkpoints (env {STATE_DIR_ENV}; default {DEFAULT_STATE_DIR})",
    )
    target.add_argument(
        "--batch-size", type=int, metavar="N", help="events per batch at most (env GUILDLOG_BATCH_SIZE; 500)"
    )
    target.add_argument(
        "--flush-ms",
        type=int,
        metavar="T",
        help="send a batch T ms after its first event the moderation log posts (a delete, an edit, a join, a "
        "ban…) or the relay's own (a gap, a connect; the heartbeat only with --linger-ms 0) "
        "(env GUILDLOG_FLUSH_MS; 1000)",
    )
    target.add_argument(
        "--linger-ms",
        type=int,
        metavar="T",
        help="hold routine events (messages created, reactions, typing, presence…) up to T ms, so that a quiet "
        "server sends fewer, fuller batches; an urgent event sends them along at once. 0 sends them after "
        "--flush-ms like any other (env GUILDLOG_LINGER_MS; 60000, or --flush-ms if longer)",
    )
    target.add_argument(
        "--max-retries", type=int, metavar="N", help="retries per batch before pausing (env GUILDLOG_MAX_RETRIES; 8)"
    )
    target.add_argument(
        "--timeout", type=float, metavar="S", help="seconds to wait for each answer (env GUILDLOG_TIMEOUT; 10)"
    )
    target.add_argument(
        "--backoff-ms",
        type=int,
        metavar="MS",
        help="first retry delay, doubled each retry (env GUILDLOG_BACKOFF_MS; 500)",
    )
    target.add_argument(
        "--max-backoff-ms", type=int, metavar="MS", help="longest retry delay (env GUILDLOG_MAX_BACKOFF_MS; 30000)"
    )

    live = parser.add_argument_group("gateway (live mode)")
    live.add_argument(
        "--token-file", type=Path, metavar="PATH", help="read the bot token from this file (env GUILDLOG_TOKEN_FILE)"
    )
    live.add_argument(
        "--token-secret-arn",
        metavar="ARN",
        help="read the bot token from this Secrets Manager secret (env GUILDLOG_TOKEN_SECRET_ARN); "
        f"otherwise it is {TOKEN_ENV}",
    )
    live.add_argument(
        "--checkpoint-table",
        metavar="NAME",
        help="keep each shard's checkpoint in this DynamoDB table (the stack's) instead of --state-dir, so that a "
        f"replaced container resumes the session (env {CHECKPOINT_TABLE_ENV})",
    )
    live.add_argument(
        "--api-base",
        metavar="URL",
        help=f"Discord's REST base URL (env {API_BASE_ENV}; default {DEFAULT_API_BASE_TEXT})",
    )
    live.add_argument(
        "--shards",
        metavar="RANGE",
        help="the shards this process runs: 0-3, 0,2,4 or 5 (env GUILDLOG_SHARDS; default all). Several "
        "processes split a bot's shards by giving each a range and the same --shard-count",
    )
    live.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        help="total shards of the bot (env GUILDLOG_SHARD_COUNT; default: what Discord recommends)",
    )
    live.add_argument(
        "--shard-groups",
        type=int,
        metavar="N",
        help="run one of N groups of the bot's shards, claimed in --checkpoint-table, so that N interchangeable "
        "processes (the hosted relay's tasks) run every shard once between them (env GUILDLOG_SHARD_GROUPS; "
        "1-16; default: off)",
    )
    live.add_argument(
        "--intents",
        metavar="INTENTS",
        help="a number or names, e.g. GUILDS,GUILD_MESSAGES (env GUILDLOG_INTENTS; default: every intent a "
        "server log needs, including the privileged MESSAGE_CONTENT and GUILD_MEMBERS)",
    )
    live.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /healthz and /metrics on this port (env GUILDLOG_HEALTH_PORT; default: off)",
    )
    live.add_argument(
        "--health-host", metavar="HOST", help="address of the health server (env GUILDLOG_HEALTH_HOST; 127.0.0.1)"
    )
    live.add_argument(
        "--status-interval",
        type=float,
        metavar="S",
        help="send a GUILDLOG_HEARTBEAT event per shard every S seconds, 0 for never "
        "(env GUILDLOG_STATUS_INTERVAL; 60)",
    )
    live.add_argument(
        "--drain-timeout",
        type=float,
        metavar="S",
        help="on SIGTERM/SIGINT (live or --replay), seconds to finish sending before exiting 0; the rest "
        "stays in the spool (env GUILDLOG_DRAIN_TIMEOUT; 10)",
    )
    live.add_argument(
        "--queue-size",
        type=int,
        metavar="N",
        help="events buffered between each shard's reader and its pipeline (env GUILDLOG_QUEUE_SIZE; 1000)",
    )
    live.add_argument(
        "--reconnect-backoff-ms",
        type=int,
        metavar="MS",
        help="first reconnect delay, doubled per failure, reset after a healthy connection "
        "(env GUILDLOG_RECONNECT_BACKOFF_MS; 1000)",
    )
    live.add_argument(
        "--max-reconnect-backoff-ms",
        type=int,
        metavar="MS",
        help="longest reconnect delay (env GUILDLOG_MAX_RECONNECT_BACKOFF_MS; 60000)",
    )
    live.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="what the relay logs to stderr (env GUILDLOG_LOG_LEVEL; info live, warning with --replay)",
    )
    # Discord's own waits; only a Discord-compatible test server has reason to change them.
    live.add_argument("--identify-interval-ms", type=int, help=argparse.SUPPRESS)
    live.add_argument("--invalid-session-wait-ms", help=argparse.SUPPRESS)
    # How long a shard group's lease lasts unless renewed; tests shorten it to see a takeover.
    live.add_argument("--shard-group-lease-s", type=float, help=argparse.SUPPRESS)

    replay = parser.add_argument_group("replay")
    replay.add_argument(
        "--replay", type=Path, metavar="FILE", help="JSON-lines of gateway frames to forward, then exit"
    )
    replay.add_argument("--json", action="store_true", help="with --replay: print the counts as one JSON object")


def _fill_defaults(args: argparse.Namespace) -> None:
    """Flags left out take their GUILDLOG_* variable, then the default."""
    defaults: dict[str, tuple[str, Any, Callable[[str], Any]]] = {
        "batch_size": ("GUILDLOG_BATCH_SIZE", 500, int),
        "flush_ms": ("GUILDLOG_FLUSH_MS", 1000, int),
        "linger_ms": ("GUILDLOG_LINGER_MS", None, int),
        "max_retries": ("GUILDLOG_MAX_RETRIES", 8, int),
        "timeout": ("GUILDLOG_TIMEOUT", 10.0, float),
        "backoff_ms": ("GUILDLOG_BACKOFF_MS", 500, int),
        "max_backoff_ms": ("GUILDLOG_MAX_BACKOFF_MS", 30_000, int),
        "token_file": ("GUILDLOG_TOKEN_FILE", None, Path),
        "token_secret_arn": ("GUILDLOG_TOKEN_SECRET_ARN", None, str),
        "signing_key_secret_arn": (SIGNING_KEY_SECRET_ENV, None, str),
        "checkpoint_table": (CHECKPOINT_TABLE_ENV, None, str),
        "api_base": (API_BASE_ENV, None, str),
        "shards": ("GUILDLOG_SHARDS", None, str),
        "shard_count": ("GUILDLOG_SHARD_COUNT", None, int),
        "shard_groups": ("GUILDLOG_SHARD_GROUPS", None, int),
        "shard_group_lease_s": ("GUILDLOG_SHARD_GROUP_LEASE_S", None, float),
        "intents": ("GUILDLOG_INTENTS", None, str),
        "health_port": ("GUILDLOG_HEALTH_PORT", None, int),
        "health_host": ("GUILDLOG_HEALTH_HOST", "127.0.0.1", str),
        "status_interval": ("GUILDLOG_STATUS_INTERVAL", 60.0, float),
        "drain_timeout": ("GUILDLOG_DRAIN_TIMEOUT", 10.0, float),
        "queue_size": ("GUILDLOG_QUEUE_SIZE", 1000, int),
        "reconnect_backoff_ms": ("GUILDLOG_RECONNECT_BACKOFF_MS", 1000, int),
        "max_reconnect_backoff_ms": ("GUILDLOG_MAX_RECONNECT_BACKOFF_MS", 60_000, int),
        "log_level": ("GUILDLOG_LOG_LEVEL", None, str),
        "identify_interval_ms": ("GUILDLOG_IDENTIFY_INTERVAL_MS", None, int),
        "invalid_session_wait_ms": ("GUILDLOG_INVALID_SESSION_WAIT_MS", None, str),
    }
    for attribute, (variable, default, cast) in defaults.items():
        if getattr(args, attribute, None) is None:
            setattr(args, attribute, _env(variable, default, cast))


def run(args: argparse.Namespace) -> int:
    _fill_defaults(args)
    _check_numbers(args)
    if args.replay is None:
        return run_live(args)
    if not args.replay.is_file():
        raise ConfigurationError(f"--replay {args.replay}: no such file")
    _configure_logging(args.log_level or "warning")

    from guildlog_relay.pipeline import Pipeline
    from guildlog_relay.spool import Spool

    endpoint, signer = _webhook(args)
    state_dir = _state_dir(args)
    try:
        spool = Spool(state_dir)
    except OSError as exc:
        raise ConfigurationError(f"state dir {state_dir}: {exc.strerror or exc}") from None
    pipeline = Pipeline(spool=spool, poster=_poster(args, endpoint, signer), batcher=_batcher(args))
    if pipeline.stats.recovered:
        _say(f"sending {pipeline.stats.recovered} batch(es) left in {state_dir} first")
    result = _replay_until_done_or_drained(args.replay, pipeline, args.drain_timeout, getattr(args, "progress", None))
    counts = {**result.stats.as_dict(), "pending": result.pending, "stopped": result.stopped, "ok": result.ok}
    if args.json:
        print(json.dumps(counts))
    else:
        _print_counts(args.replay, counts)
    for message in [*result.rejected, *result.errors]:
        _say(message)
    if result.pending:
        _say(f"{result.pending} batch(es) wait in {state_dir}; run again to send them")
        if not (args.endpoint or os.environ.get(ENDPOINT_ENV)):
            _say("the endpoint came from the dev stack file: is `guildlog dev` running?")
    if result.rejected or result.stats.rejected_batches:
        _say(f"rejected batches are kept in {Path(state_dir) / 'rejected'}")
    if result.stopped:
        _say(f"stopped before the end of {args.replay}; run it again to send the rest (what was sent is recognised)")
        # Stopped on purpose and drained like the live relay: 0, unless a batch was refused meanwhile.
        return 0 if not (result.errors or result.rejected or result.stats.rejected_batches) else 1
    return 0 if result.ok else 1


# After the drain deadline, how long the sender gets to notice `poster.stop` before it is left behind.
_STOP_GRACE_S = 1.0


def _replay_until_done_or_drained(
    path: Path, pipeline: Any, drain_timeout: float, progress: ProgressReporter | None = None
) -> Any:
    """run_replay on a worker thread, so that SIGTERM/SIGINT drain it as they drain the live relay:
    no frame is read after the signal, what was read is sent for up to `drain_timeout` seconds, the
    rest stays in the spool. A sender still blocked after that is left behind as if the process were
    killed there, which the spool already survives (its batch is still on disk, and sent first on
    the next run)."""
    import signal
    import threading
    import time

    from guildlog_relay.replay import ReplayResult, count_frames, run_replay

    stop = threading.Event()
    outcome: list[ReplayResult | BaseException] = []

    def work() -> None:
        try:
            if progress is None:
                outcome.append(run_replay(path, pipeline, stop=stop))
                return
            with progress("replay", total=count_frames(path), unit="frames") as shown:
                outcome.append(run_replay(path, pipeline, stop=stop, on_frames=shown.advance))
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome.append(exc)

    def on_signal(signum: int, frame: Any) -> None:
        if not stop.is_set():
            _say(f"stopping: no more frames are read; sending what was read for up to {drain_timeout:g} s")
        stop.set()

    worker = threading.Thread(target=work, name="guildlog-replay", daemon=True)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)} if main_thread else {}
    try:
        for sig in previous:
            signal.signal(sig, on_signal)
        worker.start()
        deadline: float | None = None
        while worker.is_alive():
            worker.join(0.1)
            if stop.is_set():
                deadline = deadline or time.monotonic() + drain_timeout
                if time.monotonic() >= deadline:
                    pipeline.poster.stop.set()  # a retry loop or backoff ends at once
                    worker.join(_STOP_GRACE_S)
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if outcome and isinstance(outcome[0], BaseException):
        raise outcome[0]
    if outcome:
        return outcome[0]
    return ReplayResult(stats=pipeline.stats, pending=len(pipeline.spool), stopped=True)


def run_live(args: argparse.Namespace) -> int:
    """The live relay: token, webhook and gateway settings, then run until a signal or a fatal error.

    Exits 0 when stopped, 1 on an unexpected error, 78 when the configuration is refused (a missing
    or refused token, a signing key the stack does not know, intents not enabled, a bad shard
    layout): restarting cannot help until a person fixes it.
    """
    from guildlog_relay.live import EXIT_CONFIG

    try:
        return _run_live(args)
    except ConfigurationError as exc:
        _say(exc.message)
        return EXIT_CONFIG


def _run_live(args: argparse.Namespace) -> int:
    import asyncio

    from guildlog_relay.credentials import RedactingFilter, resolve_token
    from guildlog_relay.discovery import fetch_gateway_bot
    from guildlog_relay.live import LiveRelay, LiveSettings
    from guildlog_relay.pipeline import Pipeline
    from guildlog_relay.protocol import DEFAULT_API_BASE, DEFAULT_INTENTS, IDENTIFY_INTERVAL_S, parse_intents
    from guildlog_relay.shard import Tuning
    from guildlog_relay.spool import Spool

    handler = _configure_logging(args.log_level or "info")
    token, token_source = resolve_token(
        token_file=args.token_file, secret_arn=args.token_secret_arn, environ=os.environ
    )
    handler.addFilter(RedactingFilter(token))
    endpoint, signer = _webhook(args)
    state_dir = _state_dir(args)
    try:
        intents = parse_intents(args.intents) if args.intents else int(DEFAULT_INTENTS)
    except ValueError as exc:
        raise ConfigurationError(f"--intents: {exc}") from None
    shard_ids = parse_shards(args.shards) if args.shards else None
    if shard_ids is not None and args.shard_count is None:
        raise ConfigurationError("--shards needs --shard-count, so that every process agrees on the total")
    if args.shard_groups is not None:
        if shard_ids is not None:
            raise ConfigurationError("give a process its shards one way: --shards or --shard-groups")
        if not args.checkpoint_table:
            raise ConfigurationError(
                "--shard-groups needs --checkpoint-table (or GUILDLOG_CHECKPOINT_TABLE): the groups are claimed there"
            )
    tuning = Tuning()
    if args.invalid_session_wait_ms:
        low, _, high = args.invalid_session_wait_ms.partition("-")
        tuning = Tuning(invalid_session_wait=(int(low) / 1000, int(high or low) / 1000))
    api_base = args.api_base or DEFAULT_API_BASE
    _say(f"token from {token_source}; asking {api_base} for the gateway")
    gateway = fetch_gateway_bot(api_base, token)
    settings = LiveSettings(
        state_dir=Path(state_dir),
        shard_ids=shard_ids,
        shard_count=args.shard_count,
        intents=intents,
        queue_size=args.queue_size,
        status_interval=args.status_interval,
        drain_timeout=args.drain_timeout,
        health_host=args.health_host,
        health_port=args.health_port,
        reconnect_base=args.reconnect_backoff_ms / 1000,
        reconnect_cap=args.max_reconnect_backoff_ms / 1000,
        identify_interval=(args.identify_interval_ms / 1000)
        if args.identify_interval_ms is not None
        else IDENTIFY_INTERVAL_S,
        tuning=tuning,
        checkpoint_table=args.checkpoint_table,
    )

    def make_pipeline(folder: Path) -> Pipeline:
        try:
            spool = Spool(folder)
        except OSError as exc:
            raise ConfigurationError(f"state dir {folder}: {exc.strerror or exc}") from None
        return Pipeline(spool=spool, poster=_poster(args, endpoint, signer), batcher=_batcher(args))

    def make_relay(chosen: LiveSettings) -> LiveRelay:
        return LiveRelay(chosen, token=token, gateway=gateway, make_pipeline=make_pipeline)

    if args.shard_groups is None:
        result = asyncio.run(make_relay(settings).run())
    else:
        from guildlog_relay.shard_groups import ShardGroups, holder_id, run_in_group

        ttl = {"ttl": args.shard_group_lease_s} if args.shard_group_lease_s else {}
        groups = ShardGroups(args.checkpoint_table, args.shard_groups, holder_id(), **ttl)
        result = asyncio.run(run_in_group(groups, settings, gateway.shards, make_relay))
    if result.message:
        _say(result.message)
    if result.spooled:
        _say(f"{result.spooled} batch(es) wait in {state_dir}; they are sent first on the next start")
    return result.code


def parse_shards(text: str) -> tuple[int, ...]:
    """`0-3`, `0,2,4`, `5`, or a mix (`0-1,4`): the shard ids, sorted, each once."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ConfigurationError(f"--shards {text!r}: use ranges like 0-3 or lists like 0,2,4") from None
        if first < 0 or last < first:
            raise ConfigurationError(f"--shards {text!r}: {part} is not a range of shard ids")
        ids.update(range(first, last + 1))
    if not ids:
        raise ConfigurationError(f"--shards {text!r} names no shard")
    return tuple(sorted(ids))


def _webhook(args: argparse.Namespace) -> tuple[str, Any]:
    from guildlog.adapters.signatures import Signer

    endpoint, private_key, key_source = resolve_target(args, os.environ)
    try:
        signer = Signer(private_key)
    except Exception:  # whatever the seed's problem, its text must not reach the message
        raise ConfigurationError(
            f"{key_source} does not hold a 64-hex Ed25519 private key (as `guildlog keygen --out` writes it)"
        ) from None
    return endpoint, signer


def _state_dir(args: argparse.Namespace) -> Path:
    return args.state_dir or _env_path(STATE_DIR_ENV) or DEFAULT_STATE_DIR


def _poster(args: argparse.Namespace, endpoint: str, signer: Any) -> Any:
    from guildlog_relay.poster import Poster, RetryPolicy

    policy = RetryPolicy(
        max_retries=args.max_retries, base_delay=args.backoff_ms / 1000, max_delay=args.max_backoff_ms / 1000
    )
    return Poster(endpoint, signer, policy=policy, timeout=args.timeout)


def _batcher(args: argparse.Namespace) -> Any:
    from guildlog_relay.batcher import Batcher

    return Batcher(max_events=args.batch_size, max_age_ms=args.flush_ms, linger_ms=_linger_ms(args))


def _linger_ms(args: argparse.Namespace) -> int:
    """--linger-ms as given, else the default (never below --flush-ms, which it could not honour)."""
    from guildlog_relay.batcher import DEFAULT_LINGER_MS

    given: int | None = getattr(args, "linger_ms", None)
    return given if given is not None else max(DEFAULT_LINGER_MS, args.flush_ms)


def _say(message: str) -> None:
    print(f"guildlog relay: {message}", file=sys.stderr)


def resolve_target(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str, str]:
    """(endpoint, private key hex, where the key came from): flags, then environment, then the dev stack."""
    endpoint = args.endpoint or environ.get(ENDPOINT_ENV) or None
    key_file = args.signing_key_file or (
        Path(environ[SIGNING_KEY_FILE_ENV]) if environ.get(SIGNING_KEY_FILE_ENV) else None
    )
    if endpoint is None:
        reader: LocalTargetReader | None = getattr(args, "local_target", None)
        local = reader(environ) if reader is not None else "nowhere: no local stack is known to this command"
        if isinstance(local, str):
            raise ConfigurationError(
                f"no endpoint: pass --endpoint URL --signing-key-file PATH (or set {ENDPOINT_ENV}), "
                f"or start `guildlog dev`, which writes {local}"
            )
        endpoint = local.ingest_url
        if key_file is None:
            return (
                _checked_url(endpoint, f"api_url in {local.source}"),
                local.private_key,
                f"relay_private_key in {local.source}",
            )
    secret_arn = getattr(args, "signing_key_secret_arn", None) or environ.get(SIGNING_KEY_SECRET_ENV)
    if key_file is not None and secret_arn:
        raise ConfigurationError("give the signing key one way: --signing-key-file or --signing-key-secret-arn")
    if secret_arn:
        from guildlog.adapters.secrets import read_secret_text

        key = read_secret_text(secret_arn, "the signing key secret").strip()
        return _checked_url(endpoint, "--endpoint"), key, f"the signing key secret {secret_arn}"
    if key_file is None:
        raise ConfigurationError(
            f"--signing-key-file PATH or --signing-key-secret-arn ARN (or {SIGNING_KEY_FILE_ENV}) is required "
            "with --endpoint"
        )
    return _checked_url(endpoint, "--endpoint"), read_key_file(key_file), f"the signing key file {key_file}"


def read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigurationError(
            f"signing key file {path}: no such file (make one with `guildlog keygen --out`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise ConfigurationError(f"signing key file {path}: {reason}") from None


def _checked_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{where}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        print(
            f"guildlog relay: warning: {where} is plain http to a remote host; event content travels unencrypted",
            file=sys.stderr,
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _check_numbers(args: argparse.Namespace) -> None:
    from guildlog.models.envelope import MAX_EVENTS_PER_BATCH

    if not 1 <= args.batch_size <= MAX_EVENTS_PER_BATCH:
        raise ConfigurationError(f"--batch-size must be between 1 and {MAX_EVENTS_PER_BATCH}")
    if args.flush_ms < 0 or args.max_retries < 0 or args.backoff_ms < 0 or args.max_backoff_ms < 0:
        raise ConfigurationError("--flush-ms, --max-retries and the backoff settings must not be negative")
    linger = getattr(args, "linger_ms", None)
    if linger is not None and linger < 0:
        raise ConfigurationError(f"--linger-ms {linger}: must not be negative (0 sends every event after --flush-ms)")
    if linger is not None and linger != 0 and linger < args.flush_ms:
        raise ConfigurationError(
            f"--linger-ms {linger}: must be 0 (no holding) or at least --flush-ms ({args.flush_ms}), "
            "since routine events are never sent sooner than urgent ones"
        )
    if not args.timeout > 0:
        raise ConfigurationError("--timeout must be positive")
    if args.reconnect_backoff_ms < 0 or args.max_reconnect_backoff_ms < 0:
        raise ConfigurationError("the reconnect backoff settings must not be negative")
    if args.queue_size < 1:
        raise ConfigurationError("--queue-size must be at least 1")
    if args.drain_timeout < 0 or args.status_interval < 0:
        raise ConfigurationError("--drain-timeout and --status-interval must not be negative")
    if args.shard_count is not None and args.shard_count < 1:
        raise ConfigurationError("--shard-count must be at least 1")
    if getattr(args, "shard_groups", None) is not None:
        from guildlog_relay.shard_groups import MAX_GROUPS

        if not 1 <= args.shard_groups <= MAX_GROUPS:
            raise ConfigurationError(f"--shard-groups must be between 1 and {MAX_GROUPS}")
    if args.health_port is not None and not 0 <= args.health_port <= 65535:
        raise ConfigurationError("--health-port must be a TCP port (0-65535; 0 picks a free one)")


def _print_counts(path: Path, counts: dict[str, Any]) -> None:
    skipped = counts["skipped"]
    by_op = ", ".join(f"op {op}: {n}" for op, n in counts["skipped_by_op"].items())
    rows = [
        ("frames read", counts["frames"]),
        ("dispatches", counts["dispatches"]),
        ("skipped", f"{skipped} ({by_op})" if skipped else 0),
        ("batches", counts["batches"] + counts["recovered"]),
        ("  from an earlier run", counts["recovered"]),
        ("  acknowledged", counts["acknowledged"]),
        ("  split (413)", counts["splits"]),
        ("  left in the spool", counts["pending"]),
        ("accepted", counts["accepted"]),
        ("duplicates", counts["duplicates"]),
        ("quarantined", counts["quarantined"]),
        ("retries", counts["retries"]),
        ("rejected", f"{counts['rejected_batches']} batch(es), {counts['rejected_events']} event(s)"),
    ]
    print(f"guildlog relay --replay {path}: {'done' if counts['ok'] else 'NOT COMPLETE'}")
    for label, value in rows:
        print(f"  {label:<22} {value}")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _KeyValueFormatter(logging.Formatter):
    # Log records carry structured fields in `extra`; show them, never event content (none is logged).
    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in self._STANDARD)
        text = f"guildlog relay: {record.levelname.lower()}: {record.getMessage()}"
        return f"{text} {fields}" if fields else text


def _configure_logging(level: str) -> logging.Handler:
    """Relay log lines to stderr as `guildlog relay: <level>: <message> key=value…`; returns the handler."""
    logger = logging.getLogger("guildlog_relay")
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(_KeyValueFormatter())
        logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper()))
    return handler
