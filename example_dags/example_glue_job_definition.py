"""Define a Glue job from the DAG, then run it: ``GlueJobDefinitionOperator >> GlueJobRunOperator``.

The definition task creates ``demo-defined-etl`` when it is missing, uploads ``glue_scripts/example_etl.py`` to
S3 under a key holding its SHA-256, and afterwards changes only what the spec declares (nothing at all while the
spec and the script stay the same). It returns the diff. The run task then runs the job as defined.

Against the local Glue (``make demo``) the bucket ``demo-glue-scripts`` exists; against AWS set the params to
your bucket and a role Glue may assume, and grant the task the IAM actions the docs' "Job definitions" page lists.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_glue_runs.operators import GlueJobDefinitionOperator, GlueJobRunOperator

with DAG(
    dag_id="example_glue_job_definition",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "job_name": Param("demo-defined-etl", type="string", description="Glue job to define and run"),
        "script_bucket": Param("demo-glue-scripts", type="string", description="S3 bucket for the script"),
        "role": Param("GlueJobRole", type="string", description="IAM role of the job (name or ARN)"),
    },
    tags=["glue", "example"],
) as dag:
    define_job = GlueJobDefinitionOperator(
        task_id="define_job",
        job_name="{{ params.job_name }}",
        role="{{ params.role }}",
        # A path relative to this DAG file; an s3:// URI is used as it is (checked to exist).
        command={"name": "glueetl", "script": "glue_scripts/example_etl.py", "python_version": "3"},
        script_bucket="{{ params.script_bucket }}",
        glue_version="4.0",
        worker_type="G.1X",
        number_of_workers=2,
        timeout=60,
        max_concurrent_runs=2,
        # The job's defaults; a run's arguments override them. --local-glue-duration scripts the local Glue's run.
        default_arguments={"--source": "s3://example-bucket/raw", "--local-glue-duration": "2"},
        tags={"team": "data", "managed-by": "airflow"},
        # Update even while runs are active (they keep what they started with); "wait" or "fail" otherwise.
        on_active_runs="update",
    )
    run_job = GlueJobRunOperator(
        task_id="run_job",
        job_name="{{ params.job_name }}",
        arguments={"--day": "{{ ds }}"},
        deferrable=True,
        poll_interval=2,
    )
    define_job >> run_job
