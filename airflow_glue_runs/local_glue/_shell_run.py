"""A real Python shell run's timeline: the states of ``_rules._Run``, with the times its process gives them.

A :class:`ShellRun` is WAITING until it gets a slot (as a scripted run), STARTING from then, RUNNING once its
process started, and final when the process ended (its outcome: SUCCEEDED, FAILED, TIMEOUT or STOPPED). Getting
a slot starts the process (``ShellProcess`` in ``_shell``); a process that ends gives the job's queued runs the
slots that freed up at once, under the local Glue's lock, so a queued real run starts without waiting for a read,
and tells the local Glue (``ShellHost.on_run_end``: its EventBridge event goes out at once).
BatchStopJobRun (STOPPING) asks the process to stop: STOPPED comes when it is gone. A state forced through the
control API ends the process too. No moto here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from airflow_glue_runs.local_glue._rules import _FINAL, _admit_queued, _Plan, _Run, _Step
from airflow_glue_runs.local_glue._shell import (
    PYTHON_SHELL_LOG_GROUP,
    ShellLogs,
    ShellProcess,
    ShellRegistry,
    child_environment,
    command_line,
    extra_py_files,
)

__all__ = ["ShellHost", "ShellRun", "new_shell_run"]


@dataclasses.dataclass(frozen=True)
class ShellHost:
    """What a real run needs from the local Glue that starts it.

    :param registry: the local Glue's processes.
    :param lock: the service lock (moto's backends are not thread-safe).
    :param clock: the local Glue's clock.
    :param endpoint_url: where the script's AWS calls go.
    :param region: the run's region.
    :param read_s3: reads an object of the local Glue's own S3 (None if missing).
    :param on_run_end: called with the job name and run id, under the lock, once a run's process ended.
    """

    registry: ShellRegistry
    lock: Any
    clock: Callable[[], float]
    endpoint_url: str
    region: str
    read_s3: Callable[[str, str], bytes | None]
    on_run_end: Callable[[str, str], None] = lambda job_name, run_id: None


class ShellRun(_Run):
    """A run whose script really runs: its slot starts the process, the process's end ends the run."""

    log_group_name = PYTHON_SHELL_LOG_GROUP

    def __init__(self, *, process: ShellProcess, launch: Callable[[], None], **run: Any) -> None:
        self.process = process
        self._launch: Callable[[], None] | None = launch
        self._admitted_at: float | None = None
        super().__init__(**run)  # a run that cannot be queued is admitted here, and its process starts

    @property
    def admitted_at(self) -> float | None:
        """Return when the run got a slot (None while it waits); setting it starts the process."""
        return self._admitted_at

    @admitted_at.setter
    def admitted_at(self, value: float | None) -> None:
        self._admitted_at = value
        if value is not None and self._launch is not None:
            launch, self._launch = self._launch, None
            launch()

    def steps(self) -> list[_Step]:
        """Return the timeline: the process's start and end once it has a slot, else the scripted queue."""
        admitted = self.admitted_at
        if admitted is None:
            return super().steps()
        process = self.process
        steps = [_Step(self.created, "WAITING")] if admitted > self.created else []
        steps.append(_Step(admitted, "STARTING"))
        if process.started_at is not None:
            steps.append(_Step(max(process.started_at, admitted), "RUNNING"))
        ended_at, outcome = process.ended_at, process.outcome
        if ended_at is not None and outcome is not None:
            steps.append(_Step(max(ended_at, admitted), *outcome))
        for forced in self.overrides:
            steps = [step for step in steps if step.at < forced.at] + [forced]
            if forced.state == "STOPPING" and ended_at is not None:
                steps.append(_Step(max(ended_at, forced.at), "STOPPED", forced.message))
        return steps

    def force(self, at: float, state: str, message: str | None) -> None:
        """Force ``state``: STOPPING and final states stop the process; a stop after its end changes nothing."""
        if state == "STOPPING" or state in _FINAL:
            stopping = self.process.request_stop()
            if state == "STOPPING" and not stopping and self.admitted_at is not None:
                return  # the script ended before the stop request: the run keeps its own end
        super().force(at, state, message)


def new_shell_run(
    host: ShellHost,
    *,
    job_name: str,
    run_id: str,
    arguments: Mapping[str, str],
    location: str,
    peers: Callable[[], tuple[list[_Run], int]],
    **run: Any,
) -> ShellRun:
    """Return a real run (its process started at once if it has a slot) and wire its end to the job's queue.

    :param host: the local Glue's side.
    :param job_name: the job.
    :param run_id: the run id.
    :param arguments: the run's merged arguments.
    :param location: the script location.
    :param peers: the job's runs and its MaxConcurrentRuns.
    :param run: the :class:`_Run` parameters (created, plan, queuing, timeout_minutes).
    """
    generation = host.registry.generation
    logs = ShellLogs(arguments.get("--custom-logGroup-prefix") or PYTHON_SHELL_LOG_GROUP, run_id)

    def on_exit() -> None:
        with host.lock:
            if generation == host.registry.generation:  # not after a reset: the job may be gone
                _admit_queued(*peers(), host.clock())
                host.on_run_end(job_name, run_id)

    process = ShellProcess(
        argv_for=lambda script: command_line(script, job_name, run_id, location, arguments),
        location=location,
        extra_py_files=extra_py_files(arguments),
        read_s3=host.read_s3,
        env=child_environment(host.endpoint_url, host.region),
        timeout_seconds=_timeout_seconds(run["plan"], run["timeout_minutes"]),
        logs=logs,
        clock=host.clock,
        on_exit=on_exit,
    )
    return ShellRun(process=process, launch=lambda: host.registry.launch(process, generation), peers=peers, **run)


def _timeout_seconds(plan: _Plan, timeout_minutes: int) -> float:
    """Return the run's timeout as ``_Run.timeout_seconds`` computes it (needed before the run exists)."""
    return plan.timeout_seconds if plan.timeout_seconds is not None else timeout_minutes * 60.0
