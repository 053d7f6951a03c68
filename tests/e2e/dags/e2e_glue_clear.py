"""Clear of a deferred task: a long run waited on in the triggerer, stopped when a user clears the task."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="e2e_glue_clear",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    GlueJobRunOperator(
        task_id="run",
        job_name="e2e-clear",
        deferrable=True,
        poll_interval=1,
        stop_on_kill=True,
    )
