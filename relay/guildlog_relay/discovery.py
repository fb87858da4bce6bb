"""`GET {api-base}/gateway/bot`: where to connect, how many shards, how fast sessions may start."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guildlog import __version__
from guildlog.errors import ConfigurationError, RelayError

log = logging.getLogger(__name__)

# Discord asks bots to identify themselves this way (https://discord.com/developers/docs/reference#user-agent).
USER_AGENT = f"DiscordBot (guildlog, {__version__})"
_MAX_ANSWER_BYTES = 256 * 1024
_ATTEMPTS = 6


@dataclass(frozen=True)
class GatewayInfo:
    url: str
    shards: int
    max_concurrency: int = 1
    remaining: int | None = None  # session starts left today
    reset_after_s: float = 0.0


class DiscoveryError(RelayError):
    """/gateway/bot could not be read (after retries)."""


def parse_gateway_bot(data: object) -> GatewayInfo:
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        raise DiscoveryError("the /gateway/bot answer has no url")
    start_limit = data.get("session_start_limit")
    limit: dict[str, Any] = start_limit if isinstance(start_limit, dict) else {}
    shards = data.get("shards")
    concurrency = limit.get("max_concurrency")
    remaining = limit.get("remaining")
    reset_after = limit.get("reset_after")
    return GatewayInfo(
        url=data["url"],
        shards=shards if isinstance(shards, int) and shards > 0 else 1,
        max_concurrency=concurrency if isinstance(concurrency, int) and concurrency > 0 else 1,
        remaining=remaining if isinstance(remaining, int) else None,
        reset_after_s=reset_after / 1000 if isinstance(reset_after, int | float) else 0.0,
    )


def fetch_gateway_bot(
    api_base: str,
    token: str,
    *,
    timeout: float = 10.0,
    sleep: Callable[[float], object] = time.sleep,
    opener: Callable[..., object] | None = None,
) -> GatewayInfo:
    """Ask Discord (or `api_base`) for the gateway. Retries 429, 5xx and network errors a few
    times; 401/403 is a ConfigurationError (the token), as is a URL that is not http(s)."""
    url = api_base.rstrip("/") + "/gateway/bot"
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(f"--api-base {api_base!r} is not an http(s) URL")
    request = urllib.request.Request(url, headers={"Authorization": f"Bot {token}", "User-Agent": USER_AGENT})  # noqa: S310 - checked above
    open_url = opener or urllib.request.urlopen
    problem = ""
    for attempt in range(1, _ATTEMPTS + 1):
        delay = min(2.0**attempt, 30.0)
        try:
            with open_url(request, timeout=timeout) as answer:  # type: ignore[union-attr]
                return parse_gateway_bot(json.loads(answer.read(_MAX_ANSWER_BYTES)))
        except urllib.error.HTTPError as err:
            status = err.code
            retry_after = err.headers.get("Retry-After") if err.headers else None
            err.close()
            if status in (401, 403):
                raise ConfigurationError(
                    f"{url} answered {status}: Discord refused the bot token (check DISCORD_TOKEN, the token file "
                    "or the secret)"
                ) from None
            if status != 429 and status < 500:
                raise DiscoveryError(f"{url} answered {status}; is --api-base right?") from None
            problem = f"HTTP {status}"
            if retry_after:
                with contextlib.suppress(ValueError):
                    delay = min(float(retry_after), 60.0)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"{type(reason).__name__}: {reason}"[:200]
        if attempt < _ATTEMPTS:
            log.warning("GET /gateway/bot failed, retrying", extra={"error": problem, "delay_s": delay})
            sleep(delay)
    raise DiscoveryError(f"could not read {url} after {_ATTEMPTS} attempts (last: {problem})")
