"""Daily Glue run with arguments templated from the DAG context, waited on in the triggerer, its log forwarded.

Against the local Glue (``make demo``) the job ``demo-daily-etl`` exists with a scripted run; against AWS,
point the ``aws_default`` connection at your account and set the ``job_name`` param to a real job.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="example_glue_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "job_name": Param("demo-daily-etl", type="string", description="Glue job to run"),
        "source": Param("s3://example-bucket/raw", type="string", description="Where the job reads from"),
    },
    tags=["glue", "example"],
) as dag:
    # Glue scripts read "--name" arguments with getResolvedOptions; {{ ds }} is the logical date.
    GlueJobRunOperator(
        task_id="transform_day",
        job_name="{{ params.job_name }}",
        arguments={"--day": "{{ ds }}", "--source": "{{ params.source }}", "--run-tag": "{{ run_id }}"},
        worker_type="G.1X",
        number_of_workers=2,
        timeout=60,
        deferrable=True,
        poll_interval=2,
        # Copy what the Glue script prints (its CloudWatch driver streams) into this task's log.
        forward_logs=True,
    )
