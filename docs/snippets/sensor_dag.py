from __future__ import annotations

from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

# --8<-- [start:import]
from airflow_glue_runs.sensors import GlueJobRunSensor
# --8<-- [end:import]

with DAG(dag_id="docs_sensor", schedule=None):
    start = GlueJobRunOperator(task_id="start", job_name="nightly", wait_for_completion=False)
    # --8<-- [start:sensor]
    GlueJobRunSensor(task_id="wait", job_name="nightly", run_id="{{ ti.xcom_pull(task_ids='start') }}",
                     mode="reschedule", poke_interval=60, timeout=6 * 3600)
    GlueJobRunSensor(task_id="wait_latest", job_name="nightly", deferrable=True, poll_interval=30)
    # --8<-- [end:sensor]
