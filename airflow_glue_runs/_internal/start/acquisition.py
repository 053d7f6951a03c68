"""How one try of :class:`~airflow_glue_runs.operators.GlueJobRunOperator` gets the run it waits for.

The run is an earlier try's (reattached while active, adopted when it succeeded) or a new one, started at most
once (:func:`~airflow_glue_runs._internal.start.reattach.start_once`). What this module does with Glue is blocking and
runs on
the worker only; the decisions (identity, records, plans) are in :mod:`airflow_glue_runs._internal.start.reattach`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_glue_runs._internal.run.secrets import describe_error
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT, RunIdentity, RunLedger
from airflow_glue_runs._internal.start.reattach import (
    Logger,
    Plan,
    find_marked_run,
    orphaned_run,
    plan_for,
    previous_run,
    start_once,
    superseded_stopping_run,
)
from airflow_glue_runs.exceptions import ErrorKind, classify_error
from airflow_glue_runs.job_run import JobRun, JobRunState

if TYPE_CHECKING:
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["FIRST_READ_ATTEMPTS", "STOP_WAIT", "RunAcquisition", "StartProgress"]

FIRST_READ_ATTEMPTS = 3
"""Reads of a newly started run before a transient fault fails the try (a retry then reattaches)."""
STOP_WAIT = timedelta(minutes=10)
"""How long a cleared task waits for its old run to finish STOPPING before starting the fresh one anyway."""


@dataclasses.dataclass
class StartProgress:
    """What a try knows about its run so far; ``on_kill`` reads it from another thread."""

    run_id: str | None = None
    """The run this try waits for, as soon as its id is known."""
    start_attempted: bool = False
    """StartJobRun was called: a run marked with the try's token may exist even without an id."""
    killed: bool = False
    """The task was killed; a run started after that is stopped at once."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunAcquisition:
    """Get the run of one try: an earlier try's run, or a new one started at most once.

    :param hook: reads runs (botocore retries on).
    :param start_hook: calls StartJobRun (botocore retries off:
        :func:`~airflow_glue_runs._internal.start.reattach.start_once`
        decides about retries).
    :param log: the task's logger, masking what it logs (AWS error texts may quote secret values).
    :param redact: returns the task's current masking of secret values (for Glue's BatchStopJobRun errors).
    """

    hook: GlueJobRunHook
    start_hook: GlueJobRunHook
    job_name: str
    poll_interval: float
    log: Logger
    progress: StartProgress
    redact: Callable[[], Callable[[str], str]]

    def stop(self, run_id: str, reason: str) -> None:
        """Stop a run (BatchStopJobRun), best effort: an error is logged, masked, and never raised.

        Stopping happens on the way out (a kill, a queue timeout, a Clear's leftover run): the task's own outcome
        must still go through.
        """
        self.log.warning("Stopping Glue job run %s of job %s because %s.", run_id, self.job_name, reason)
        try:
            self.hook.stop_job_runs(self.job_name, [run_id], redact=self.redact())
        except Exception as error:
            self.log.warning(
                "Could not stop Glue job run %s of job %s: %s", run_id, self.job_name, describe_error(error)
            )

    def acquire(
        self, identity: RunIdentity, ledger: RunLedger, arguments: Mapping[str, str], options: Mapping[str, Any]
    ) -> JobRun:
        """Return the run this try waits for: an earlier try's run (reattached or adopted) or a new one."""
        earlier = previous_run(ledger, identity, self.hook, self.job_name, self.log)
        plan = plan_for(earlier)
        if earlier is not None and plan is not Plan.START:
            self.progress.run_id = earlier.id
            verb = "Adopting the success of" if plan is Plan.ADOPT else "Reattaching to"
            self.log.info("%s Glue job run %s (%s), started by an earlier try.", verb, earlier.id, earlier.state)
            return earlier
        if earlier is not None:
            self.log.info("Glue job run %s of an earlier try ended %s: starting a new run.", earlier.id, earlier.state)
        elif (stopping := superseded_stopping_run(ledger, identity, self.hook, self.job_name)) is not None:
            self._wait_until_stopped(stopping)
        elif (orphan := orphaned_run(ledger, identity, self.hook, self.job_name)) is not None:
            self._stop_orphan(orphan)
        ledger.record_pending(identity, self.job_name)
        self.progress.start_attempted = True
        marked = {**arguments, MARKER_ARGUMENT: identity.token}
        run_id, found = start_once(
            lambda: self.start_hook.start_job_run(self.job_name, marked, **options),
            lambda: find_marked_run(self.hook, self.job_name, identity.token),
            log=self.log,
            job_name=self.job_name,
            token=identity.token,
        )
        self.progress.run_id = run_id
        ledger.record_started(identity, self.job_name, run_id)
        if self.progress.killed:
            self.stop(run_id, "the task was killed while StartJobRun was in flight")
        return found if found is not None else self._read_new_run(run_id)

    def killed(self, identity: RunIdentity | None, *, stop: bool) -> None:
        """The task was killed: stop this try's run (``stop_on_kill``), or say it is left running."""
        self.progress.killed = True
        if not stop:
            if self.progress.run_id is not None:
                self.log.warning("Leaving Glue job run %s running (stop_on_kill=False).", self.progress.run_id)
            return
        if (run_id := self.run_to_stop(identity)) is not None:
            self.stop(run_id, "the task was killed")

    def run_to_stop(self, identity: RunIdentity | None) -> str | None:
        """Return the id of this try's run for ``on_kill``, looking it up by its token if StartJobRun was in flight."""
        if self.progress.run_id is not None:
            return self.progress.run_id
        if not self.progress.start_attempted or identity is None:
            return None
        # Killed while StartJobRun was in flight: the run may exist without its id having reached us.
        try:
            found = find_marked_run(self.hook, self.job_name, identity.token)
        except Exception as error:
            self.log.warning(
                "Could not look for the run of this try to stop it (%s). If it exists it has the job argument "
                "%s=%s; a Clear of the task stops it.",
                error,
                MARKER_ARGUMENT,
                identity.token,
            )
            return None
        return found.id if found is not None and not found.is_terminal else None

    def _stop_orphan(self, run: JobRun) -> None:
        """Stop the run an earlier generation started but never learned the id of, and let it leave STOPPING."""
        self.stop(run.id, "an earlier try started it without learning its id, and the task was cleared since")
        run = self.hook.get_job_run(self.job_name, run.id)
        if run.state is JobRunState.STOPPING:
            self._wait_until_stopped(run)

    def _wait_until_stopped(self, run: JobRun) -> None:
        """Wait (at most :data:`STOP_WAIT`) for the run a Clear stopped to leave STOPPING and free its slot."""
        self.log.info(
            "Glue job run %s, started before the task was cleared, is still STOPPING: waiting for it to stop "
            "before starting a fresh run (it holds one of the job's MaxConcurrentRuns slots).",
            run.id,
        )
        deadline = time.monotonic() + STOP_WAIT.total_seconds()
        while run.state is JobRunState.STOPPING and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            run = self.hook.get_job_run(self.job_name, run.id)
        self.log.info("Glue job run %s is %s; starting a fresh run.", run.id, run.state)

    def _read_new_run(self, run_id: str) -> JobRun:
        """Read a run just started; a transient fault is retried a few polls later (the run exists)."""
        attempt = 1
        while True:
            try:
                return self.hook.get_job_run(self.job_name, run_id)
            except Exception as error:
                if attempt >= FIRST_READ_ATTEMPTS or classify_error(error) != ErrorKind.TRANSIENT:
                    raise
                self.log.warning("Could not read new Glue job run %s yet: %s", run_id, error)
            attempt += 1
            time.sleep(self.poll_interval)
