"""The local Glue's only access to moto's Glue internals: its app, its backends, its job and run objects.

Here: moto's WSGI app, the scripted ``FakeJobRun`` subclass, the ``FakeJob`` subclass that keeps a whole job
definition, StartJobRun and BatchStopJobRun played on moto's backend objects, the run reads and writes of the
control API, and the reset of an account (its Glue, S3 and IAM). The other modules touch moto only where they
say so: ``_http`` subclasses moto's request handler, ``_logs`` writes into moto's Logs backend (for the Glue
jobs handed to it from here), ``_jobs`` sets job definitions and tags on the backends and job class handed to it
from here. moto is imported inside functions, so this module imports without it.

moto is pinned (``moto[server]>=5.2.5,<5.3``) because this module relies on its internals; CI runs the local-Glue
tests on 5.2.5 and on the newest 5.2.x.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from airflow_glue_runs.local_glue._logs import DEFAULT_LOG_GROUP, LogScript
from airflow_glue_runs.local_glue._moto_speedups import speed_up_moto
from airflow_glue_runs.local_glue._rules import (
    _ACTIVE,
    _FINAL,
    _admit_queued,
    _check_start_request,
    _default_timeout,
    _GlueError,
    _Plan,
    _Run,
    _state_at,
    is_scripted,
)
from airflow_glue_runs.local_glue._shell import PYTHON_SHELL_LOG_GROUP
from airflow_glue_runs.local_glue._shell_run import ShellHost, new_shell_run


def moto_app() -> Callable[..., Iterable[bytes]]:
    """Return moto's WSGI application for every service (the local Glue answers Glue calls in front of it)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    speed_up_moto()
    app: Callable[..., Iterable[bytes]] = DomainDispatcherApplication(create_backend_app)
    return app


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
def local_job_class() -> type[Any]:
    """Build (once) the moto ``FakeJob`` subclass that also reports the fields moto's job has no attribute for."""
    from moto.glue.models import FakeJob

    class LocalJob(FakeJob):
        """A moto job that keeps the definition fields moto does not know (JobMode, MaintenanceWindow...)."""

        extra: dict[str, Any]

        def as_dict(self) -> dict[str, Any]:
            return {**super().as_dict(), **self.extra}

    return LocalJob


@cache
def job_attributes() -> frozenset[str]:
    """Return the definition attributes of moto's job: its constructor's parameters, which it stores as given."""
    from moto.glue.models import FakeJob

    return frozenset(inspect.signature(FakeJob.__init__).parameters) - {"self", "name", "tags", "backend"}


def utcnow() -> datetime.datetime:
    """Return moto's "now" for job timestamps (naive UTC)."""
    from moto.core.utils import utcnow as moto_utcnow

    return moto_utcnow()


def glue_backends() -> Any:
    """Return moto's Glue backends (account -> region -> backend)."""
    from moto.glue.models import glue_backends as backends

    return backends


def reset_account(account: str) -> None:
    """Forget every Glue job and run of ``account`` (all regions), its buckets, IAM entities, queues and rules."""
    from moto.events.models import events_backends
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    glue_backends()[account].reset()
    for backends in (iam_backends, sqs_backends, events_backends):
        if account in backends:
            backends[account].reset()
    # Not moto's S3 reset: it closes the objects of every account, other local Glues' too.
    for backend in s3_backends.get(account, {}).values():
        for name, bucket in list(backend.buckets.items()):
            for _, versions in bucket.keys.lists():
                for key in versions:
                    if hasattr(key, "dispose"):  # delete markers hold no file
                        key.dispose()
            for part in bucket.multiparts.values():
                part.dispose()
            s3_backends.bucket_accounts.pop(name, None)
            del backend.buckets[name]


# The two run operations the local Glue answers itself (the job definition ones are in _jobs).


