"""Waiting for a run on the worker: the operator's blocking poll loop; the triggerer has its own poller.

Judging each read is :class:`~airflow_glue_runs._internal.run.waiting.RunWatch`'s, as in the trigger and the sensor;
this module
only reads, sleeps between reads, logs what the watch says (secret values masked) and hands each read to the Glue
log forwarder. It does not consume the triggerer's event queue (``[glue_runs] event_queue_url``): a worker that
received from it would delete the triggerer's hints.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_glue_runs._internal.glue_logs.forwarding import WorkerLogForwarder
    from airflow_glue_runs._internal.masking import Redactor
    from airflow_glue_runs._internal.run.waiting import RunWatch, WaitResult
    from airflow_glue_runs._internal.start.reattach import Logger
    from airflow_glue_runs.hooks import GlueJobRunHook
    from airflow_glue_runs.job_run import JobRun

__all__ = ["WorkerWait"]


def _now() -> datetime:
    """Return the wall-clock time a read is judged at (timezone-aware; tests replace it)."""
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerWait:
    """Watch one run from the worker until it is over.

    :param watch: the waiting policy for this run.
    :param redactor: the masking of secret values for texts built from a read of the run.
    :param logs: the run's Glue log forwarder (``forward_logs``), or ``None``.
    :param forward_while_waiting: forward lines at each read (False when the wait is about to be deferred: the
        trigger forwards them from the position reached).
    """

    hook: GlueJobRunHook
    watch: RunWatch
    log: Logger
    redactor: Callable[[JobRun | None], Redactor]
    poll_interval: float
    logs: WorkerLogForwarder | None = None
    forward_while_waiting: bool = True

    def observe(self, run: JobRun) -> WaitResult | None:
        """Judge one read of the run: log what changed, forward Glue's lines, return the verdict once it is over."""
        lines, result = self.watch.observe(run, _now())
        redact = self.redactor(run)
        for line in lines:
            self.log.info("%s", redact(line))
        if self.logs is not None and result is not None and run.is_terminal:
            self.logs.final_flush(run)
        elif self.logs is not None and result is None and self.forward_while_waiting:
            self.logs.poll(run)
        return result

    def wait(self) -> WaitResult:
        """Poll until the run is over; the task's ``execution_timeout`` bounds this loop (then ``on_kill`` runs).

        Read errors are judged like the trigger's and the sensor's: a transient fault costs a poll, a vanished
        run or a denied read ends the wait, anything else propagates.
        """
        while True:
            time.sleep(self.poll_interval)
            try:
                run = self.hook.get_job_run(self.watch.job_name, self.watch.run_id)
            except Exception as error:
                if (verdict := self.watch.judge_read_error(error)) is not None:
                    return verdict
                message = self.redactor(None)(str(error))
                self.log.warning("Could not read Glue job run %s this poll: %s", self.watch.run_id, message)
                continue
            if (result := self.observe(run)) is not None:
                return result
