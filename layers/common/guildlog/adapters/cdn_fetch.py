"""Downloads from Discord's CDN for attachment copies: bytes, a size cap, and which failures are worth a retry.

Not `discord_rest.DiscordRest`: the CDN is no part of Discord's REST API (no token, no rate-limit
buckets, bodies are files, not JSON). Only URLs that `services.attachments.cdn_url` built are
fetched: on the configured CDN base, never an address taken from a message as it is.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from guildlog.errors import AttachmentCopyError
from guildlog.services.attachments import MB, Fetched

_CHUNK = 64 * 1024


class CdnFetcher:
    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        """The file at `url`; AttachmentCopyError (retryable unless it is over `max_bytes`)."""
        request = urllib.request.Request(url, headers={"User-Agent": "guildlog (attachment copies)"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - see cdn_url
                declared = answer.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(max_bytes)
                body = bytearray()
                while chunk := answer.read(_CHUNK):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise _too_large(max_bytes)
                return Fetched(bytes(body), answer.headers.get_content_type() if answer.headers else None)
        except urllib.error.HTTPError as exc:
            gone = " (the file is gone from Discord's CDN)" if exc.code in (403, 404) else ""
            raise AttachmentCopyError(f"the CDN answered {exc.code}{gone}", retryable=True, status=exc.code) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise AttachmentCopyError(
                "the CDN could not be reached", retryable=True, error=type(exc).__name__
            ) from None


def _too_large(max_bytes: int) -> AttachmentCopyError:
    return AttachmentCopyError(f"larger than this server's {max_bytes // MB} MB cap", retryable=False)
