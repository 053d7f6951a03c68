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

``StartJobRun`` and ``BatchStopJobRun`` are implemented here on moto's backend objects; every other call goes to
moto unchanged. moto is imported by this module only (extra ``airflow-glue-runs[local]``, pinned because this
module relies on its internals); :class:`LocalGlueControl` needs the standard library only. Each
:class:`LocalGlue` keeps its jobs under its own moto account, so several can run in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import itertools
import json
import logging
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self, cast

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_glue import GlueClient
    from werkzeug.serving import BaseWSGIServer

__all__ = ["FAULT_KINDS", "JOB_RUN_STATES", "LocalGlue", "LocalGlueControl", "main"]

log = logging.getLogger(__name__)

# The server side of Glue's rules, kept apart from the provider's own state model on purpose: a fake that
# shared the code under test's vocabulary could not catch its mistakes.
JOB_RUN_STATES = (
    *("STARTING", "RUNNING", "STOPPING", "STOPPED", "SUCCEEDED"),
    *("FAILED", "TIMEOUT", "ERROR", "WAITING", "EXPIRED"),
)
_FINAL = frozenset({"STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"})
_ACTIVE = frozenset({"STARTING", "RUNNING", "STOPPING"})  # the states that hold one of MaxConcurrentRuns
_PLAN_FINAL_STATES = ("SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED")
_DEFAULT_MESSAGES = {
    "FAILED": "An error occurred while calling o123.pyWriteDynamicFrame. Job aborted due to stage failure: "
    "Task 0 in stage 1.0 failed 4 times (local Glue scripted failure)",
    "ERROR": "Failed to start the job run: an internal error occurred while allocating resources (local Glue)",
    "TIMEOUT": "Job run timed out: it ran longer than its Timeout (local Glue)",
    "EXPIRED": "Job run expired: it waited in the queue and never started (local Glue)",
    "STOPPED": "Job run was stopped before it finished (local Glue scripted stop)",
}
_WAITING_DETAIL = "Job run is waiting for resources: max concurrent runs reached (local Glue)"
_PLAN_PREFIX = "--local-glue-"
_PLAN_KEYS = ("duration", "final-state", "error-message", "queue-seconds", "stop-seconds")
_DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}
_WORKER_TYPES = ("Standard", *_DPU_PER_WORKER)
_MAX_STARTING_SECONDS = 0.5

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
)
FAULT_KINDS = (*_HTTP_FAULTS, "drop", "drop_response", *_GLUE_ERROR_CODES)
_DROPPED = "local_glue.dropped"  # environ key: the middleware closed the connection, send nothing
_CONTROL_PATH = "/_local_glue/"
_CONTROL_METHODS = (
    *("inject_fault", "calls", "connections", "reset_counters"),
    *("set_run_state", "run_count", "first_reads", "reset", "create_job"),
)
# A NextToken starting with "//" base64-decodes to a first byte >= 0xFC, never valid UTF-8: see _opaque_token.
_TOKEN_PREFIX = "//local-glue/"
_CREDENTIAL_REGION = re.compile(r"Credential=[^/,\s]+/[^/]+/([^/]+)/")
_accounts = itertools.count(123456789012)  # moto's default account first, then one more per LocalGlue


