"""The one shape of the local stack's HTTP servers: threaded, on loopback, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """`serve_in_thread()` to run it, `url` to reach it, `stop()` to end it. Subclasses name their thread."""

    daemon_threads = True
    thread_name = "guildlog-http"

    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def serve_in_thread(self) -> None:
        # A short poll keeps stop() quick; the loop is idle work on a loopback socket.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=self.thread_name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()
