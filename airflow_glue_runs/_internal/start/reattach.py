"""No duplicate runs: find the run an earlier try of a task instance started, and start each run at most once.

A try's identity (the task instance generation and its token) and its run record are in :mod:`.ledger`.
Without a record (Airflow 3.0-3.2, or a pending record without a run id) a retry finds its run by the token, in a
bounded GetJobRuns scan (newest runs first on AWS; the scan does not depend on the order).

**Decision.** The run an earlier try of the same generation started is waited for while it is active (STARTING,
RUNNING, STOPPING, WAITING), adopted without a new start if it SUCCEEDED, and replaced by a new run only if it
ended badly or is gone. A pending record without a run id (the worker died right after StartJobRun, or the
response was lost) is resolved by the token scan.

**Starting.** StartJobRun has no idempotency token and botocore's retry mode would resend it after a dropped
connection or a 5xx, starting a second run. :func:`start_once` calls it with botocore retries off and, after an
error that leaves the outcome unknown, looks for the token before trying again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT, RunIdentity, RunLedger
from airflow_glue_runs.exceptions import (
    ErrorKind,
    GlueConcurrentRunsExceededError,
    GlueEntityNotFoundError,
    GlueJobRunStartUnconfirmedError,
    classify_error,
)
from airflow_glue_runs.job_run import JobRun, JobRunState, RunCategory

if TYPE_CHECKING:
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = [
    "SCAN_MAX_ITEMS",
    "Logger",
    "Plan",
    "find_marked_run",
    "is_ambiguous_start_error",
    "orphaned_run",
    "plan_for",
    "start_once",
    "superseded_stopping_run",
]

SCAN_PAGE_SIZE = 200
SCAN_MAX_ITEMS = 1000
"""A token scan reads at most this many of the job's runs (5 GetJobRuns pages of 200)."""


class Logger(Protocol):
    """What this module logs through: a stdlib logger or Airflow's structlog task logger."""

    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


class Plan(StrEnum):
    """What to do about the run an earlier try started."""

    START = "start"
    """No earlier run, or it ended badly or is gone: start a new run."""
    REATTACH = "reattach"
    """The earlier run is still active or queued: wait for it."""
    ADOPT = "adopt"
    """The earlier run succeeded: the task succeeds without a new run."""


_PLAN_BY_CATEGORY: dict[RunCategory, Plan] = {
    RunCategory.ACTIVE: Plan.REATTACH,
    RunCategory.QUEUED: Plan.REATTACH,
    RunCategory.SUCCEEDED: Plan.ADOPT,
    RunCategory.FAILED: Plan.START,
    RunCategory.TIMED_OUT: Plan.START,
}


def plan_for(run: JobRun | None) -> Plan:
    """Decide from the earlier run's category (the state model's one meaning of each state)."""
    return Plan.START if run is None else _PLAN_BY_CATEGORY[run.category]


def find_marked_run(
    hook: GlueJobRunHook, job_name: str, token: str, *, max_items: int = SCAN_MAX_ITEMS
) -> JobRun | None:
    """Return the newest run of ``job_name`` marked with ``token`` among its ``max_items`` listed runs."""
    runs = hook.iter_job_runs(job_name, page_size=min(SCAN_PAGE_SIZE, max_items), max_items=max_items)
    return newest_marked(runs, token)


def newest_marked(runs: Iterable[JobRun], token: str) -> JobRun | None:
    """Return the most recently started run whose token argument is ``token`` (order of ``runs`` is irrelevant)."""
    oldest = datetime.min.replace(tzinfo=UTC)
    marked = [run for run in runs if (run.arguments or {}).get(MARKER_ARGUMENT) == token]
    return max(marked, key=lambda run: (run.started_on or oldest, run.attempt or 0), default=None)


def previous_run(
    ledger: RunLedger, identity: RunIdentity, hook: GlueJobRunHook, job_name: str, log: Logger
) -> JobRun | None:
    """Return the run an earlier try of this generation started, as Glue reports it now; ``None`` if none."""
    if ledger.available:
        record = ledger.load()
        if record is None:
            return None
        if record.generation != identity.generation or record.token != identity.token:
            log.info(
                "The task was cleared since Glue job run %s was started (generation %s, now %s): starting a fresh run.",
                record.run_id or "(unknown id)",
                record.generation,
                identity.generation,
            )
            return None
        if record.job_name != job_name:
            log.info("The job name changed since the last try (was %s): starting a fresh run.", record.job_name)
            return None
        if record.run_id is not None:
            try:
                return hook.get_job_run(job_name, record.run_id)
            except GlueEntityNotFoundError:
                log.warning("Glue job run %s of an earlier try no longer exists: starting a fresh run.", record.run_id)
                return None
        log.info("An earlier try started a run but did not record its id: looking for it by its token.")
    elif identity.try_number <= 1:
        return None
    return find_marked_run(hook, job_name, identity.token)


def superseded_stopping_run(
    ledger: RunLedger, identity: RunIdentity, hook: GlueJobRunHook, job_name: str
) -> JobRun | None:
    """Return the run of an earlier generation if it is still STOPPING, else ``None``.

    A Clear of a deferred task stops its run (``stop_on_kill``), and the fresh try starts moments later. While
    the old run is STOPPING it still holds one of the job's ``MaxConcurrentRuns`` slots, so a job that allows one
    run at a time would refuse the fresh start. Only the task state store (Airflow 3.3+) knows that run.
    """
    if not ledger.available:
        return None
    record = ledger.load()
    if record is None or record.run_id is None or record.job_name != job_name:
        return None
    if record.generation == identity.generation:
        return None
    try:
        run = hook.get_job_run(job_name, record.run_id)
    except GlueEntityNotFoundError:
        return None
    return run if run.state is JobRunState.STOPPING else None


