"""The gateway connection on the `websockets` library (asyncio), adapted to `shard.Connection`.

Imported only by the live relay: websockets is the `relay` extra, never a Lambda dependency.
"""

from __future__ import annotations

from guildlog import __version__
from guildlog_relay.shard import Connection, GatewayClosed, GatewayConnectError

# Discord's messages are compressed by zlib-stream; a guild's GUILD_CREATE can still be tens of MB
# as sent. Anything bigger than this in one websocket message is refused (and the shard resumes).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# How long closing waits for Discord's close frame before dropping the connection.
CLOSE_TIMEOUT_S = 5.0


class WebsocketConnection:
    """One open gateway websocket."""

    def __init__(self, ws: object) -> None:
        self._ws = ws

    async def recv(self) -> bytes | str:
        from websockets.exceptions import ConnectionClosed

        try:
            return await self._ws.recv()  # type: ignore[attr-defined]
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(text)  # type: ignore[attr-defined]
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)  # type: ignore[attr-defined]


def _closed(exc: object) -> GatewayClosed:
    received = getattr(exc, "rcvd", None)
    if received is None:
        return GatewayClosed(None, "connection lost")
    return GatewayClosed(received.code, received.reason)


async def connect(url: str) -> Connection:
    """Open `url` (already carrying v, encoding and compress). Raises GatewayConnectError."""
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidURI

    try:
        ws = await ws_connect(
            url,
            # zlib-stream already compresses; permessage-deflate on top would only cost CPU.
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            # Discord's heartbeats are the liveness check; websocket pings would be a second one.
            ping_interval=None,
            close_timeout=CLOSE_TIMEOUT_S,
            open_timeout=None,  # the session applies its own connect timeout
            user_agent_header=f"guildlog-relay/{__version__}",
        )
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise GatewayConnectError(f"{type(exc).__name__}: {exc}"[:300]) from None
    return WebsocketConnection(ws)
