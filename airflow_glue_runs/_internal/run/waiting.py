"""The waiting policy shared by the operator's worker-side loop, the trigger and the sensor.

Everything here is pure: no I/O, no sleeping, no clock of its own. A :class:`RunWatch` is fed each observation
of a run and answers what to log and whether the wait is over; a :class:`WaitResult` is the verdict, with a
lossless JSON round trip (it is the trigger's event payload). :func:`raise_for_result` turns a verdict into the
outcome of a task, so the operator and the sensor judge a run the same way whether it was watched on the worker
or in the triggerer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from airflow_glue_runs.exceptions import (
    ErrorKind,
    GlueJobRunExpiredError,
    GlueJobRunFailedError,
    GlueJobRunNotFoundError,
    GlueJobRunOutcomeError,
    GlueJobRunQueueTimeoutError,
    GlueJobRunStoppedError,
    GlueJobRunTimeoutError,
    classify_error,
)
from airflow_glue_runs.job_run import JobRun, JobRunState, RunCategory

__all__ = [
    "DEFAULT_RUN_TIMEOUT_MINUTES",
    "DEFERRAL_MARGIN",
    "WAIT_UNTIL_CHOICES",
    "Resolution",
    "RunWatch",
    "WaitResult",
    "WaitUntil",
    "deferral_timeout",
    "raise_for_result",
]


DEFAULT_RUN_TIMEOUT_MINUTES = 2880
"""Glue's run Timeout when neither the run nor the job sets one (Glue 4.0 and earlier)."""
DEFERRAL_MARGIN = timedelta(minutes=10)
"""Added to a deferral's deadline beyond the run's Timeout and queue allowance."""

WaitUntil = Literal["end", "running"]
"""What a wait waits for: the run's end (default), or the run RUNNING (a streaming job, a run to start and leave)."""
WAIT_UNTIL_CHOICES: tuple[WaitUntil, ...] = ("end", "running")


def deferral_timeout(run: JobRun, *, max_queue_wait: float | None, poll_interval: float) -> timedelta:
    """Return how long a deferred wait on ``run`` may last: the run's own Timeout, its queue allowance, a margin.

    The queue allowance is ``max_queue_wait``; without one, Glue's own limit for queued runs (the run's Timeout)
    is taken again. Never a fixed number of polls: the deadline follows the run.
    """
    run_budget = timedelta(minutes=run.timeout or DEFAULT_RUN_TIMEOUT_MINUTES)
    queue_budget = timedelta(seconds=max_queue_wait) if max_queue_wait is not None else run_budget
    return run_budget + queue_budget + DEFERRAL_MARGIN + timedelta(seconds=poll_interval)


class Resolution(StrEnum):
    """How a wait on a run ended."""

    SUCCEEDED = "succeeded"
    RUNNING = "running"
    """The run is RUNNING (for ``running_for``, if set) and the wait was ``wait_until="running"``: a success."""
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    QUEUE_TIMEOUT = "queue_timeout"
    """The run stayed WAITING longer than ``max_queue_wait``; it may still be queued in Glue."""
    NOT_FOUND = "not_found"
    """The run or its job no longer exists."""
    ACCESS_DENIED = "access_denied"
    """The connection may no longer read the run."""