def orphaned_run(ledger: RunLedger, identity: RunIdentity, hook: GlueJobRunHook, job_name: str) -> JobRun | None:
    """Return the active run an earlier generation started without learning its id, else ``None``.

    That generation's StartJobRun went unanswered and its search for the marker failed
    (:class:`~airflow_glue_runs.exceptions.GlueJobRunStartUnconfirmedError`); its record stayed pending. After a
    Clear nobody waits on that run any more, so the fresh try stops it (only the task state store, Airflow 3.3+,
    remembers the earlier marker).
    """
    if not ledger.available:
        return None
    record = ledger.load()
    if record is None or record.run_id is not None or record.job_name != job_name:
        return None
    if record.generation == identity.generation:
        return None
    found = find_marked_run(hook, job_name, record.token)
    return found if found is not None and not found.is_terminal else None


def is_ambiguous_start_error(error: BaseException) -> bool:
    """Whether StartJobRun may or may not have created a run, or was refused for a moment: retry after a scan.

    These are the errors the waiters treat as transient (:func:`airflow_glue_runs.exceptions.classify_error`):
    dropped connections, read timeouts, throttling and 5xx answers. A 4xx answer about the request is not.
    """
    return classify_error(error) == ErrorKind.TRANSIENT


START_ATTEMPTS = 4
"""StartJobRun attempts after errors that leave the outcome unknown (with a token scan before each retry)."""
START_BACKOFF = 2.0
"""Seconds before the first scan-and-retry; doubled each time."""
SEARCH_PATIENCE = 900.0
"""Seconds to keep looking for the run of an unanswered StartJobRun while the search itself fails (a Glue outage
of 5xx answers or dropped connections lasts minutes); StartJobRun is not tried again while the outcome is unknown."""
SEARCH_PAUSE = 5.0
"""Seconds between two failed searches at first; doubled each time up to :data:`SEARCH_PAUSE_MAX`."""
SEARCH_PAUSE_MAX = 60.0
_clock = time.monotonic


def start_once(
    start: Callable[[], str],
    find: Callable[[], JobRun | None],
    *,
    log: Logger,
    attempts: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    job_name: str = "",
    token: str = "",
) -> tuple[str, JobRun | None]:
    """Start a run at most once; return its id, and the run when it was found by its token instead.

    When the search itself fails (throttling, 5xx, dropped connections after botocore's own retries), it is
    retried for up to :data:`SEARCH_PATIENCE` seconds; StartJobRun is never called again while the outcome of the
    last call is unknown. If the search never gets through, or is refused (access denied),
    :class:`~airflow_glue_runs.exceptions.GlueJobRunStartUnconfirmedError` names the marker of the run that may
    exist.

    :param start: calls StartJobRun once (botocore retries off) and returns the run id.
    :param find: looks for the run marked with this start's token.
    :param attempts: StartJobRun attempts at most (default :data:`START_ATTEMPTS`).
    :param backoff: seconds before the first scan-and-retry, doubled each time (default :data:`START_BACKOFF`).
    :param job_name: the job, for the error message.
    :param token: the marker value, for the error message.
    """
    attempts = START_ATTEMPTS if attempts is None else attempts
    delay = START_BACKOFF if backoff is None else backoff
    uncertain = False
    error: BaseException | None = None
    for attempt in range(1, attempts + 1):
        try:
            return start(), None
        except Exception as err:
            # After an unanswered attempt, the run that fills the job's last slot may well be ours.
            retry = is_ambiguous_start_error(err) or (uncertain and isinstance(err, GlueConcurrentRunsExceededError))
            if not retry:
                raise
            error = err
        uncertain = True
        log.warning(
            "StartJobRun attempt %s of %s did not answer clearly (%s); looking for the run by its token in %.0f s.",
            attempt,
            attempts,
            type(error).__name__,
            delay,
        )
        sleep(delay)
        delay *= 2
        found = _keep_looking(find, log=log, sleep=sleep, job_name=job_name, token=token)
        if found is not None:
            log.info("Found Glue job run %s started by an unanswered StartJobRun; not starting another.", found.id)
            return found.id, found
    assert error is not None
    raise error


def _keep_looking(
    find: Callable[[], JobRun | None], *, log: Logger, sleep: Callable[[float], None], job_name: str, token: str
) -> JobRun | None:
    """Return what ``find`` answers, retrying a failing search for :data:`SEARCH_PATIENCE` seconds."""
    started = _clock()
    pause = SEARCH_PAUSE
    while True:
        try:
            return find()
        except Exception as error:
            searched = _clock() - started
            marker = f"{MARKER_ARGUMENT}={token}"
            if classify_error(error) != ErrorKind.TRANSIENT or searched >= SEARCH_PATIENCE:
                raise GlueJobRunStartUnconfirmedError(
                    job_name, marker, searched_for=searched, reason=f"{type(error).__name__}: {error}"
                ) from error
            log.warning(
                "Could not look for the run of the unanswered StartJobRun (%s: %s); looking again in %.0f s "
                "(for up to %.0f s in all). The run, if any, has the job argument %s.",
                type(error).__name__,
                error,
                pause,
                SEARCH_PATIENCE,
                marker,
            )
            sleep(pause)
            pause = min(pause * 2, SEARCH_PAUSE_MAX)
