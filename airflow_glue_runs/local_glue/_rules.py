"""Glue's job run rules as the local Glue plays them: run plans, timelines, queue slots. No moto here."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

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
_PLAN_KEYS = ("duration", "final-state", "error-message", "queue-seconds", "stop-seconds", "log-lines")
# Keys that tune any run, scripted or real: they do not make a Python shell run scripted.
_TUNING_KEYS = ("timeout-seconds",)
_DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}
_WORKER_TYPES = ("Standard", *_DPU_PER_WORKER)
_MAX_STARTING_SECONDS = 0.5


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
    timeout_seconds: float | None = None  # replaces the run's Timeout (minutes) when set: short timeouts in tests

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, str]) -> _Plan:
        """Read the plan from a run's merged arguments; raise ValueError on unknown keys or bad values.

        :param arguments: the run's arguments, job defaults included.
        """
        given = {k.removeprefix(_PLAN_PREFIX): v for k, v in arguments.items() if k.startswith(_PLAN_PREFIX)}
        known = (*_PLAN_KEYS, *_TUNING_KEYS)
        for key in sorted(set(given) - set(known)):
            _choice("local Glue argument", _PLAN_PREFIX + key, (_PLAN_PREFIX + k for k in known))
        timeout = given.get("timeout-seconds")
        final_state = given.get("final-state", "SUCCEEDED")
        return cls(
            duration=_seconds(f"{_PLAN_PREFIX}duration", given.get("duration", 0)),
            final_state=_choice(f"{_PLAN_PREFIX}final-state", final_state, _PLAN_FINAL_STATES),
            error_message=given.get("error-message"),
            queue_seconds=_seconds(f"{_PLAN_PREFIX}queue-seconds", given.get("queue-seconds", 0)),
            stop_seconds=_seconds(f"{_PLAN_PREFIX}stop-seconds", given.get("stop-seconds", 1.0)),
            timeout_seconds=None if timeout is None else _seconds(f"{_PLAN_PREFIX}timeout-seconds", timeout),
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


def is_scripted(arguments: Mapping[str, str]) -> bool:
    """Whether a run's merged arguments hold a scripted-plan key (``--local-glue-duration``...).

    A Python shell run with one is played from its plan like any other run; without one it runs its script.
    ``--local-glue-timeout-seconds`` tunes both kinds and does not count.
    """
    return any(key.removeprefix(_PLAN_PREFIX) in _PLAN_KEYS for key in arguments if key.startswith(_PLAN_PREFIX))


class _Run:
    """The scripted life of one job run: its plan, when it got a slot, and the states forced on it since."""

    log_group_name = "/aws-glue/jobs"  # the LogGroupName GetJobRun reports

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
    def timeout_seconds(self) -> float:
        """Return how long the run may run: ``--local-glue-timeout-seconds``, else its Timeout in minutes."""
        if self.plan.timeout_seconds is not None:
            return self.plan.timeout_seconds
        return self.timeout_minutes * 60.0

    @property
    def give_up_at(self) -> float:
        """Return when a run still waiting stops waiting: its Timeout, or the first state forced on it."""
        return min([self.created + self.timeout_seconds, *(o.at for o in self.overrides)])

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
            timeout = self.timeout_seconds
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
            MaxCapacity=dpus,
            Attempt=0,
            Timeout=self.timeout_minutes,
            JobRunQueuingEnabled=self.queuing,
            LogGroupName=self.log_group_name,
        )
        if last.state in _FINAL:
            described["CompletedOn"] = _datetime(last.at)
            if _reports_dpu_seconds(described):
                described["DPUSeconds"] = execution_time * dpus
            if last.message:
                described["ErrorMessage"] = last.message
        if any(step.state == "WAITING" for step in steps):
            described["StateDetail"] = _WAITING_DETAIL
        return described


def _reports_dpu_seconds(run: Mapping[str, Any]) -> bool:
    """Whether Glue reports DPUSeconds for a finished run: FLEX runs and Auto Scaling runs only (the API reference)."""
    arguments = run.get("Arguments") or {}
    return run.get("ExecutionClass") == "FLEX" or str(arguments.get("--enable-auto-scaling", "")).lower() == "true"


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
