"""Job run queuing: runs of a one-at-a-time job wait in Glue's queue (WAITING) instead of being refused.

``demo-queued-etl`` allows one concurrent run. ``occupy`` starts a run and does not wait for it, so the job's only
slot is taken. ``impatient`` starts a queued run (``job_run_queuing_enabled=True``) that may wait 2 seconds: it
goes WAITING, the task stops its run when the wait is exceeded and fails with ``GlueJobRunQueueTimeoutError``.
``patient`` queues too, waits until the slot frees and then runs to success. ``impatient`` is expected to be the
only failed task; the DAG run itself ends success because its leaf, ``patient`` (``trigger_rule="all_done"``), did.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="example_glue_queuing",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_name": Param("demo-queued-etl", type="string")},
    tags=["glue", "example"],
) as dag:
    occupy = GlueJobRunOperator(
        task_id="occupy",
        job_name="{{ params.job_name }}",
        arguments={"--batch": "first"},
        wait_for_completion=False,
    )
    impatient = GlueJobRunOperator(
        task_id="impatient",
        job_name="{{ params.job_name }}",
        arguments={"--batch": "impatient"},
        job_run_queuing_enabled=True,
        max_queue_wait=2,
        deferrable=True,
        poll_interval=1,
    )
    patient = GlueJobRunOperator(
        task_id="patient",
        job_name="{{ params.job_name }}",
        arguments={"--batch": "patient"},
        job_run_queuing_enabled=True,
        max_queue_wait=600,
        deferrable=True,
        poll_interval=1,
        trigger_rule="all_done",
    )
    occupy >> impatient >> patient
