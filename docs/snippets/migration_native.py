from __future__ import annotations

from airflow.sdk import DAG

from airflow_glue_runs.amazon import GlueJobOperator

with DAG(dag_id="docs_migration_before", schedule=None):
    # --8<-- [start:before]
    # Before (the Amazon provider, or airflow_glue_runs.amazon)
    submit = GlueJobOperator(
        task_id="submit_glue_job",
        job_name="nightly-etl",
        script_location="s3://my-bucket/etl_script.py",
        iam_role_name="GlueJobRole",
        create_job_kwargs={"GlueVersion": "4.0", "NumberOfWorkers": 2, "WorkerType": "G.1X"},
        script_args={"--day": "{{ ds }}"},
        verbose=True,
    )
    # --8<-- [end:before]

with DAG(dag_id="docs_migration_after", schedule=None):
    # --8<-- [start:after]
    # After (native)
    from airflow_glue_runs.operators import GlueJobDefinitionOperator, GlueJobRunOperator

    define = GlueJobDefinitionOperator(
        task_id="define_job",
        job_name="nightly-etl",
        role="GlueJobRole",
        command={"name": "glueetl", "script": "s3://my-bucket/etl_script.py"},
        glue_version="4.0",
        worker_type="G.1X",
        number_of_workers=2,
    )
    run = GlueJobRunOperator(
        task_id="run_job",
        job_name="nightly-etl",
        arguments={"--day": "{{ ds }}"},
        forward_logs=True,
    )
    define >> run
    # --8<-- [end:after]