_BY_CATEGORY: dict[RunCategory, Resolution] = {
    RunCategory.SUCCEEDED: Resolution.SUCCEEDED,
    RunCategory.FAILED: Resolution.FAILED,
    RunCategory.TIMED_OUT: Resolution.TIMED_OUT,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class WaitResult:
    """The verdict on a watched run: what happened, the run as last seen, and a message for humans."""

    resolution: Resolution
    job_name: str
    run_id: str
    message: str
    run: JobRun | None = None

    @property
    def is_success(self) -> bool:
        """Whether the wait reached its goal: the run SUCCEEDED, or is RUNNING for ``wait_until="running"``."""
        return self.resolution in (Resolution.SUCCEEDED, Resolution.RUNNING)

    @property
    def left_running(self) -> bool:
        """Whether the wait ended with the run still RUNNING (``wait_until="running"``): nobody waits on it now."""
        return self.resolution is Resolution.RUNNING

    def without_arguments(self) -> WaitResult:
        """Return this verdict with the run's job arguments left out.

        Trigger events are stored in Airflow's database and logged by the triggerer, and job arguments may hold
        secrets the trigger cannot recognise; the operator keeps the (masked) arguments it sent.
        """
        if self.run is None or self.run.arguments is None:
            return self
        return dataclasses.replace(self, run=dataclasses.replace(self.run, arguments=None))

    def redacted(self, redact: Callable[[str], str]) -> WaitResult:
        """Return this verdict with ``redact`` applied to its message and to Glue's text on the run.

        :param redact: e.g. a :class:`~airflow_glue_runs._internal.masking.Redactor` of the task's secret values.
        """
        run = self.run.with_glue_text(redact) if self.run is not None else None
        return dataclasses.replace(self, message=redact(self.message), run=run)

    def to_json(self) -> dict[str, Any]:
        """Return the verdict as JSON data (a trigger event payload)."""
        return {
            "resolution": self.resolution.value,
            "job_name": self.job_name,
            "run_id": self.run_id,
            "message": self.message,
            "run": self.run.to_json() if self.run is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaitResult:
        """Rebuild a verdict from :meth:`to_json` output."""
        run = data.get("run")
        return cls(
            resolution=Resolution(data["resolution"]),
            job_name=data["job_name"],
            run_id=data["run_id"],
            message=data["message"],
            run=JobRun.from_json(run) if run is not None else None,
        )


@dataclasses.dataclass
class RunWatch:
    """What a waiter remembers about one run between polls, and the rules that turn an observation into steps.

    :param job_name: the run's job.
    :param run_id: the run's id.
    :param max_queue_wait: seconds a run may stay WAITING before the wait ends with ``QUEUE_TIMEOUT``;
        ``None`` waits as long as Glue keeps the run queued. Queue time counts from the run's ``StartedOn``
        (when Glue accepted it), so a waiter rebuilt after a restart keeps the same budget.
    :param wait_until: ``"end"`` (the run's end decides) or ``"running"``: the wait ends with ``RUNNING`` (a
        success) once the run is RUNNING, and has stayed RUNNING for ``running_for`` seconds if set. Every other
        state means what it means for ``"end"``: a run that ends before that is judged by how it ended
        (SUCCEEDED succeeds: a short job is done).
    :param running_for: seconds the run must stay RUNNING, by the waiter's clock (the ``now`` of
        :meth:`observe`), counted from ``running_since``; a run that leaves RUNNING starts the count again.
    :param running_since: when this waiter (or the one it continues) first saw the run RUNNING; set by
        :meth:`observe`, or given to carry the count over a deferral.
    """

    job_name: str
    run_id: str
    max_queue_wait: float | None = None
    wait_until: WaitUntil = "end"
    running_for: float | None = None
    running_since: datetime | None = None
    last_state: JobRunState | None = None
    last_state_detail: str | None = None
    first_seen_queued: datetime | None = None

    def observe(self, run: JobRun, now: datetime) -> tuple[list[str], WaitResult | None]:
        """Take one observation of the run at wall-clock time ``now`` (timezone-aware).

        Return the log lines this observation deserves (a state change, or a new StateDetail while WAITING;
        nothing for a poll that saw no change) and the verdict when the wait is over.
        """
        lines: list[str] = []
        state = run.state
        changed = state != self.last_state
        if changed:
            lines.append(f"Glue job run {self.run_id} of job {self.job_name} is {state}.")
        if state is JobRunState.WAITING:
            queued_since = self._queued_since(run, now)
            waited = max(0.0, (now - queued_since).total_seconds())
            if changed or run.state_detail != self.last_state_detail:
                lines.append(
                    f"Glue job run {self.run_id} has been queued for {waited:.0f} s: "
                    f"{run.state_detail or 'no StateDetail given'}."
                )
            if self.max_queue_wait is not None and waited > self.max_queue_wait:
                self._remember(run)
                return lines, WaitResult(
                    resolution=Resolution.QUEUE_TIMEOUT,
                    job_name=self.job_name,
                    run_id=self.run_id,
                    run=run,
                    message=(
                        f"Glue job run {self.run_id} of job {self.job_name} stayed WAITING for {waited:.0f} s, "
                        f"longer than max_queue_wait={self.max_queue_wait:g} s. "
                        f"StateDetail: {run.state_detail or 'none'}."
                    ),
                )
        self._remember(run)
        if self.wait_until == "running" and (reached := self._running(run, now, lines)) is not None:
            return lines, reached
        resolution = _BY_CATEGORY.get(run.category)
        if resolution is None:
            return lines, None
        return lines, WaitResult(
            resolution=resolution,
            job_name=self.job_name,
            run_id=self.run_id,
            run=run,
            message=describe_run(run, self.job_name, self.run_id),
        )

    def judge_read_error(self, error: Exception) -> WaitResult | None:
        """Judge a failed read of the run as every waiter does; call it from the ``except`` block.

        Return ``None`` for a transient fault (it costs a poll), the verdict for a run or job that no longer
        exists or may no longer be read, and re-raise anything else with its traceback.
        """
        kind = classify_error(error)
        if kind == ErrorKind.GONE:
            return self.vanished(str(error))
        if kind == ErrorKind.DENIED:
            return self.denied(str(error))
        if kind == ErrorKind.TRANSIENT:
            return None
        raise error

    def vanished(self, reason: str) -> WaitResult:
        """Return the verdict for a run or job that Glue no longer knows."""
        return WaitResult(
            resolution=Resolution.NOT_FOUND,
            job_name=self.job_name,
            run_id=self.run_id,
            message=f"Glue job run {self.run_id} of job {self.job_name} no longer exists: {reason}",
        )

    def denied(self, reason: str) -> WaitResult:
        """Return the verdict for a run the connection may no longer read."""
        return WaitResult(
            resolution=Resolution.ACCESS_DENIED,
            job_name=self.job_name,
            run_id=self.run_id,
            message=f"Access denied reading Glue job run {self.run_id} of job {self.job_name}: {reason}",
        )

    def _running(self, run: JobRun, now: datetime, lines: list[str]) -> WaitResult | None:
        """Return the ``RUNNING`` verdict once the run has been RUNNING long enough; count the time it has been."""
        if run.state is None or not run.state.is_running:
            self.running_since = None
            return None
        if self.running_since is None:
            self.running_since = now
            if self.running_for:
                lines.append(f"Waiting until Glue job run {self.run_id} has been RUNNING for {self.running_for:g} s.")
        running = max(0.0, (now - self.running_since).total_seconds())
        if self.running_for and running < self.running_for:
            return None
        stayed = f" for {running:.0f} s (running_for={self.running_for:g} s)" if self.running_for else ""
        return WaitResult(
            resolution=Resolution.RUNNING,
            job_name=self.job_name,
            run_id=self.run_id,
            run=run,
            message=(
                f"Glue job run {self.run_id} of job {self.job_name} is RUNNING{stayed}: the wait is over "
                "(wait_until='running') and the run is left running."
            ),
        )

    def _queued_since(self, run: JobRun, now: datetime) -> datetime:
        if run.started_on is not None:
            return run.started_on
        if self.first_seen_queued is None:
            self.first_seen_queued = now
        return self.first_seen_queued

    def _remember(self, run: JobRun) -> None:
        self.last_state = run.state
        self.last_state_detail = run.state_detail


def describe_run(run: JobRun, job_name: str, run_id: str) -> str:
    """One sentence on a run's state with Glue's own explanation (ErrorMessage or StateDetail)."""
    text = f"Glue job run {run_id} of job {job_name} ended {run.state}"
    if run.execution_time is not None:
        text += f" after {timedelta(seconds=run.execution_time)} of execution"
    # A finished run may still carry the StateDetail of its time in the queue; it explains only a failure.
    reason = run.error_message or (run.state_detail if run.category is not RunCategory.SUCCEEDED else None)
    return f"{text}: {reason}" if reason else f"{text}."


_ERROR_BY_STATE: dict[JobRunState, type[GlueJobRunOutcomeError]] = {
    JobRunState.STOPPED: GlueJobRunStoppedError,
    JobRunState.EXPIRED: GlueJobRunExpiredError,
}

_ERROR_BY_RESOLUTION: dict[Resolution, type[GlueJobRunOutcomeError]] = {
    Resolution.FAILED: GlueJobRunFailedError,
    Resolution.TIMED_OUT: GlueJobRunTimeoutError,
    Resolution.QUEUE_TIMEOUT: GlueJobRunQueueTimeoutError,
    Resolution.NOT_FOUND: GlueJobRunNotFoundError,
    Resolution.ACCESS_DENIED: GlueJobRunNotFoundError,
}


def raise_for_result(result: WaitResult, *, console_url: str | None = None) -> None:
    """Return if the run succeeded; otherwise raise the exception type for how it ended.

    FAILED and ERROR raise :class:`GlueJobRunFailedError`; STOPPED and EXPIRED raise its subclasses
    :class:`GlueJobRunStoppedError` and :class:`GlueJobRunExpiredError`; TIMEOUT raises
    :class:`GlueJobRunTimeoutError`; a queue timeout :class:`GlueJobRunQueueTimeoutError`; a vanished or
    unreadable run :class:`GlueJobRunNotFoundError`. The message names the job, the run id, the state,
    Glue's ErrorMessage or StateDetail, and the console link.
    """
    if result.is_success:
        return
    error_type = _ERROR_BY_RESOLUTION[result.resolution]
    if result.resolution is Resolution.FAILED and result.run is not None and result.run.state in _ERROR_BY_STATE:
        error_type = _ERROR_BY_STATE[result.run.state]
    raise error_type(result, console_url=console_url)
