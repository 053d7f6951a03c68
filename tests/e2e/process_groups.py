"""The processes of an end-to-end test: free ports, bounded waits, process groups that are always stopped.

Each Airflow process of a stack (``airflow_stack.py``) and the PostgreSQL server (``postgres_server.py``) runs in
its own process group (session), so a stop reaches every child: SIGTERM to the group, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")


class StackError(AssertionError):
    """The stack did not do what a test waited for; the message says what was last seen."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    poll: float = 0.5,
    describe: Callable[[], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy and return it; raise StackError at the deadline.

    :param condition: returns a truthy value when the awaited state is reached.
    :param timeout: seconds before giving up.
    :param what: what is awaited, for the error message.
    :param poll: seconds between two checks.
    :param describe: returns what was last seen, for the error message.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            seen = f"; last seen: {describe()!r}" if describe is not None else ""
            raise StackError(f"timed out after {timeout:.0f} s waiting for {what}{seen}")
        time.sleep(poll)


@dataclass
class Service:
    """One Airflow process of the stack and the file its output goes to."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    generation: int = 0
    killed: bool = False  # stopped on purpose by kill_service: not a crash
    env: dict[str, str] = field(default_factory=dict)  # this process's own environment, over the stack's

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(proc.pid, sig)


def _descendants(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return list(psutil.Process(proc.pid).children(recursive=True))
    return []


def stop_process_groups(
    procs: Iterable[subprocess.Popen[bytes]], *, grace: float = 15.0, sig: int = signal.SIGTERM
) -> None:
    """Send ``sig`` to the process group of each process (each leads its own session), then kill what is left.

    Processes still alive after ``grace`` seconds are killed with their whole group. Airflow's supervisor puts
    each task runner in a process group of its own, so every descendant seen before the signal is killed too.
    """
    procs = list(procs)
    family = [child for proc in procs for child in _descendants(proc)]
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc, sig)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        _signal_group(proc, signal.SIGKILL)
    for child in family:
        with contextlib.suppress(psutil.Error):
            child.kill()
    for proc in procs:
        proc.wait(timeout=grace)
    psutil.wait_procs(family, timeout=grace)


def listening_addresses(services: Iterable[Service]) -> dict[str, set[tuple[str, int]]]:
    """Return the TCP addresses each running service (children included) listens on, by service name."""
    found: dict[str, set[tuple[str, int]]] = {}
    for service in services:
        if service.proc is None or not service.running:
            continue
        addresses: set[tuple[str, int]] = set()
        for proc in [psutil.Process(service.proc.pid), *_descendants(service.proc)]:
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN:
                        addresses.add((conn.laddr.ip, conn.laddr.port))
        found[service.name] = addresses
    return found
