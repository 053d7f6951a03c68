"""Start a streaming Glue job and succeed once it runs; check it is up; stop it at the end to show the cleanup.

``start_stream`` starts a run of a ``gluestreaming`` job, defers, and succeeds once the run has stayed RUNNING for 3
seconds (``wait_until="running"``, ``running_for=3``); the run is left running (the task logs how to stop it).
``stream_is_up`` is a sensor that checks the same way that the run is RUNNING, as a DAG would for a stream started
elsewhere. ``stop_stream`` stops the run with the hook (BatchStopJobRun): a real streaming DAG would leave it running
and stop it in a later maintenance DAG, or never. See docs/streaming-jobs.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

with DAG(
    dag_id="example_glue_streaming",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"job_name": Param("demo-clicks-stream", type="string")},
    tags=["glue", "example", "streaming"],
) as dag:
    start_stream = GlueJobRunOperator(
        task_id="start_stream",
        job_name="{{ params.job_name }}",
        arguments={"--source-stream": "clicks"},
        wait_until="running",
        running_for=3,
        deferrable=True,
        poll_interval=1,
    )
    stream_is_up = GlueJobRunSensor(
        task_id="stream_is_up",
        job_name="{{ params.job_name }}",
        run_id="{{ ti.xcom_pull(task_ids='start_stream') }}",
        wait_until="running",
        poke_interval=1,
        timeout=120,
    )

    @task
    def stop_stream(job_name: str, glue_run_id: str) -> list[str]:
        """Stop the streaming run (BatchStopJobRun); return the ids Glue accepted to stop."""
        from airflow_glue_runs.hooks import GlueJobRunHook

        return list(GlueJobRunHook().stop_job_runs(job_name, [glue_run_id]).stopped)

    start_stream >> stream_is_up
    stream_is_up >> stop_stream("{{ params.job_name }}", "{{ ti.xcom_pull(task_ids='start_stream') }}")
