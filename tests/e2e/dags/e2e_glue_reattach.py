"""Retry reattach: a task that waits on its worker with one retry; the test kills the worker mid-wait."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="e2e_glue_reattach",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    GlueJobRunOperator(
        task_id="run",
        job_name="e2e-reattach",
        arguments={"--day": "{{ ds }}"},
        deferrable=False,
        poll_interval=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