class _GlueError(Exception):
    """A Glue error answer, ``{"__type": code, "message": message}``, with its HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or (500 if code == "InternalServiceException" else 400)


def _choice(parameter: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming the parameter."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{parameter} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _seconds(parameter: str, value: str | float) -> float:
    """Parse a finite, non-negative number of seconds, or raise a ValueError naming the parameter."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{parameter} must be a non-negative number of seconds; got {value!r}")
    return seconds


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What a run should do, read from its ``--local-glue-*`` arguments."""

    duration: float = 0.0
    final_state: str = "SUCCEEDED"
    error_message: str | None = None
    queue_seconds: float = 0.0
    stop_seconds: float = 1.0

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, str]) -> _Plan:
        """Read the plan from a run's merged arguments; raise ValueError on unknown keys or bad values.

        :param arguments: the run's arguments, job defaults included.
        """
        given = {k.removeprefix(_PLAN_PREFIX): v for k, v in arguments.items() if k.startswith(_PLAN_PREFIX)}
        for key in sorted(set(given) - set(_PLAN_KEYS)):
            _choice("local Glue argument", _PLAN_PREFIX + key, (_PLAN_PREFIX + k for k in _PLAN_KEYS))
        final_state = given.get("final-state", "SUCCEEDED")
        return cls(
            duration=_seconds(f"{_PLAN_PREFIX}duration", given.get("duration", 0)),
            final_state=_choice(f"{_PLAN_PREFIX}final-state", final_state, _PLAN_FINAL_STATES),
            error_message=given.get("error-message"),
            queue_seconds=_seconds(f"{_PLAN_PREFIX}queue-seconds", given.get("queue-seconds", 0)),
            stop_seconds=_seconds(f"{_PLAN_PREFIX}stop-seconds", given.get("stop-seconds", 1.0)),
        )


class _Step(NamedTuple):
    """One state change of a run: from ``at`` (epoch seconds) on, the run is in ``state``."""

    at: float
    state: str
    message: str | None = None


def _state_at(steps: Sequence[_Step], t: float) -> str | None:
    """Return the state a timeline shows at time ``t`` (None before the run existed)."""
    state = None
    for step in steps:
        if step.at > t:
            break
        state = step.state
    return state


class _Run:
    """The scripted life of one job run: its plan, when it got a slot, and the states forced on it since."""

    def __init__(
        self,
        *,
        created: float,
        plan: _Plan,
        queuing: bool,
        timeout_minutes: int,
        peers: Callable[[], tuple[list[_Run], int]],
    ) -> None:
        self.created = created
        self.plan = plan
        self.queuing = queuing
        self.timeout_minutes = timeout_minutes
        self.peers = peers  # the job's runs, oldest first, and its MaxConcurrentRuns
        self.admittable = plan.final_state != "EXPIRED"  # an EXPIRED plan never starts
        # A run that cannot be queued holds a slot from creation: StartJobRun refused it if none was free.
        self.admitted_at: float | None = None if queuing or not self.admittable else created
        self.overrides: list[_Step] = []
        self.first_read: float | None = None  # when a client first saw this run (GetJobRun or a GetJobRuns page)

    @property
    def ready_at(self) -> float:
        """Return when the run's scripted queue time is over and it may take a free slot."""
        return self.created + (self.plan.queue_seconds if self.queuing else 0.0)

    @property
    def give_up_at(self) -> float:
        """Return when a run still waiting stops waiting: its Timeout, or the first state forced on it."""
        return min([self.created + self.timeout_minutes * 60, *(o.at for o in self.overrides)])

    def steps(self) -> list[_Step]:
        """Return the whole timeline as known now, future steps included, without handing out queue slots."""
        plan, created, admitted = self.plan, self.created, self.admitted_at
        steps = [_Step(created, "WAITING")] if admitted is None or admitted > created else []
        message = plan.error_message
        if not self.admittable:
            steps.append(_Step(self.ready_at, "EXPIRED", message or _DEFAULT_MESSAGES["EXPIRED"]))
        elif admitted is None:  # still queued: Glue expires a queued run when its Timeout passes
            steps.append(_Step(self.give_up_at, "EXPIRED", _DEFAULT_MESSAGES["EXPIRED"]))
        else:
            timeout = self.timeout_minutes * 60.0
            end = admitted + min(plan.duration, timeout)
            steps.append(_Step(admitted, "STARTING"))
            steps.append(_Step(admitted + min(_MAX_STARTING_SECONDS, plan.duration / 4), "RUNNING"))
            final_state = "TIMEOUT" if plan.duration > timeout else plan.final_state
            steps.append(_Step(end, final_state, message or _DEFAULT_MESSAGES.get(final_state)))
        for forced in self.overrides:
            steps = [step for step in steps if step.at < forced.at] + [forced]
            if forced.state == "STOPPING":
                steps.append(_Step(forced.at + plan.stop_seconds, "STOPPED", forced.message))
        return steps

    def timeline(self, now: float) -> list[_Step]:
        """Return the steps up to ``now``, first giving the job's queued runs the slots that freed up."""
        if self.admitted_at is None and self.admittable:
            _admit_queued(*self.peers(), now)
        return [step for step in self.steps() if step.at <= now]

    def force(self, at: float, state: str, message: str | None) -> None:
        """Put the run into ``state`` from ``at`` on; STOPPING moves on to STOPPED after the stop time."""
        self.overrides.append(_Step(at, state, message or _DEFAULT_MESSAGES.get(state)))

    def describe(self, base: dict[str, Any], now: float, extra: Mapping[str, Any]) -> dict[str, Any]:
        """Return moto's JobRun dict with the scripted state and the fields moto lacks or fakes.

        :param base: ``FakeJobRun.as_dict()`` of the run.
        :param now: the current time, epoch seconds.
        :param extra: StartJobRun fields recorded as they are (GlueVersion, ExecutionClass...).
        """
        steps = self.timeline(now)
        last = steps[-1]
        ends = [step.at for step in steps[1:]] + [now]
        execution_time = int(
            sum(end - s.at for s, end in zip(steps, ends, strict=True) if s.state in ("STARTING", "RUNNING"))
        )
        if base.get("WorkerType") in _DPU_PER_WORKER and base.get("NumberOfWorkers"):
            dpus = _DPU_PER_WORKER[base["WorkerType"]] * base["NumberOfWorkers"]
        else:  # Standard workers or a MaxCapacity job
            dpus = float(base.get("MaxCapacity") or base.get("AllocatedCapacity") or 10.0)
        described = {k: v for k, v in base.items() if k not in ("CompletedOn", "ErrorMessage", "StateDetail")}
        described.update(
            extra,
            JobRunState=last.state,
            StartedOn=_datetime(self.created),
            LastModifiedOn=_datetime(last.at),
            ExecutionTime=execution_time,
            DPUSeconds=execution_time * dpus,
            MaxCapacity=dpus,
            Attempt=0,
            Timeout=self.timeout_minutes,
            JobRunQueuingEnabled=self.queuing,
            LogGroupName="/aws-glue/jobs",
        )
        if last.state in _FINAL:
            described["CompletedOn"] = _datetime(last.at)
            if last.message:
                described["ErrorMessage"] = last.message
        if any(step.state == "WAITING" for step in steps):
            described["StateDetail"] = _WAITING_DETAIL
        return described


