from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="nightly_etl",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    GlueJobRunOperator(
        task_id="transform",
        job_name="nightly-etl",
        arguments={"--day": "{{ ds }}", "--db-password": "{{ var.value.db_password }}"},  # masked
        deferrable=True,  # wait in the triggerer, not on a worker slot
        forward_logs=True,  # the Glue driver's lines in the task log
    )
