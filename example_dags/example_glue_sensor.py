"""Start a Glue run without waiting, then wait for it with the sensor; also wait on the job's latest run.

``start`` returns the run id at once (``wait_for_completion=False``); ``wait_for_run`` pokes in reschedule mode,
freeing its worker slot between pokes; ``wait_for_latest`` defers to the triggerer and watches whatever run of
the job started most recently (here: the same one), as a DAG would for a run started by another system.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

with DAG(
    dag_id="example_glue_sensor",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_name": Param("demo-sensor-etl", type="string")},
    tags=["glue", "example"],
) as dag:
    start = GlueJobRunOperator(
        task_id="start",
        job_name="{{ params.job_name }}",
        arguments={"--day": "{{ dag_run.run_after | ds }}"},  # also set when triggered without a logical date
        wait_for_completion=False,
    )
    wait_for_run = GlueJobRunSensor(
        task_id="wait_for_run",
        job_name="{{ params.job_name }}",
        run_id="{{ ti.xcom_pull(task_ids='start') }}",
        mode="reschedule",
        poke_interval=2,
        timeout=600,
    )
    wait_for_latest = GlueJobRunSensor(
        task_id="wait_for_latest",
        job_name="{{ params.job_name }}",
        deferrable=True,
        poll_interval=2,
        timeout=600,
    )
    start >> [wait_for_run, wait_for_latest]
