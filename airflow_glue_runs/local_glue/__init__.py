"""A local AWS Glue for tests, the demo and DAG tests: moto's server with scripted job runs and faults.

Real boto3 and aiobotocore clients talk to it over HTTP on 127.0.0.1::

    with LocalGlue() as glue:
        glue.create_job("nightly", default_arguments={"--local-glue-duration": "2"})
        run_id = glue.client().start_job_run(JobName="nightly")["JobRunId"]

A run follows the plan in its merged arguments (job ``DefaultArguments`` + run ``Arguments``), so one DAG runs
against AWS and the local Glue alike: ``--local-glue-duration`` (seconds of STARTING+RUNNING, default 0),
``--local-glue-final-state`` (SUCCEEDED, FAILED, ERROR, TIMEOUT, STOPPED or EXPIRED),
``--local-glue-error-message``, ``--local-glue-queue-seconds`` (WAITING time of runs started with
``JobRunQueuingEnabled``) and ``--local-glue-stop-seconds`` (STOPPING time after a stop request, default 1).

``StartJobRun``, ``BatchStopJobRun``, ``CreateJob``, ``UpdateJob`` and ``DeleteJob`` are implemented on moto's
backend objects, and tag calls on a job's ARN are checked first; every other call goes to moto unchanged. S3,
STS, IAM, SQS and EventBridge answer at the same endpoint, in the local Glue's account. When a run ends
(SUCCEEDED, FAILED, TIMEOUT, STOPPED) a "Glue Job State Change" event goes to EventBridge's default bus, so a
rule can route it to an SQS queue (:meth:`LocalGlue.create_event_queue`; docs/local-glue-events.md).

The modules: ``_service`` (the WSGI middleware: routing, counters, paging tokens, the control API), ``_moto``
(the only one touching moto's Glue internals: the scripted run and job classes, the two run operations, run
access, account reset; extra ``airflow-glue-runs[local]``, pinned because it relies on them), ``_jobs`` (job
definitions: checks, Glue's defaults, the job operations, on the backends ``_moto`` hands it), ``_faults``
(injected faults), ``_rules`` (run plans and timelines; no moto), ``_events`` (run-end events sent into moto's
EventBridge, from a thread of their own), ``_event_faults`` (their drop, duplicate and delay switches; no
moto), ``_logs`` (scripted lines written into moto's Logs backend), ``_operations`` (names of S3, STS, IAM, SQS
and EventBridge calls for the counters), ``_http`` (moto's request handler with keep-alive), ``_controls`` (the
control methods both classes share). None of them imports this package, so the import graph has no cycle.
:class:`LocalGlueControl` needs the standard library only (boto3 for the helpers that make S3 objects and SQS
queues). Each :class:`LocalGlue` keeps its jobs, buckets, roles, queues and rules under its own moto account, so
several can run in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from airflow_glue_runs.local_glue._controls import _Controls
from airflow_glue_runs.local_glue._events import EVENT_PATTERN
from airflow_glue_runs.local_glue._faults import FAULT_KINDS
from airflow_glue_runs.local_glue._http import _handler_class
from airflow_glue_runs.local_glue._moto import moto_app
from airflow_glue_runs.local_glue._rules import JOB_RUN_STATES
from airflow_glue_runs.local_glue._service import _CONTROL_PATH, _Service

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_glue import GlueClient
    from werkzeug.serving import BaseWSGIServer

__all__ = ["EVENT_PATTERN", "FAULT_KINDS", "JOB_RUN_STATES", "LocalGlue", "LocalGlueControl", "main"]

log = logging.getLogger(__name__)


LOCAL_EXTRA_HINT = "pip install 'airflow-glue-runs[local]'"


def _require_local_extra() -> None:
    """Fail with the install command when moto's server (the ``local`` extra) is not installed."""
    try:
        import moto.moto_server.werkzeug_app  # noqa: F401
        import werkzeug.serving  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            f"The local Glue runs on moto's server, which is not installed ({error}): {LOCAL_EXTRA_HINT}"
        ) from error


