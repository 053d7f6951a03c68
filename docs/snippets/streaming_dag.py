from __future__ import annotations

from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

with DAG(dag_id="docs_streaming", schedule=None):
    start_stream = GlueJobRunOperator(
        task_id="start_stream",
        job_name="clicks-stream",          # a gluestreaming job
        wait_until="running",
        running_for=300,                   # it survived its first five minutes
        deferrable=True,
        poll_interval=30,
    )
    stream_is_up = GlueJobRunSensor(       # e.g. in another DAG: is the stream up?
        task_id="stream_is_up",
        job_name="clicks-stream",          # no run_id: the most recent run
        wait_until="running",
        poke_interval=60,
    )
