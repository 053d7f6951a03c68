"""The trigger a task defers to: the operator and the sensor build it the same way from their settings.

The trigger carries primitives only (names, ids, intervals, the connection), never a secret value: the triggerer
stores its ``serialize()`` output in Airflow's database.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from airflow_glue_runs._internal.run.waiting import WaitUntil
    from airflow_glue_runs.triggers import GlueJobRunTrigger

__all__ = ["DeferringTask", "glue_run_trigger"]


class DeferringTask(Protocol):
    """The settings of a task (operator or sensor) that the trigger takes over."""

    @property
    def job_name(self) -> str: ...
    @property
    def max_queue_wait(self) -> float | None: ...
    @property
    def wait_until(self) -> WaitUntil: ...
    @property
    def running_for(self) -> float | None: ...
    @property
    def forward_logs(self) -> Any: ...
    @property
    def secret_arguments(self) -> Collection[str]: ...
    @property
    def aws_conn_id(self) -> str | None: ...
    @property
    def region_name(self) -> str | None: ...
    @property
    def verify(self) -> bool | str | None: ...
    @property
    def botocore_config(self) -> Mapping[str, Any] | None: ...


def glue_run_trigger(
    task: DeferringTask,
    run_id: str,
    *,
    poll_interval: float,
    stop_on_kill: bool,
    log_position: Mapping[str, Any] | None = None,
    running_since: datetime | None = None,
) -> GlueJobRunTrigger:
    """Return the :class:`~airflow_glue_runs.triggers.GlueJobRunTrigger` that waits on ``run_id`` for ``task``.

    :param poll_interval: seconds between reads of the run.
    :param stop_on_kill: stop the run when the deferred task is cleared or marked (the operator's choice; a sensor
        does not own the run).
    :param log_position: where the worker's log forwarding stopped, so the trigger goes on from there.
    :param running_since: when the task first saw the run RUNNING (``wait_until="running"``), so that the trigger
        goes on counting ``running_for`` from then.
    """
    from airflow_glue_runs.triggers import GlueJobRunTrigger

    return GlueJobRunTrigger(
        job_name=task.job_name,
        run_id=run_id,
        poll_interval=poll_interval,
        max_queue_wait=task.max_queue_wait,
        wait_until=task.wait_until,
        running_for=task.running_for,
        running_since=running_since.timestamp() if running_since is not None else None,
        stop_on_kill=stop_on_kill,
        forward_logs=task.forward_logs,
        secret_arguments=task.secret_arguments,
        log_position=log_position,
        deferred_at=time.time() if task.forward_logs else None,
        aws_conn_id=task.aws_conn_id,
        region_name=task.region_name,
        verify=task.verify,
        botocore_config=task.botocore_config,
    )
