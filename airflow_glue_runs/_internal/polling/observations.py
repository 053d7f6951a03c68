"""What a trigger's watcher receives from the batched poller: observations of one run, and the mailbox they go in.

An observation is a fact (the run as read) or what went wrong reading it, classified once by
:func:`~airflow_glue_runs.exceptions.classify_error`; the trigger applies the waiting policy to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from airflow_glue_runs.exceptions import ErrorKind, classify_error
from airflow_glue_runs.job_run import JobRun, JobRunState

if TYPE_CHECKING:
    from airflow_glue_runs._internal.polling.shared_client import ClientKey

__all__ = [
    "Observation",
    "PollFailed",
    "PollSkipped",
    "RunDenied",
    "RunGone",
    "RunRead",
    "Watcher",
    "observation_for",
]


@dataclasses.dataclass(frozen=True)
class RunRead:
    """The run as Glue reported it in this poll."""

    run: JobRun


@dataclasses.dataclass(frozen=True)
class RunGone:
    """Glue says the run or its job does not exist (EntityNotFoundException)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class RunDenied:
    """The connection may not read the run (AccessDeniedException and friends)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class PollSkipped:
    """The poll could not read the run (throttling or a transient fault outlasted botocore's retries)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class PollFailed:
    """Reading the run failed unexpectedly; the watcher re-raises ``error`` with its traceback (:meth:`reraise`)."""

    error: BaseException
    traceback: TracebackType | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.traceback is None:
            object.__setattr__(self, "traceback", self.error.__traceback__)

    def reraise(self) -> NoReturn:
        """Raise the error from the poller's traceback (several watchers may raise the same error object)."""
        raise self.error.with_traceback(self.traceback)


Observation = RunRead | RunGone | RunDenied | PollSkipped | PollFailed


def observation_for(error: Exception) -> Observation:
    kind = classify_error(error)
    if kind == ErrorKind.GONE:
        return RunGone(str(error))
    if kind == ErrorKind.DENIED:
        return RunDenied(str(error))
    if kind == ErrorKind.TRANSIENT:
        return PollSkipped(str(error))
    return PollFailed(error)


class Watcher:
    """One trigger's subscription to the observations of one run: a small mailbox, filled by the poller.

    :param key: the shared client's key.
    :param job_name: the run's job.
    :param run_id: the run id.
    :param poll_interval: the longest the watcher wants to wait between observations, in seconds.
    :param changes_only: drop a read of the run in the state of the last observation taken, as a trigger's
        waiting policy has nothing to do with it (it logs and judges state changes). A queued (WAITING) run is
        always taken: its time in the queue grows; so is a read after anything else (a skipped poll). The
        triggerer's loop then wakes a waiting trigger when its run's state changes or a poll fails, not on every
        poll: thousands of wake-ups a poll, each a future and a task step that CPython's collector must walk.
    :param wakeable: Glue's events may stand in for regular reads: while an event consumer serves the connection,
        the run is read at the safety-net interval when that is longer than ``poll_interval`` (and soon after an
        event names it). False for a watcher that needs a read every ``poll_interval`` (e.g. to forward logs).
    """

    # A list and one future instead of an asyncio.Queue: a Queue costs ~1.5 KiB, and there are thousands.
    __slots__ = (
        *("_last", "_pending", "_waiter", "changes_only", "job_name", "key", "poll_interval", "run_id", "wakeable"),
    )

    def __init__(
        self,
        key: ClientKey,
        job_name: str,
        run_id: str,
        poll_interval: float,
        *,
        changes_only: bool = False,
        wakeable: bool = False,
    ) -> None:
        self.key = key
        self.job_name = job_name
        self.run_id = run_id
        self.poll_interval = poll_interval
        self.changes_only = changes_only
        self.wakeable = wakeable
        self._last: Observation | None = None
        self._pending: list[Observation] | None = None  # made when needed: a waiting trigger has its waiter set
        self._waiter: asyncio.Future[Observation] | None = None

    @property
    def pending(self) -> int:
        """Return how many observations wait to be taken."""
        return len(self._pending) if self._pending is not None else 0

    def put(self, observation: Observation) -> None:
        """Hand an observation to the watcher (never blocks); with :attr:`changes_only`, only a new one."""
        if self.changes_only:
            last, self._last = self._last, observation
            if (
                isinstance(observation, RunRead)
                and isinstance(last, RunRead)
                and observation.run.state is last.run.state
                and observation.run.state is not JobRunState.WAITING
            ):
                self._last = last  # the one the trigger judged
                return
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(observation)
        elif self._pending is None:
            self._pending = [observation]
        else:
            self._pending.append(observation)

    async def next(self) -> Observation:
        """Wait for the next observation of the run."""
        if self._pending:
            observation = self._pending.pop(0)
            if not self._pending:
                self._pending = None
            return observation
        self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter
