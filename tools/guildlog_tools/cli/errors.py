"""How the `guildlog` command ends when something goes wrong: one line on stderr that names the
cause and the fix, exit 2 for a command line that cannot run as typed, 1 for any other failure.
A traceback only with `--debug`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from guildlog.errors import GuildlogError, UsageError

EXIT_FAILURE = 1
EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, but a usage mistake is one line that points at --help (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def describe(exc: GuildlogError) -> str:
    """The message and the structured fields that say why (DuckDB's reason, the path, the AWS cause)."""
    details = ", ".join(f"{key}: {_short(value)}" for key, value in exc.fields.items() if value not in (None, ""))
    return f"{exc.message} ({details})" if details else exc.message


def aws_reason(exc: BaseException) -> str:
    """What an AWS SDK error means for the person at the terminal, and what to do about it."""
    name = type(exc).__name__
    if name == "NoRegionError":
        return "no AWS region is set: pass --region or set AWS_REGION"
    if name in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"):
        return f"no usable AWS credentials ({exc}): set AWS_PROFILE or run `aws configure`"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"AWS cannot be reached ({exc}): check the network and --region"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, text = error.get("Code", name), error.get("Message", "")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return f"the AWS credentials have expired ({code}): refresh them, e.g. `aws sso login`"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"AWS refused access ({text or code}): the credentials need the permission it names"
        return f"{code}: {text}" if text else code
    return f"{name}: {exc}" if str(exc) else name


def writable_out(path: Path, flag: str = "--out", *, overwrite: bool = True) -> Path:
    """`path` when a file can be written there; UsageError naming the fix otherwise.

    Checked before any work is done, so a bad path never costs an upload or a key."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder: give a file name inside it")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: the folder {parent} does not exist; create it first or choose another")
    if not overwrite and path.exists():
        raise UsageError(f"{flag} {path} already exists: choose another path or delete it first")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path}: the folder {parent} is not writable; choose another")
    return path


def fail(prog: str, exc: BaseException) -> int:
    """Print the one line for `exc` and return the exit code."""
    if isinstance(exc, GuildlogError):
        print(f"{prog}: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
    module = type(exc).__module__ or ""
    if module.startswith(("botocore", "boto3")):
        print(f"{prog}: {aws_reason(exc)}", file=sys.stderr)
    elif isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        print(f"{prog}: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
    else:
        print(
            f"{prog}: unexpected error: {type(exc).__name__}: {_short(exc)} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
    return EXIT_FAILURE


def quiet_broken_pipe() -> int:
    """The reader of our output went away (`| head`): say nothing, and keep Python's exit-time
    flush from raising again on the closed pipe."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILURE


def _short(value: object) -> str:
    text = str(value).strip()
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= 300 else first[:297] + "..."
