"""Where a running `guildlog dev` says its endpoint and relay key are: `.guildlog/dev.json`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from guildlog.errors import ConfigurationError

DEV_FILE_ENV = "GUILDLOG_DEV_FILE"
DEFAULT_DEV_FILE = Path(".guildlog") / "dev.json"
INGEST_PATH = "/gateway/events"


@dataclass(frozen=True)
class DevStack:
    """What the relay needs from the dev stack file. `repr` leaves the key out."""

    path: Path
    api_url: str
    relay_private_key: str

    @property
    def ingest_url(self) -> str:
        return self.api_url.rstrip("/") + INGEST_PATH

    def __repr__(self) -> str:
        return f"DevStack(path={str(self.path)!r}, api_url={self.api_url!r})"


def dev_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$GUILDLOG_DEV_FILE`, else `.guildlog/dev.json` in the current directory."""
    env = os.environ if environ is None else environ
    value = env.get(DEV_FILE_ENV)
    return Path(value) if value else DEFAULT_DEV_FILE


def read_dev_stack(path: Path) -> DevStack | None:
    """The dev stack at `path`, None when there is no such file; ConfigurationError when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the dev stack file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"the dev stack file {path} is not JSON; restart `guildlog dev`") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the dev stack file {path} is not a JSON object; restart `guildlog dev`")
    api_url, key = data.get("api_url"), data.get("relay_private_key")
    missing = [
        name
        for name, value in (("api_url", api_url), ("relay_private_key", key))
        if not isinstance(value, str) or not value
    ]
    if missing:
        raise ConfigurationError(f"the dev stack file {path} has no {' or '.join(missing)}; restart `guildlog dev`")
    return DevStack(path=path, api_url=str(api_url), relay_private_key=str(key))
