"""The local Glue's injected faults: which kinds exist, the queue per operation, and the answers they give.

No moto here: a fault is answered before the request reaches moto's backends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
from collections.abc import Callable, Iterable
from typing import Any

from airflow_glue_runs.local_glue._http import DROPPED, respond
from airflow_glue_runs.local_glue._rules import _GlueError

_INJECTED = "(local Glue injected fault)"
# Faults answered with an HTTP error: kind -> (status, error code, default message).
_HTTP_FAULTS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "server_error": (500, "InternalServiceException", f"Internal service error {_INJECTED}"),
    "unavailable": (503, "ServiceUnavailable", f"Service unavailable {_INJECTED}"),
}
_GLUE_ERROR_CODES = (
    "AccessDeniedException",
    "AlreadyExistsException",
    "ConcurrentModificationException",
    "ConcurrentRunsExceededException",
    "EntityNotFoundException",
    "InternalServiceException",
    "InvalidInputException",
    "OperationTimeoutException",
    "ResourceNumberLimitExceededException",
    "ResourceNotFoundException",  # CloudWatch Logs' answer for a missing group or stream
)
FAULT_KINDS = (*_HTTP_FAULTS, "drop", "drop_response", *_GLUE_ERROR_CODES)


@dataclasses.dataclass
class _Fault:
    kind: str
    message: str | None
    remaining: int


class _Faults:
    """The pending faults, per operation name (``"*"``: any Glue operation), oldest first."""

    def __init__(self) -> None:
        self.queues: dict[str, list[_Fault]] = {}

    def add(self, operation: str, kind: str, times: int, message: str | None) -> None:
        """Queue a fault for the next ``times`` calls of ``operation``."""
        self.queues.setdefault(operation, []).append(_Fault(kind, message, times))

    def take(self, operation: str, *, wildcard: bool = True) -> _Fault | None:
        """Return the fault due for this call of ``operation`` (counting it down), or None.

        :param operation: the operation called.
        :param wildcard: whether faults queued for ``"*"`` apply (Glue operations only).
        """
        for key in (operation, "*") if wildcard else (operation,):
            queue = self.queues.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining == 0:
                    queue.pop(0)
                return fault
        return None

    def clear(self) -> None:
        """Forget every pending fault."""
        self.queues.clear()


def drop_connection(environ: dict[str, Any]) -> Iterable[bytes]:
    """Close the request's TCP connection without an answer, as a dying load balancer would."""
    environ[DROPPED] = True
    with contextlib.suppress(OSError):
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    return []


def fault_answer(fault: _Fault, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer a request with ``fault`` instead of the service (``drop_response`` is the caller's business)."""
    if fault.kind == "drop":
        return drop_connection(environ)
    status, code, message = _HTTP_FAULTS.get(fault.kind) or (0, fault.kind, f"{fault.kind} {_INJECTED}")
    error = _GlueError(code, fault.message or message, status or None)
    return respond(start_response, error.status, {"__type": error.code, "message": error.message})
