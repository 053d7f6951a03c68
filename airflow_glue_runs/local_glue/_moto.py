"""Everything that touches moto's Glue internals: the scripted run class, the backends, the WSGI middleware.

moto is pinned (``moto[server]>=5.2.5,<5.3``) because this module relies on its internals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import logging
import os
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from airflow_glue_runs.local_glue import _logs
from airflow_glue_runs.local_glue._http import DROPPED, discard, respond
from airflow_glue_runs.local_glue._rules import (
    _ACTIVE,
    _FINAL,
    _WORKER_TYPES,
    JOB_RUN_STATES,
    _admit_queued,
    _choice,
    _default_timeout,
    _GlueError,
    _Plan,
    _Run,
    _state_at,
)

log = logging.getLogger(__name__)


def moto_app() -> Callable[..., Iterable[bytes]]:
    """Return moto's WSGI application for every service (the local Glue answers Glue calls in front of it)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: Callable[..., Iterable[bytes]] = DomainDispatcherApplication(create_backend_app)
    return app


_INJECTED = "(local Glue injected fault)"
# Faults answered with an HTTP error: kind -> (status, error code, default message).
_HTTP_FAULTS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "server_error": (500, "InternalServiceException", f"Internal service error {_INJECTED}"),
    "unavailable": (503, "ServiceUnavailable", f"Service unavailable {_INJECTED}"),
}
_GLUE_ERROR_CODES = (
    "AccessDeniedException",
    "ConcurrentRunsExceededException",
    "EntityNotFoundException",
    "InternalServiceException",
    "InvalidInputException",
    "OperationTimeoutException",
    "ResourceNumberLimitExceededException",
    "ResourceNotFoundException",  # CloudWatch Logs' answer for a missing group or stream
)
FAULT_KINDS = (*_HTTP_FAULTS, "drop", "drop_response", *_GLUE_ERROR_CODES)
_CONTROL_PATH = "/_local_glue/"
_CONTROL_METHODS = (
    *("inject_fault", "calls", "connections", "reset_counters"),
    *("set_run_state", "run_count", "first_reads", "reset", "create_job"),
)
# A NextToken starting with "//" base64-decodes to a first byte >= 0xFC, never valid UTF-8: see _opaque_token.
_TOKEN_PREFIX = "//local-glue/"
_CREDENTIAL_REGION = re.compile(r"Credential=[^/,\s]+/[^/]+/([^/]+)/")
_accounts = itertools.count(123456789012)  # moto's default account first, then one more per LocalGlue


@cache
def _scripted_run_class() -> type[Any]:
    """Build (once) the moto ``FakeJobRun`` subclass whose state comes from a :class:`_Run` timeline."""
    from moto.glue.models import FakeJobRun

    class ScriptedJobRun(FakeJobRun):
        """A moto job run that ignores moto's state manager: its timeline decides its state."""

        script: _Run
        extra: dict[str, Any]
        clock: Callable[[], float]

        def advance(self) -> None:
            """Do nothing: a moto state-manager transition left set must not move a scripted run."""

        @property
        def status(self) -> str | None:
            return self.script.timeline(self.clock())[-1].state

        @status.setter
        def status(self, value: str) -> None:
            self.script.force(self.clock(), value, None)

        def as_dict(self) -> dict[str, Any]:
            # No first-read bookkeeping here: moto 5.2.6 describes every run of a job to build one GetJobRuns page.
            return self.script.describe(super().as_dict(), self.clock(), self.extra)

    return ScriptedJobRun


@cache
def _glue_operations() -> tuple[str, ...]:
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_service_model("glue").operation_names))


def _glue_backends() -> Any:
    from moto.glue.models import glue_backends

    return glue_backends


@dataclasses.dataclass
class _Fault:
    kind: str
    message: str | None
    remaining: int


