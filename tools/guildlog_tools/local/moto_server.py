"""moto's server on loopback, its state reset: the AWS of the local stack, the tests and the benchmarks."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from guildlog.errors import ConfigurationError


@contextmanager
def moto_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Start moto's server (port 0: any free port), reset its state, yield its URL; stop it on exit.

    Moto's backends are process-wide: without the reset, a second server in one process would see
    the first one's data.
    """
    from moto.server import ThreadedMotoServer

    # Moto's server logs every request through werkzeug; its callers say what matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        bound_host, bound_port = server.get_host_and_port()
        connection = http.client.HTTPConnection(bound_host, bound_port, timeout=30)
        try:
            connection.request("POST", "/moto-api/reset")
            if connection.getresponse().status != 200:
                raise ConfigurationError("moto did not reset its state")
        finally:
            connection.close()
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.stop()
