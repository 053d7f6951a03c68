"""The local Glue's HTTP side: a moto request handler with working keep-alive, and plain JSON answers."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any, Protocol, cast

log = logging.getLogger(__name__)

DROPPED = "local_glue.dropped"
"""WSGI environ key: the app closed the connection on purpose, send nothing."""


class _SocketRegistry(Protocol):
    sockets: set[socket.socket]


def discard(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
    """A WSGI start_response for an answer that will never be sent."""
    return lambda data: None


def respond(start_response: Callable[..., Any], status: int, payload: object) -> list[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


@cache
def _handler_class() -> type[Any]:
    """Build (once) the request handler: moto's, with working HTTP/1.1 keep-alive.

    werkzeug's ``run_wsgi`` sends ``Connection: close`` with every response whatever the protocol version, then
    drains the socket in a way that would swallow the next request of a kept-alive connection. This handler
    buffers the request body and the app's answer, and writes the answer with a Content-Length.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 300  # an idle kept-alive connection is closed after this many seconds

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: with Nagle's algorithm and delayed ACKs, a kept-alive
            # connection would stall about 40 ms per answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cast(_SocketRegistry, self.server.app).sockets.add(self.connection)

        def finish(self) -> None:
            cast(_SocketRegistry, self.server.app).sockets.discard(self.connection)
            super().finish()

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            environ = self.make_environ()
            if environ.get("wsgi.input_terminated"):  # chunked: werkzeug already wraps the stream
                body = environ["wsgi.input"].read()
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            answer: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
                answer[:] = [status, headers]
                return lambda data: None

            try:
                result = self.server.app(environ, start_response)
                try:
                    content = b"".join(result)
                finally:
                    getattr(result, "close", lambda: None)()
            except Exception:
                log.exception("local Glue: error answering %s", environ.get("HTTP_X_AMZ_TARGET", self.path))
                answer, content = ["500 Internal Server Error", []], b""
            if environ.get(DROPPED):
                self.close_connection = True
                return
            code, _, reason = answer[0].partition(" ")
            self.send_response(int(code), reason)
            length = str(len(content))
            for key, value in answer[1]:
                if key.lower() == "content-length" and self.command == "HEAD":
                    length = value  # the size of what a GET would answer (S3 HeadObject), with no body
                elif key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def log(self, type: str, message: str, *args: Any) -> None:
            log.log(logging.WARNING if type == "error" else logging.DEBUG, message, *args)

    return KeepAliveHandler