class _Service:
    """The WSGI middleware in front of moto: counters, faults, two Glue operations and the control API."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]], clock: Callable[[], float], region: str) -> None:
        self.moto_app = moto_app
        self.clock = clock
        self.region = region
        self.own_account = str(next(_accounts))
        # One lock serialises Glue requests and control calls: moto's backends are not thread-safe.
        self.lock = threading.RLock()
        self.call_counts: Counter[str] = Counter()
        self.peers: set[tuple[str, int]] = set()
        self.faults: dict[str, list[_Fault]] = {}
        self.sockets: set[socket.socket] = set()

    @property
    def account(self) -> str:
        """Return the moto account of this local Glue (moto gives ``MOTO_ACCOUNT_ID`` precedence, so do we)."""
        return os.environ.get("MOTO_ACCOUNT_ID") or self.own_account

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer one WSGI request."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(_CONTROL_PATH):
            return self._control_request(path.removeprefix(_CONTROL_PATH), environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(_logs.LOGS_TARGET_PREFIX):
            return self._logs_request(target.removeprefix(_logs.LOGS_TARGET_PREFIX), environ, start_response)
        if not target.startswith("AWSGlue."):  # other services and moto's own API pass through
            return self.moto_app(environ, start_response)
        operation = target.removeprefix("AWSGlue.")
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account  # moto reads the account from this header
        region = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        with self.lock:
            self.call_counts[operation] += 1
            self.peers.add((environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0)))
            fault = self._take_fault(operation)
            if fault is not None and fault.kind == "drop_response":
                # Glue acts on the request; the answer is lost on the way back (the client cannot tell).
                self._answer(operation, region.group(1) if region else self.region, environ, discard)
                return self._drop(environ)
            if fault is not None:
                return self._fault(fault, environ, start_response)
            return self._answer(operation, region.group(1) if region else self.region, environ, start_response)

    def _logs_request(
        self, operation: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Count and fault a CloudWatch Logs call like a Glue one; write the scripted lines due; let moto answer."""
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account
        region = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        with self.lock:
            self.call_counts[operation] += 1
            fault = self._take_fault(operation, wildcard=False)
            if fault is not None:
                return self._fault(fault, environ, start_response)
            _logs.write_due_logs(_glue_backends(), self.account, self.clock())
            region_name = region.group(1) if region else self.region
            answer = _logs.shape_filter_request(operation, region_name, self.account, environ)
            return respond(start_response, *answer) if answer else self.moto_app(environ, start_response)

    def _answer(
        self, operation: str, region: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            if operation in ("StartJobRun", "BatchStopJobRun"):
                body = json.loads(environ["wsgi.input"].read() or b"{}")
                backend = _glue_backends()[self.account][region]
                handler = self._start_job_run if operation == "StartJobRun" else self._batch_stop_job_run
                return respond(start_response, 200, handler(backend, body))
            request = _opaque_token(environ["wsgi.input"].read(), wrap=False)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(request), str(len(request))
            answer = b"".join(self.moto_app(environ, start_response))
            if operation in ("GetJobRun", "GetJobRuns"):
                self._mark_first_reads(region, request, answer)
            return [_opaque_token(answer, wrap=True)]
        except _GlueError as error:
            payload = {"__type": error.code, "message": error.message}
            return respond(start_response, error.status, payload)

    def _mark_first_reads(self, region: str, request: bytes, answer: bytes) -> None:
        """Record when a client first saw each run of a GetJobRun answer or GetJobRuns page (not on errors)."""
        data = json.loads(answer or b"{}")
        seen = {run.get("Id") for run in [data.get("JobRun") or {}, *(data.get("JobRuns") or [])]} - {None}
        job = _glue_backends()[self.account][region].jobs.get(json.loads(request or b"{}").get("JobName"))
        if not seen or job is None:
            return
        now = self.clock()
        for run in job.job_runs:
            if run.job_run_id in seen and hasattr(run, "script") and run.script.first_read is None:
                run.script.first_read = now

    # The two Glue operations implemented here.

    def _start_job_run(self, backend: Any, body: dict[str, Any]) -> dict[str, Any]:
        job = _job(backend, body.get("JobName"))
        _check_start_request(body)
        arguments = {**job.default_arguments, **(body.get("Arguments") or {})}
        arguments.update(job.non_overridable_arguments or {})
        try:
            plan = _Plan.from_arguments(arguments)
        except ValueError as error:
            raise _GlueError("InvalidInputException", str(error)) from None
        now = self.clock()
        queuing = bool(body.get("JobRunQueuingEnabled", False))
        peers = _peers_of(job)
        runs, max_concurrent = peers()
        _admit_queued(runs, max_concurrent, now)
        if not queuing and sum(_state_at(r.steps(), now) in _ACTIVE for r in runs) >= max_concurrent:
            raise _GlueError("ConcurrentRunsExceededException", f"Concurrent runs exceeded for {job.name}")
        run = _scripted_run_class()(
            job_name=job.name,
            job_run_id=body.get("JobRunId"),
            arguments=arguments,
            allocated_capacity=body.get("AllocatedCapacity") or job.allocated_capacity,
            max_capacity=body.get("MaxCapacity") or job.max_capacity,
            timeout=body.get("Timeout") or job.timeout,
            worker_type=body.get("WorkerType") or job.worker_type,
            security_configuration=body.get("SecurityConfiguration") or job.security_configuration,
            number_of_workers=body.get("NumberOfWorkers") or job.number_of_workers,
            notification_property=body.get("NotificationProperty") or job.notification_property,
        )
        run.clock = self.clock
        timeout = body.get("Timeout") or job.timeout or _default_timeout(job.glue_version)
        run.script = _Run(created=now, plan=plan, queuing=queuing, timeout_minutes=timeout, peers=peers)
        run.extra = {"GlueVersion": job.glue_version}
        run.extra["ExecutionClass"] = body.get("ExecutionClass") or job.execution_class
        if body.get("ExecutionRoleSessionPolicy"):
            run.extra["ExecutionRoleSessionPolicy"] = body["ExecutionRoleSessionPolicy"]
        job.job_runs.insert(0, run)  # newest first, as AWS lists them (moto's paginator follows the list)
        try:
            run.log_script = _logs.LogScript(run.job_run_id, now, arguments, _logs.DEFAULT_LOG_GROUP)
        except ValueError as error:
            raise _GlueError("InvalidInputException", str(error)) from None
        run.script.timeline(now)  # a queued run takes a free slot at once
        return {"JobRunId": run.job_run_id}

    def _batch_stop_job_run(self, backend: Any, body: dict[str, Any]) -> dict[str, Any]:
        job = _job(backend, body.get("JobName"))
        run_ids = body.get("JobRunIds") or []
        if not 1 <= len(run_ids) <= 25:
            raise _GlueError("InvalidInputException", "JobRunIds must hold between 1 and 25 run ids")
        now = self.clock()
        stopped: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for run_id in run_ids:
            run = _find_run(job, run_id)
            state = run.script.timeline(now)[-1].state if run is not None else None
            if run is None:
                code, message = "EntityNotFoundException", f"Job run {run_id} not found"
            elif state in _FINAL:
                code, message = "InvalidInputException", f"Job run {run_id} is already in a terminal state"
                message += f" ({state})"
            else:
                if state != "STOPPING":
                    run.script.force(now, "STOPPING", None)
                stopped.append({"JobName": job.name, "JobRunId": run_id})
                continue
            detail = {"ErrorCode": code, "ErrorMessage": message}
            errors.append({"JobName": job.name, "JobRunId": run_id, "ErrorDetail": detail})
        return {"SuccessfulSubmissions": stopped, "Errors": errors}

    # Faults.

    def _take_fault(self, operation: str, *, wildcard: bool = True) -> _Fault | None:
        for key in (operation, "*") if wildcard else (operation,):
            queue = self.faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining == 0:
                    queue.pop(0)
                return fault
        return None

    @staticmethod
    def _drop(environ: dict[str, Any]) -> Iterable[bytes]:
        environ[DROPPED] = True
        with contextlib.suppress(OSError):
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return []

    @staticmethod
    def _fault(fault: _Fault, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if fault.kind == "drop":
            # Close the TCP connection without an answer, as a dying load balancer would.
            return _Service._drop(environ)
        status, code, message = _HTTP_FAULTS.get(fault.kind) or (0, fault.kind, f"{fault.kind} {_INJECTED}")
        error = _GlueError(code, fault.message or message, status or None)
        return respond(start_response, error.status, {"__type": error.code, "message": error.message})

    # The control API: the same for LocalGlue (in process) and LocalGlueControl (over HTTP).

    def control(self, method: str, arguments: Mapping[str, Any]) -> Any:
        """Run one control method; raise ValueError for a bad argument, LookupError for a missing job or run.

        :param method: one of the control methods (``inject_fault``, ``calls``...).
        :param arguments: its keyword arguments.
        """
        _choice("method", method, _CONTROL_METHODS)
        with self.lock:
            return getattr(self, "control_" + method)(**arguments)

    def control_inject_fault(self, operation: str, fault: str, times: int = 1, message: str | None = None) -> None:
        if operation != "*":
            _choice("operation", operation, ("*", *_glue_operations(), *_logs.logs_operations()))
        _choice("fault", fault, FAULT_KINDS)
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive integer; got {times!r}")
        self.faults.setdefault(operation, []).append(_Fault(fault, message, times))

    def control_calls(self) -> dict[str, int]:
        return dict(self.call_counts)

    def control_connections(self) -> int:
        return len(self.peers)

    def control_reset_counters(self) -> None:
        self.call_counts.clear()
        self.peers.clear()

    def control_set_run_state(self, job_name: str, run_id: str, state: str, error_message: str | None = None) -> None:
        _choice("state", state, JOB_RUN_STATES)
        run = _find_run(self._control_job(job_name), run_id)
        if run is None:
            raise LookupError(f"no run {run_id!r} of job {job_name!r}")
        now = self.clock()
        run.script.timeline(now)  # settle queue slots before the forced state cuts the timeline
        run.script.force(now, state, error_message)

    def control_first_reads(self, job_name: str) -> dict[str, float]:
        return {
            run.job_run_id: run.script.first_read
            for run in self._control_job(job_name).job_runs
            if run.script.first_read is not None
        }

    def control_run_count(self, job_name: str) -> int:
        return len(self._control_job(job_name).job_runs)

    def control_reset(self) -> None:
        _glue_backends()[self.account].reset()
        _logs.reset_logs(self.account)
        self.faults.clear()
        self.control_reset_counters()

    def control_create_job(
        self,
        name: str,
        max_concurrent_runs: int = 1,
        default_arguments: dict[str, str] | None = None,
        timeout: int | None = None,
        glue_version: str = "4.0",
        worker_type: str | None = "G.1X",
        number_of_workers: int | None = 2,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        if not isinstance(max_concurrent_runs, int) or max_concurrent_runs < 1:
            raise ValueError(f"max_concurrent_runs must be a positive integer; got {max_concurrent_runs!r}")
        if worker_type is not None:
            _choice("worker_type", worker_type, _WORKER_TYPES)
        _Plan.from_arguments(default_arguments or {})  # a bad plan fails here, not at the first StartJobRun
        _logs.parse_log_lines((default_arguments or {}).get(_logs.LOG_LINES_ARGUMENT, "[]"))
        unset = (
            *("description", "log_uri", "non_overridable_arguments", "connections", "allocated_capacity"),
            *("max_capacity", "security_configuration", "tags", "notification_property"),
            *("code_gen_configuration_nodes", "execution_class", "source_control_details"),
        )
        _glue_backends()[self.account][self.region].create_job(
            **dict.fromkeys(unset),
            name=name,
            role=f"arn:aws:iam::{self.account}:role/local-glue",
            command={"Name": "glueetl", "ScriptLocation": f"s3://local-glue/{name}.py", "PythonVersion": "3"},
            execution_property={"MaxConcurrentRuns": max_concurrent_runs},
            default_arguments=dict(default_arguments or {}),
            max_retries=0,
            timeout=timeout,
            glue_version=glue_version,
            worker_type=worker_type,
            number_of_workers=number_of_workers,
        )

    def _control_job(self, job_name: str) -> Any:
        jobs = _glue_backends()[self.account][self.region].jobs
        if job_name not in jobs:
            raise LookupError(f"no job {job_name!r}")
        return jobs[job_name]

    def _control_request(self, method: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            arguments = json.loads(environ["wsgi.input"].read() or b"{}")
            if not isinstance(arguments, dict):
                raise ValueError("the request body must be a JSON object of keyword arguments")
            return respond(start_response, 200, {"result": self.control(method, arguments)})
        except (ValueError, TypeError) as error:
            return respond(start_response, 400, {"error": "ValueError", "message": str(error)})
        except LookupError as error:
            return respond(start_response, 404, {"error": "LookupError", "message": str(error.args[0])})


def _opaque_token(body: bytes, *, wrap: bool) -> bytes:
    """Wrap moto's NextToken in an answer (or unwrap it in a request) so botocore treats it as opaque.

    moto's token is base64 JSON, which botocore's paginator mistakes for its own resume token when a page's
    NextToken is passed as ``StartingToken``, and then sends moto's token fields as request parameters. Glue's
    own tokens are opaque: botocore fails to decode them and passes them through, as it does with ours.
    The handler sets Content-Length from the rewritten body.
    """
    if b'"NextToken"' not in body:
        return body
    data = json.loads(body)
    token = data.get("NextToken")
    if not isinstance(token, str):
        return body
    data["NextToken"] = _TOKEN_PREFIX + token if wrap else token.removeprefix(_TOKEN_PREFIX)
    return json.dumps(data).encode()


def _job(backend: Any, name: object) -> Any:
    if not isinstance(name, str) or name not in backend.jobs:
        raise _GlueError("EntityNotFoundException", f"Job {name} not found.")
    return backend.jobs[name]


def _find_run(job: Any, run_id: str) -> Any:
    return next((run for run in job.job_runs if run.job_run_id == run_id and hasattr(run, "script")), None)


def _peers_of(job: Any) -> Callable[[], tuple[list[_Run], int]]:
    def peers() -> tuple[list[_Run], int]:
        runs = [run.script for run in reversed(job.job_runs) if hasattr(run, "script")]
        return runs, int(job.execution_property.get("MaxConcurrentRuns", 1))

    return peers


def _check_start_request(body: Mapping[str, Any]) -> None:
    """Reject StartJobRun inputs that Glue rejects, as InvalidInputException."""
    problems = []
    if body.get("AllocatedCapacity") and body.get("MaxCapacity"):
        problems.append("Please set only Allocated Capacity or Max Capacity")
    if body.get("Timeout") is not None and body["Timeout"] < 1:
        problems.append("Timeout must be at least 1 minute")
    if body.get("WorkerType") is not None and body["WorkerType"] not in _WORKER_TYPES:
        problems.append(f"WorkerType must be one of {', '.join(_WORKER_TYPES)}")
    if body.get("ExecutionClass") is not None and body["ExecutionClass"] not in ("FLEX", "STANDARD"):
        problems.append("ExecutionClass must be FLEX or STANDARD")
    if problems:
        raise _GlueError("InvalidInputException", "; ".join(problems))
