"""`.guildlog/dev.json`: the local stack's endpoints and dev keys, for the relay and the tests.

The file holds private keys (dev-only, but keys all the same), so it is written mode 600 in a
mode-700 directory, atomically (a reader never sees half a file), and the directory is
git-ignored. The keys are generated on the first run and kept: a restarted `guildlog dev` signs
and verifies with the same pairs, so a relay's key file and a fake Discord's key stay valid.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guildlog.errors import ConfigurationError

if TYPE_CHECKING:
    from guildlog_relay.cli import LocalTarget

DEV_FILE_ENV = "GUILDLOG_DEV_FILE"
DEFAULT_STATE_DIR = Path(".guildlog")
DEV_FILE_NAME = "dev.json"
INGEST_PATH = "/gateway/events"
# Discord's epoch (2015-01-01T00:00:00Z) in ms: snowflakes count from it.
_DISCORD_EPOCH_MS = 1_420_070_400_000
_HEX_KEY_LENGTH = 64


def default_dev_file(state_dir: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where dev.json lives: `state_dir/dev.json`, else $GUILDLOG_DEV_FILE, else `.guildlog/dev.json`."""
    if state_dir is not None:
        return Path(state_dir) / DEV_FILE_NAME
    override = (os.environ if environ is None else environ).get(DEV_FILE_ENV)
    if override:
        return Path(override)
    return DEFAULT_STATE_DIR / DEV_FILE_NAME


@dataclass(frozen=True)
class DevKeys:
    """The local stack's key pairs (hex Ed25519) and its Discord application id."""

    relay_private_key: str
    relay_public_key: str
    discord_private_key: str
    discord_public_key: str
    application_id: str

    @classmethod
    def generate(cls) -> DevKeys:
        from guildlog.adapters.signatures import generate_keypair

        relay = generate_keypair()
        discord = generate_keypair()
        return cls(
            relay_private_key=relay.private_key,
            relay_public_key=relay.public_key,
            discord_private_key=discord.private_key,
            discord_public_key=discord.public_key,
            application_id=_dev_snowflake(),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DevKeys | None:
        """The keys in a dev.json, or None when any is missing or malformed (then new ones are made)."""
        try:
            keys = cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None
        hex_values = (keys.relay_private_key, keys.relay_public_key, keys.discord_private_key, keys.discord_public_key)
        if not all(_is_hex_key(value) for value in hex_values) or not (
            keys.application_id.isascii() and keys.application_id.isdigit()
        ):
            return None
        return keys

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _is_hex_key(value: str) -> bool:
    return len(value) == _HEX_KEY_LENGTH and all(c in "0123456789abcdefABCDEF" for c in value)


def _dev_snowflake() -> str:
    """A plausible, unique-enough application id: now as a snowflake plus random low bits."""
    millis = int(time.time() * 1000) - _DISCORD_EPOCH_MS
    return str((millis << 22) | secrets.randbits(22))


def read_dev_file(path: Path | str | None = None) -> dict[str, Any]:
    """The parsed dev.json; ConfigurationError (with the path) when it is missing or not a JSON object."""
    target = Path(path) if path is not None else default_dev_file()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            "no dev file: start the local stack with `guildlog dev` first", path=str(target)
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError("the dev file cannot be read", path=str(target), error=type(exc).__name__) from None
    if not isinstance(data, dict):
        raise ConfigurationError("the dev file is not a JSON object", path=str(target))
    return data


def load_or_create_keys(path: Path | str) -> tuple[DevKeys, bool]:
    """The keys kept in `path`, or new ones when it has none; the flag says whether they are new.

    A file that exists but cannot be parsed is not overwritten silently: its keys may be in use.
    """
    target = Path(path)
    if not target.exists():
        return DevKeys.generate(), True
    keys = DevKeys.from_mapping(read_dev_file(target))
    if keys is None:
        raise ConfigurationError(
            "the dev file has no valid dev keys; move it away to generate new ones", path=str(target)
        )
    return keys, False


def write_dev_file(path: Path | str, data: Mapping[str, Any]) -> Path:
    """Write `data` as JSON to `path` atomically, mode 600, creating its directory (mode 700)."""
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file 600 already, so the keys are never readable by others, not even briefly.
    fd, temp_name = tempfile.mkstemp(prefix=".dev-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(dict(data), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def relay_target(environ: Mapping[str, str]) -> LocalTarget | str:
    """The running stack's ingest URL and relay key for `guildlog relay` with no --endpoint; the dev
    file's path when there is no such file. ConfigurationError when the file is unusable."""
    from guildlog_relay.cli import LocalTarget

    path = default_dev_file(environ=environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return str(path)
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
    return LocalTarget(ingest_url=str(api_url).rstrip("/") + INGEST_PATH, private_key=str(key), source=str(path))
