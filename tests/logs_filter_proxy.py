"""An HTTP proxy in front of the local Glue that makes its CloudWatch Logs ignore FilterLogEvents' stream filters.

Plain moto answers FilterLogEvents with every stream of the group when ``logStreamNamePrefix`` is given (the local
Glue papers over that); other Logs endpoints may be as careless. The proxy strips ``logStreamNames`` and
``logStreamNamePrefix`` from every FilterLogEvents request on its way, so the answer holds every stream of the
group, and passes everything else (Glue calls, other Logs calls) through unchanged. It listens on 127.0.0.1 on a
free port; use it as a context manager so it is always stopped.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class LogsFilterProxy:
    """Forward requests to ``upstream``, dropping FilterLogEvents' stream names and prefix.

    :param upstream: the local Glue's endpoint URL (``http://127.0.0.1:PORT``).
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stripped = 0
        """FilterLogEvents requests whose stream names or prefix were dropped."""
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="logs-filter-proxy", daemon=True)

    @property
    def endpoint_url(self) -> str:
        """Return the proxy's URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LogsFilterProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in self._sockets:  # kept-alive client connections: end their handler threads
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join()

    def _strip(self, target: str, body: bytes) -> bytes:
        if not target.endswith(".FilterLogEvents"):
            return body
        request = json.loads(body or b"{}")
        if "logStreamNames" in request or "logStreamNamePrefix" in request:
            request.pop("logStreamNames", None)
            request.pop("logStreamNamePrefix", None)
            with self._lock:
                self.stripped += 1
        return json.dumps(request).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._sockets.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._sockets.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = proxy._strip(self.headers.get("X-Amz-Target", ""), body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        return Handler
