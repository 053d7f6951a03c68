from __future__ import annotations

from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(dag_id="docs_operator", schedule=None, params={"job": "nightly"}):
    # --8<-- [start:operator]
    GlueJobRunOperator(
        task_id="transform",
        job_name="{{ params.job }}",
        arguments={"--day": "{{ ds }}", "--conn-uri": "{{ var.value.conn }}"},  # or "--day=2026-01-01,--mode=full", or JSON
        secret_arguments=["--conn-uri"],
        worker_type="G.1X",
        number_of_workers=10,
        timeout=120,
        deferrable=True,
        poll_interval=30,
        max_queue_wait=600,
    )
    # --8<-- [end:operator]
    # --8<-- [start:logs]
    GlueJobRunOperator(task_id="transform_logged", job_name="nightly", deferrable=True, forward_logs=True)
    # --8<-- [end:logs]
