"""Run a Python shell job that counts the rows of a CSV, then branch on the count it hands back (job results).

``count_rows.py`` (in ``glue_scripts/``) reads the CSV named by ``--input`` and calls ``write_result({"rows": N,
...})`` from ``glue_job_result.py``, the helper file this provider ships for Glue jobs. The run task asks for the
result (``job_result="required"``) and returns it, so ``route`` reads ``rows`` from XCom and picks ``load`` or
``nothing_to_load``.

Against the local Glue (``make demo``) the job runs for real in a child process; the demo creates the buckets,
uploads the CSV and the helper file. Against AWS set the params to your buckets and role, upload the CSV, and
upload the helper (``python -c "import airflow_glue_runs.glue_job_result as m; print(m.__file__)"``) to the
``--extra-py-files`` location; the docs' "Job results" page lists the IAM actions.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param, task

from airflow_glue_runs.operators import GlueJobDefinitionOperator, GlueJobRunOperator

with DAG(
    dag_id="example_glue_job_result",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "job_name": Param("demo-count-rows", type="string", description="Glue Python shell job to define and run"),
        "script_bucket": Param("demo-glue-scripts", type="string", description="S3 bucket for the script"),
        "input": Param("s3://demo-glue-data/orders.csv", type="string", description="CSV whose rows to count"),
        "helper": Param(
            "s3://demo-glue-scripts/libs/glue_job_result.py", type="string", description="the uploaded helper file"
        ),
        "temp_dir": Param("s3://demo-glue-temp/", type="string", description="the job's --TempDir (results go here)"),
        "role": Param("GlueJobRole", type="string", description="IAM role of the job (name or ARN)"),
    },
    tags=["glue", "example"],
) as dag:
    define_job = GlueJobDefinitionOperator(
        task_id="define_job",
        job_name="{{ params.job_name }}",
        role="{{ params.role }}",
        command={"name": "pythonshell", "script": "glue_scripts/count_rows.py", "python_version": "3.9"},
        script_bucket="{{ params.script_bucket }}",
        max_capacity=0.0625,
        timeout=10,
        default_arguments={
            "--input": "{{ params.input }}",
            "--extra-py-files": "{{ params.helper }}",  # the job's, not a run's: a run's value would replace it
            "--TempDir": "{{ params.temp_dir }}",  # the result's default prefix
        },
    )
    count_rows = GlueJobRunOperator(
        task_id="count_rows",
        job_name="{{ params.job_name }}",
        job_result="required",  # fail the task if the job wrote no result
        return_job_result=True,  # the result, not the run id, is the task's return value
        deferrable=True,
        poll_interval=2,
        forward_logs=True,  # the script's "Counted N rows" line in this task's log
    )

    @task.branch
    def route(result: dict[str, Any]) -> str:
        """Load when the job counted rows; there is nothing to load otherwise."""
        return "load" if result["rows"] > 0 else "nothing_to_load"

    define_job >> count_rows
    route(count_rows.output) >> [EmptyOperator(task_id="load"), EmptyOperator(task_id="nothing_to_load")]