class LocalGlue(_Controls):
    """A local AWS Glue on 127.0.0.1: moto's server in a background thread, with scripted runs and faults.

    Start with ``with LocalGlue() as glue:`` or ``glue = LocalGlue().start()`` ... ``glue.stop()``.

    :param host: the address to bind.
    :param port: the port to bind; 0 lets the OS pick a free one.
    :param region_name: the region of :meth:`client`, :meth:`airflow_connection` and the control methods.
    :param clock: returns the current time in epoch seconds; tests pass a fake one to drive run timelines.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region_name: str = "us-east-1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.region_name = region_name
        self.clock = clock
        self._service: _Service | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Self:
        """Bind the port and serve from a daemon thread; raise RuntimeError if already started or moto is missing."""
        _require_local_extra()
        from werkzeug.serving import make_server

        with self._lock:
            if self._server is not None:
                raise RuntimeError("LocalGlue is already started")
            service = _Service(moto_app(), self.clock, self.region_name)
            server = make_server(self.host, self.port, service, threaded=True, request_handler=_handler_class())
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-glue", daemon=True
            )
            thread.start()
            self._service, self._server, self._thread = service, server, thread
        log.info("local Glue listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop serving, close all connections and the socket, and forget the jobs; do nothing if stopped."""
        with self._lock:
            server, thread, service = self._server, self._thread, self._service
            if server is None or thread is None or service is None:
                return
            server.shutdown()
            for connection in list(service.sockets):
                with contextlib.suppress(OSError):  # wakes the threads waiting on kept-alive connections
                    connection.shutdown(socket.SHUT_RDWR)
            server.server_close()
            thread.join()
            service.control("reset", {})  # under the service lock: a request may still be finishing
            service.close()  # the event emitter's thread
            self._server = self._thread = self._service = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()  # `with LocalGlue().start() as glue:` works too

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """Return ``http://HOST:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("LocalGlue is not started")
        return f"http://{self.host}:{self._server.port}"  # werkzeug sets port to the bound one

    def client(self, *, config: Config | None = None) -> GlueClient:
        """Return a boto3 Glue client for this endpoint, with dummy credentials.

        :param config: botocore config, e.g. ``Config(retries={"total_max_attempts": 1})`` to see every fault.
        """
        return _glue_client(self.endpoint_url, self.region_name, config)

    def airflow_connection(self) -> str:
        """Return an Airflow ``aws`` connection as JSON, for ``AIRFLOW_CONN_<ID>``."""
        return _connection_json(self.endpoint_url, self.region_name)

    def _control(self, method: str, **arguments: Any) -> Any:
        if self._service is None:
            raise RuntimeError("LocalGlue is not started")
        return self._service.control(method, arguments)


def _glue_client(endpoint_url: str, region_name: str, config: Config | None) -> GlueClient:
    import boto3

    return boto3.client(
        "glue",
        endpoint_url=endpoint_url,
        region_name=region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def _connection_json(endpoint_url: str, region_name: str) -> str:
    extra = {"region_name": region_name, "endpoint_url": endpoint_url}
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra})


class LocalGlueControl(_Controls):
    """Drive a :class:`LocalGlue` running in another process (e.g. the CLI) over HTTP; standard library only.

    Bad arguments raise ValueError and missing jobs or runs LookupError, as with :class:`LocalGlue`.

    :param endpoint_url: the local Glue's ``http://HOST:PORT``.
    :param timeout: seconds to wait for each answer.
    """

    def __init__(self, endpoint_url: str, *, region_name: str = "us-east-1", timeout: float = 10.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region_name = region_name
        self.timeout = timeout

    def client(self, *, config: Config | None = None) -> GlueClient:
        """Return a boto3 Glue client for this endpoint, with dummy credentials."""
        return _glue_client(self.endpoint_url, self.region_name, config)

    def airflow_connection(self) -> str:
        """Return an Airflow ``aws`` connection as JSON, for ``AIRFLOW_CONN_<ID>``."""
        return _connection_json(self.endpoint_url, self.region_name)

    def _control(self, method: str, **arguments: Any) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint_url}{_CONTROL_PATH}{method}",
            data=json.dumps(arguments).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())["result"]
        except urllib.error.HTTPError as error:
            with error:
                message = json.loads(error.read() or b"{}").get("message", f"HTTP {error.code}")
            raise (LookupError(message) if error.code == 404 else ValueError(message)) from None


@contextlib.contextmanager
def local_glue_process(*, log_path: Path | None = None, startup_timeout: float = 30.0) -> Iterator[LocalGlueControl]:
    """Run the local Glue in a child process for the block and yield its control; always stop the process.

    For Airflow (or a benchmark) in other processes, where an in-process :class:`LocalGlue` would share the
    interpreter with the code under test.

    :param log_path: where the server's output goes (default: discarded).
    :param startup_timeout: seconds to wait for the server to serve.
    """
    with tempfile.TemporaryDirectory(prefix="local-glue-") as tmp:
        port_file = Path(tmp) / "endpoint"
        with open(log_path or os.devnull, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_glue_runs.local_glue", "--port-file", str(port_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + startup_timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the local Glue did not start (exit code {proc.poll()}; log: {log_path})")
                time.sleep(0.05)
            yield LocalGlueControl(port_file.read_text().strip())
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run a local Glue in the foreground until SIGTERM or SIGINT, printing its endpoint URL.

    :param argv: command line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m airflow_glue_runs.local_glue", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: a free one)")
    parser.add_argument("--port-file", type=Path, help="write the endpoint URL to this file once serving")
    parser.add_argument("--region", default="us-east-1", help="region of the control API (default us-east-1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Block the signals before any thread starts (threads inherit the mask), then wait for one here.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    with LocalGlue(host=args.host, port=args.port, region_name=args.region) as glue:
        try:
            if args.port_file is not None:
                partial = args.port_file.with_name(args.port_file.name + ".partial")
                partial.write_text(glue.endpoint_url + "\n")
                os.replace(partial, args.port_file)  # readers never see a half-written file
            print(glue.endpoint_url, flush=True)  # after the port file: a reader of either may use both
            received = signal.sigwait(stop_signals)
            log.info("local Glue stopping on %s", signal.Signals(received).name)
        finally:
            if args.port_file is not None:
                args.port_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
