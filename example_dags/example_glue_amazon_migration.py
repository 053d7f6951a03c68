"""The Amazon provider's own Glue example (``example_glue``'s job steps) with only its import lines changed.

Before the switch the import lines read ``from airflow.providers.amazon.aws.operators.glue import GlueJobOperator``
and ``from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor``; nothing else differs from the Amazon
provider's steps: upload the script to S3, run the job with the job-definition parameters (the job is created on
the first run, left as it is afterwards), then wait for the run with the sensor on the operator's output.

Against the local Glue (``make demo``) the bucket ``demo-glue-scripts`` and the role ``GlueJobRole`` exist; against
AWS use your own bucket and a role Glue may assume. The docs' "Migrating from the Amazon provider" shows the same
steps in this provider's native form.
"""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.operators.s3 import S3CreateObjectOperator
from airflow.sdk import DAG, chain

from airflow_glue_runs.amazon import GlueJobOperator, GlueJobSensor

BUCKET = "demo-glue-scripts"
ROLE_NAME = "GlueJobRole"
JOB_NAME = "demo-amazon-migration-etl"

# A small Spark script, as in the Amazon provider's example (it reads a catalog table and counts its rows).
SCRIPT = """
from awsglue.context import GlueContext
from pyspark.context import SparkContext

glue_context = GlueContext(SparkContext.getOrCreate())
frame = glue_context.create_dynamic_frame.from_catalog(database="demo_db", table_name="input")
print(f"There are {frame.count()} items in the table")
"""

with DAG(
    dag_id="example_glue_amazon_migration",
    schedule="@once",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["glue", "example", "migration"],
) as dag:
    upload_script = S3CreateObjectOperator(
        task_id="upload_script",
        s3_bucket=BUCKET,
        s3_key="etl_script.py",
        data=SCRIPT,
        replace=True,
    )

    submit_glue_job = GlueJobOperator(
        task_id="submit_glue_job",
        job_name=JOB_NAME,
        script_location=f"s3://{BUCKET}/etl_script.py",
        s3_bucket=BUCKET,
        iam_role_name=ROLE_NAME,
        create_job_kwargs={"GlueVersion": "3.0", "NumberOfWorkers": 2, "WorkerType": "G.1X"},
    )
    # As in the Amazon provider's example: start the run without waiting, so the sensor below waits for it.
    submit_glue_job.wait_for_completion = False

    wait_for_job = GlueJobSensor(
        task_id="wait_for_job",
        job_name=JOB_NAME,
        run_id=submit_glue_job.output,  # the run id the operator returned
        verbose=True,  # the run's driver log lines in the task log
    )
    wait_for_job.poke_interval = 5

    chain(upload_script, submit_glue_job, wait_for_job)