def start_job_run(
    account: str,
    region: str,
    body: Mapping[str, Any],
    clock: Callable[[], float],
    shell_host: Callable[[], ShellHost] | None = None,
) -> dict[str, Any]:
    """Start a run as StartJobRun does; raise :class:`_GlueError` where Glue answers an error.

    The run is scripted (``_rules``), or real (``_shell_run``) for a pythonshell job without a scripted plan.

    :param account: the moto account.
    :param region: the request's region.
    :param body: the StartJobRun request.
    :param clock: the local Glue's clock.
    :param shell_host: gives what a real Python shell run needs (None: every run is scripted).
    """
    job = job_named(glue_backends()[account][region], body.get("JobName"))
    _check_start_request(body)
    arguments = {**job.default_arguments, **(body.get("Arguments") or {})}
    arguments.update(job.non_overridable_arguments or {})
    try:
        plan = _Plan.from_arguments(arguments)
    except ValueError as error:
        raise _GlueError("InvalidInputException", str(error)) from None
    now = clock()
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
    run.clock = clock
    timeout = body.get("Timeout") or job.timeout or _default_timeout(job.glue_version)
    timeline: dict[str, Any] = {
        "created": now,
        "plan": plan,
        "queuing": queuing,
        "timeout_minutes": timeout,
        "peers": peers,
    }
    command = job.command or {}
    shell = command.get("Name") == "pythonshell"
    if shell and shell_host is not None and not is_scripted(arguments):
        location = arguments.get("--scriptLocation") or command.get("ScriptLocation") or ""
        run.script = new_shell_run(
            shell_host(), job_name=job.name, run_id=run.job_run_id, arguments=arguments, location=location, **timeline
        )
        run.log_script = run.script.process.logs
    else:
        run.script = _Run(**timeline)
        run.script.log_group_name = PYTHON_SHELL_LOG_GROUP if shell else DEFAULT_LOG_GROUP
    run.extra = {"GlueVersion": job.glue_version}
    run.extra["ExecutionClass"] = body.get("ExecutionClass") or job.execution_class
    if body.get("ExecutionRoleSessionPolicy"):
        run.extra["ExecutionRoleSessionPolicy"] = body["ExecutionRoleSessionPolicy"]
    job.job_runs.insert(0, run)  # newest first, as AWS lists them (moto's paginator follows the list)
    if not hasattr(run, "log_script"):
        try:
            run.log_script = LogScript(run.job_run_id, now, arguments, run.script.log_group_name)
        except ValueError as error:
            raise _GlueError("InvalidInputException", str(error)) from None
    run.script.timeline(now)  # a queued run takes a free slot at once
    return {"JobRunId": run.job_run_id}


def batch_stop_job_run(account: str, region: str, body: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Stop runs as BatchStopJobRun does, with per-run ``Errors``; raise :class:`_GlueError` for a bad request.

    :param account: the moto account.
    :param region: the request's region.
    :param body: the BatchStopJobRun request.
    :param now: the local Glue's clock.
    """
    job = job_named(glue_backends()[account][region], body.get("JobName"))
    run_ids = body.get("JobRunIds") or []
    if not 1 <= len(run_ids) <= 25:
        raise _GlueError("InvalidInputException", "JobRunIds must hold between 1 and 25 run ids")
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


def read_s3_object(account: str, bucket_name: str, key: str) -> bytes | None:
    """Return an object of ``account``'s own S3 (None if the bucket or the key does not exist)."""
    from moto.s3.models import s3_backends

    for backend in s3_backends.get(account, {}).values():
        bucket = backend.buckets.get(bucket_name)
        found = bucket.keys.get(key) if bucket is not None else None
        if found is not None and hasattr(found, "value"):  # not a delete marker
            return bytes(found.value)
    return None


def mark_first_reads(account: str, region: str, job_name: object, run_ids: Iterable[str], now: float) -> None:
    """Record ``now`` as the first read of each of ``run_ids`` that a client had not seen yet.

    :param account: the moto account.
    :param region: the request's region.
    :param job_name: the JobName of the GetJobRun or GetJobRuns request.
    :param run_ids: the run ids in its answer.
    """
    jobs = glue_backends()[account][region].jobs
    if not isinstance(job_name, str) or job_name not in jobs:
        return
    seen = set(run_ids)
    for run in jobs[job_name].job_runs:
        if run.job_run_id in seen and hasattr(run, "script") and run.script.first_read is None:
            run.script.first_read = now


# The control API's reads and writes.


def set_run_state(
    account: str, region: str, job_name: str, run_id: str, state: str, message: str | None, now: float
) -> None:
    """Force a scripted run into ``state`` at ``now``; raise LookupError for a missing job or run."""
    run = _find_run(_control_job(account, region, job_name), run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} of job {job_name!r}")
    run.script.timeline(now)  # settle queue slots before the forced state cuts the timeline
    run.script.force(now, state, message)


def first_reads(account: str, region: str, job_name: str) -> dict[str, float]:
    """Return, per run id of a job, when a client first read the run; raise LookupError for a missing job."""
    runs = _control_job(account, region, job_name).job_runs
    return {run.job_run_id: run.script.first_read for run in runs if run.script.first_read is not None}


def run_count(account: str, region: str, job_name: str) -> int:
    """Return how many runs a job has; raise LookupError for a missing job."""
    return len(_control_job(account, region, job_name).job_runs)


def _control_job(account: str, region: str, job_name: str) -> Any:
    jobs = glue_backends()[account][region].jobs
    if job_name not in jobs:
        raise LookupError(f"no job {job_name!r}")
    return jobs[job_name]


def job_and_run(account: str, region: str, job_name: str, run_id: str) -> tuple[Any, Any] | None:
    """Return a job and one of its runs (scripted or real), or None if either is gone."""
    job = current_job(account, region, job_name)
    run = _find_run(job, run_id) if job is not None else None
    return None if run is None else (job, run)


def current_job(account: str, region: str, job_name: str) -> Any:
    """Return the job of that name now (None if there is none): a job replaced by CreateJob is another object."""
    return glue_backends()[account][region].jobs.get(job_name)


def job_named(backend: Any, name: object) -> Any:
    """Return a job of a backend; raise EntityNotFoundException if there is none."""
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
