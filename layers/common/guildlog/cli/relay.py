"""`guildlog relay`: forward gateway events to the ingest webhook. For now: `--replay FILE`.

Configuration: an explicit flag beats its environment variable, which beats the default. With no
endpoint at all, the endpoint and key of a running `guildlog dev` are used (`.guildlog/dev.json`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from guildlog.errors import ConfigurationError

ENDPOINT_ENV = "GUILDLOG_ENDPOINT"
SIGNING_KEY_FILE_ENV = "GUILDLOG_SIGNING_KEY_FILE"
STATE_DIR_ENV = "GUILDLOG_STATE_DIR"
DEFAULT_STATE_DIR = Path(".guildlog") / "relay"
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relay",
        help="forward gateway events to the ingest webhook (--replay a recorded session)",
        description="Forward gateway events, batched and signed, to the ingest webhook. Every batch is "
        "spooled to --state-dir before it is sent and removed once acknowledged; batches an earlier run "
        "left behind are sent first. Exits 0 only when every batch was acknowledged.",
    )
    parser.add_argument("--replay", type=Path, metavar="FILE", help="JSON-lines of gateway frames to forward")
    parser.add_argument(
        "--endpoint", help=f"the webhook URL, …/gateway/events (env {ENDPOINT_ENV}; default: the running dev stack)"
    )
    parser.add_argument(
        "--signing-key-file",
        type=Path,
        metavar="PATH",
        help=f"the relay's 64-hex private key, as `guildlog keygen --out` writes it (env {SIGNING_KEY_FILE_ENV})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help=f"spool and rejected batches (env {STATE_DIR_ENV}; default {DEFAULT_STATE_DIR})",
    )
    parser.add_argument("--batch-size", type=int, default=500, metavar="N", help="events per batch at most (500)")
    parser.add_argument(
        "--flush-ms", type=int, default=1000, metavar="T", help="send a batch T ms after its first event (1000)"
    )
    parser.add_argument(
        "--max-retries", type=int, default=8, metavar="N", help="retries per batch before giving up (8)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for each answer (10)")
    parser.add_argument(
        "--backoff-ms", type=int, default=500, metavar="MS", help="first retry delay, doubled each retry (500)"
    )
    parser.add_argument("--max-backoff-ms", type=int, default=30_000, metavar="MS", help="longest retry delay (30000)")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.replay is None:
        print(
            "guildlog relay: the live gateway relay is not available yet: use --replay FILE "
            "to forward a recorded session",
            file=sys.stderr,
        )
        return EXIT_USAGE
    _check_numbers(args)
    if not args.replay.is_file():
        raise ConfigurationError(f"--replay {args.replay}: no such file")
    _configure_logging()

    from guildlog.adapters.signatures import Signer
    from guildlog.relay.batcher import Batcher
    from guildlog.relay.pipeline import Pipeline
    from guildlog.relay.poster import Poster, RetryPolicy
    from guildlog.relay.replay import run_replay
    from guildlog.relay.spool import Spool

    endpoint, private_key, key_source = resolve_target(args, os.environ)
    try:
        signer = Signer(private_key)
    except Exception:  # whatever the seed's problem, its text must not reach the message
        raise ConfigurationError(
            f"{key_source} does not hold a 64-hex Ed25519 private key (as `guildlog keygen --out` writes it)"
        ) from None
    state_dir = args.state_dir or _env_path(STATE_DIR_ENV) or DEFAULT_STATE_DIR
    policy = RetryPolicy(
        max_retries=args.max_retries, base_delay=args.backoff_ms / 1000, max_delay=args.max_backoff_ms / 1000
    )
    try:
        spool = Spool(state_dir)
    except OSError as exc:
        raise ConfigurationError(f"state dir {state_dir}: {exc.strerror or exc}") from None
    pipeline = Pipeline(
        spool=spool,
        poster=Poster(endpoint, signer, policy=policy, timeout=args.timeout),
        batcher=Batcher(max_events=args.batch_size, max_age_ms=args.flush_ms),
    )
    if pipeline.stats.recovered:
        _say(f"sending {pipeline.stats.recovered} batch(es) left in {state_dir} first")
    result = run_replay(args.replay, pipeline)
    counts = {**result.stats.as_dict(), "pending": result.pending, "ok": result.ok}
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
    return 0 if result.ok else 1


def _say(message: str) -> None:
    print(f"guildlog relay: {message}", file=sys.stderr)


def resolve_target(args: argparse.Namespace, environ: os._Environ[str] | dict[str, str]) -> tuple[str, str, str]:
    """(endpoint, private key hex, where the key came from): flags, then environment, then the dev stack."""
    from guildlog.relay.devstack import dev_file_path, read_dev_stack

    endpoint = args.endpoint or environ.get(ENDPOINT_ENV) or None
    key_file = args.signing_key_file or (
        Path(environ[SIGNING_KEY_FILE_ENV]) if environ.get(SIGNING_KEY_FILE_ENV) else None
    )
    if endpoint is None:
        dev_file = dev_file_path(environ)
        dev = read_dev_stack(dev_file)
        if dev is None:
            raise ConfigurationError(
                f"no endpoint: pass --endpoint URL --signing-key-file PATH (or set {ENDPOINT_ENV}), "
                f"or start `guildlog dev`, which writes {dev_file}"
            )
        endpoint = dev.ingest_url
        if key_file is None:
            return (
                _checked_url(endpoint, f"api_url in {dev_file}"),
                dev.relay_private_key,
                f"relay_private_key in {dev_file}",
            )
    if key_file is None:
        raise ConfigurationError(f"--signing-key-file PATH (or {SIGNING_KEY_FILE_ENV}) is required with --endpoint")
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
    if not args.timeout > 0:
        raise ConfigurationError("--timeout must be positive")


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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property  # type: ignore[override]
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


def _configure_logging() -> None:
    logger = logging.getLogger("guildlog.relay")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_KeyValueFormatter())
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
