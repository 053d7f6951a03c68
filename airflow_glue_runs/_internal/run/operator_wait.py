"""How :class:`~airflow_glue_runs.operators.GlueJobRunOperator` waits for the run it started: on the worker or deferred.

Mixed into the operator, which sets the attributes declared here. Judging each read is
:class:`~airflow_glue_runs._internal.run.waiting.RunWatch`'s; the blocking loop is
:class:`~airflow_glue_runs._internal.polling.worker_wait.WorkerWait`; the trigger is built by
:func:`~airflow_glue_runs._internal.run.deferral.glue_run_trigger`. This module wires them to the task's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_glue_runs._internal.glue_logs.forwarding import WorkerLogForwarder, worker_forwarder
from airflow_glue_runs._internal.polling.worker_wait import WorkerWait
from airflow_glue_runs._internal.run.deferral import glue_run_trigger
from airflow_glue_runs._internal.run.glue_task import GlueTask
from airflow_glue_runs._internal.run.waiting import RunWatch, WaitResult, WaitUntil, deferral_timeout

if TYPE_CHECKING:
    from airflow_glue_runs._internal.glue_logs.locations import ForwardLogs
    from airflow_glue_runs._internal.masking import Redactor
    from airflow_glue_runs.job_run import JobRun

__all__ = ["OperatorWait"]


class OperatorWait(GlueTask):
    """Watch the operator's run until the wait is over: read once, then poll on the worker or defer to the trigger."""

    deferrable: bool
    poll_interval: float
    max_queue_wait: float | None
    wait_until: WaitUntil
    running_for: float | None
    stop_on_kill: bool
    forward_logs: ForwardLogs
    secret_arguments: tuple[str, ...]
    _logs: WorkerLogForwarder | None
    _result_uri: str | None

    def _redactor(self, run: JobRun | None = None) -> Redactor:
        raise NotImplementedError

    def _wait(self, run: JobRun, secrets: Sequence[str]) -> WaitResult:
        """Return the verdict on ``run`` as first read, else defer (raises ``TaskDeferred``) or poll on the worker.

        :param secrets: the secret values the task sent, masked in forwarded log lines.
        """
        watch = RunWatch(
            job_name=self.job_name,
            run_id=run.id,
            max_queue_wait=self.max_queue_wait,
            wait_until=self.wait_until,
            running_for=self.running_for,
        )
        self._logs = worker_forwarder(
            self.hook,
            self.job_name,
            run.id,
            self.forward_logs,
            log=self._task_log(),
            secret_arguments=self.secret_arguments,
            secrets=secrets,
            job_defaults=self._job_defaults,
        )
        waiting = self._worker_wait(watch)
        result = waiting.observe(run)
        if result is None and self.deferrable:
            self._defer(run, watch)
        return result if result is not None else waiting.wait()

    def _worker_wait(self, watch: RunWatch) -> WorkerWait:
        return WorkerWait(
            hook=self.hook,
            watch=watch,
            log=self._task_log(),
            redactor=self._redactor,
            poll_interval=self.poll_interval,
            logs=self._logs,
            forward_while_waiting=not self.deferrable,
        )

    def _defer(self, run: JobRun, watch: RunWatch) -> NoReturn:
        timeout = deferral_timeout(run, max_queue_wait=self.max_queue_wait, poll_interval=self.poll_interval)
        self._task_log().info("Deferring the wait on Glue job run %s (deadline in %s).", run.id, timeout)
        position = self._logs.position_json() if self._logs is not None else None
        trigger = glue_run_trigger(
            self,
            run.id,
            poll_interval=self.poll_interval,
            stop_on_kill=self.stop_on_kill,
            log_position=position,
            running_since=watch.running_since,
        )
        kwargs: dict[str, Any] | None = {"job_result_uri": self._result_uri} if self.job_result is not None else None
        defer = getattr(self, "defer")  # noqa: B009 - BaseOperator's, which raises TaskDeferred
        defer(trigger=trigger, method_name="execute_complete", timeout=timeout, kwargs=kwargs)
        raise AssertionError("BaseOperator.defer returned")
