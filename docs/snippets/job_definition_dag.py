from __future__ import annotations

from airflow.sdk import DAG

with DAG(dag_id="docs_job_definition", schedule=None):
    # --8<-- [start:define]
    from airflow_glue_runs.operators import GlueJobDefinitionOperator, GlueJobRunOperator

    define = GlueJobDefinitionOperator(
        task_id="define_job",
        job_name="nightly-etl",
        role="GlueJobRole",                                   # a name or an ARN, sent to Glue as is (no IAM call)
        command={"name": "glueetl", "script": "glue_scripts/etl.py", "python_version": "3"},  # or "s3://..."
        script_bucket="my-glue-scripts",                      # where a local script is uploaded
        glue_version="4.0",
        worker_type="G.1X", number_of_workers=10,
        timeout=120, max_retries=0, max_concurrent_runs=5,
        default_arguments={"--source": "s3://raw", "--db-password": "{{ var.value.db_password }}"},  # masked
        tags={"team": "data"},
    )
    run = GlueJobRunOperator(task_id="run_job", job_name="nightly-etl", arguments={"--day": "{{ ds }}"})
    define >> run
    # --8<-- [end:define]