def _admit_queued(runs: Sequence[_Run], max_concurrent: int, now: float) -> None:
    """Give queued runs a slot, oldest first, at the first moment up to ``now`` when one was free.

    Slots are handed out lazily when runs are read: the past does not change, so deciding late decides the same.
    """
    pending = [run for run in runs if run.admitted_at is None and run.admittable]
    t = min((run.ready_at for run in pending), default=math.inf)
    while pending and t <= now:
        for run in list(pending):
            if t >= run.give_up_at:
                pending.remove(run)
            elif run.ready_at <= t and sum(_state_at(r.steps(), t) in _ACTIVE for r in runs) < max_concurrent:
                run.admitted_at = t
                pending.remove(run)
        changes = [run.ready_at for run in pending]
        changes += [step.at for run in runs if run.admitted_at is not None for step in run.steps()]
        t = min((change for change in changes if change > t), default=math.inf)


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _default_timeout(glue_version: str | None) -> int:
    """Return Glue's default run Timeout in minutes: 480 from Glue 5.0 on, 2880 before."""
    try:
        return 480 if float(glue_version or 0) >= 5.0 else 2880
    except ValueError:
        return 2880


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
            now = self.clock()
            if self.script.first_read is None:
                self.script.first_read = now
            return self.script.describe(super().as_dict(), now, self.extra)

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
                self._answer(operation, region.group(1) if region else self.region, environ, _discard)
                return self._drop(environ)
            if fault is not None:
                return self._fault(fault, environ, start_response)
            return self._answer(operation, region.group(1) if region else self.region, environ, start_response)

    def _answer(
        self, operation: str, region: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            if operation in ("StartJobRun", "BatchStopJobRun"):
                body = json.loads(environ["wsgi.input"].read() or b"{}")
                backend = _glue_backends()[self.account][region]
                handler = self._start_job_run if operation == "StartJobRun" else self._batch_stop_job_run
                return _respond(start_response, 200, handler(backend, body))
            request = _opaque_token(environ["wsgi.input"].read(), wrap=False)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(request), str(len(request))
            return [_opaque_token(b"".join(self.moto_app(environ, start_response)), wrap=True)]
        except _GlueError as error:
            payload = {"__type": error.code, "message": error.message}
            return _respond(start_response, error.status, payload)

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
        job.job_runs.append(run)
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

    def _take_fault(self, operation: str) -> _Fault | None:
        for key in (operation, "*"):
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
        environ[_DROPPED] = True
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
        return _respond(start_response, error.status, {"__type": error.code, "message": error.message})

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
            _choice("operation", operation, ("*", *_glue_operations()))
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
            return _respond(start_response, 200, {"result": self.control(method, arguments)})
        except (ValueError, TypeError) as error:
            return _respond(start_response, 400, {"error": "ValueError", "message": str(error)})
        except LookupError as error:
            return _respond(start_response, 404, {"error": "LookupError", "message": str(error.args[0])})


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
        runs = [run.script for run in job.job_runs if hasattr(run, "script")]
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


def _discard(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
    """A WSGI start_response for an answer that will never be sent."""
    return lambda data: None


def _respond(start_response: Callable[..., Any], status: int, payload: object) -> list[bytes]:
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
            cast(_Service, self.server.app).sockets.add(self.connection)

        def finish(self) -> None:
            cast(_Service, self.server.app).sockets.discard(self.connection)
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
            if environ.get(_DROPPED):
                self.close_connection = True
                return
            code, _, reason = answer[0].partition(" ")
            self.send_response(int(code), reason)
            for key, value in answer[1]:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def log(self, type: str, message: str, *args: Any) -> None:
            log.log(logging.WARNING if type == "error" else logging.DEBUG, message, *args)

    return KeepAliveHandler


class _Controls:
    """The control methods, shared by :class:`LocalGlue` (in process) and :class:`LocalGlueControl` (HTTP)."""

    def _control(self, method: str, **arguments: Any) -> Any:
        raise NotImplementedError

    def create_job(
        self,
        name: str,
        *,
        max_concurrent_runs: int = 1,
        default_arguments: dict[str, str] | None = None,
        timeout: int | None = None,
        glue_version: str = "4.0",
        worker_type: str | None = "G.1X",
        number_of_workers: int | None = 2,
    ) -> None:
        """Create a Glue job in the local Glue's region; like moto, replace a job of that name and its runs.

        :param name: the job name.
        :param max_concurrent_runs: ``ExecutionProperty.MaxConcurrentRuns``.
        :param default_arguments: the job's DefaultArguments, where ``--local-glue-*`` plans usually go.
        :param timeout: the job's Timeout in minutes (None: Glue's default).
        :param glue_version: the job's GlueVersion.
        :param worker_type: the job's WorkerType (None for a MaxCapacity job).
        :param number_of_workers: the job's NumberOfWorkers.
        """
        self._control(
            "create_job",
            name=name,
            max_concurrent_runs=max_concurrent_runs,
            default_arguments=default_arguments,
            timeout=timeout,
            glue_version=glue_version,
            worker_type=worker_type,
            number_of_workers=number_of_workers,
        )

    def inject_fault(self, operation: str, fault: str, *, times: int = 1, message: str | None = None) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``fault``, before they reach the local Glue.

        :param operation: a Glue operation name such as ``"GetJobRun"``, or ``"*"`` for any Glue operation.
        :param fault: ``throttle``, ``server_error``, ``unavailable``, ``drop`` (the connection closes before
            Glue acts), ``drop_response`` (Glue acts, then the connection closes before the answer is sent) or
            a Glue error code.
        :param times: how many calls fail.
        :param message: the error message (default: one that says the fault was injected).
        """
        self._control("inject_fault", operation=operation, fault=fault, times=times, message=message)

    def calls(self) -> dict[str, int]:
        """Return how many requests each Glue operation received since the last counter reset."""
        return dict(self._control("calls"))

    def connections(self) -> int:
        """Return how many distinct client TCP connections carried Glue requests since the last counter reset."""
        return int(self._control("connections"))

    def reset_counters(self) -> None:
        """Zero the call and connection counters."""
        self._control("reset_counters")

    def first_reads(self, job_name: str) -> dict[str, float]:
        """Return, per run id of ``job_name``, the clock time at which a client first read the run."""
        return {str(k): float(v) for k, v in self._control("first_reads", job_name=job_name).items()}

    def set_run_state(self, job_name: str, run_id: str, state: str, *, error_message: str | None = None) -> None:
        """Force a run into ``state`` now, e.g. to end it; STOPPING moves on to STOPPED after its stop time.

        :param job_name: the run's job.
        :param run_id: the run id.
        :param state: one of the ten JobRunState values.
        :param error_message: the ErrorMessage once the run is final (default: one per failure state).
        """
        self._control("set_run_state", job_name=job_name, run_id=run_id, state=state, error_message=error_message)

    def run_count(self, job_name: str) -> int:
        """Return how many runs a job has; raise LookupError if there is no such job.

        :param job_name: the job.
        """
        return int(self._control("run_count", job_name=job_name))

    def reset(self) -> None:
        """Forget all jobs, runs, pending faults and counters."""
        self._control("reset")


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
        """Bind the port and serve from a daemon thread; raise RuntimeError if already started."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        with self._lock:
            if self._server is not None:
                raise RuntimeError("LocalGlue is already started")
            service = _Service(DomainDispatcherApplication(create_backend_app), self.clock, self.region_name)
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
