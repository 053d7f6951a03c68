from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG("nightly_events", schedule=None) as dag:
    GlueJobRunOperator(task_id="etl", job_name="nightly", deferrable=True, poll_interval=1)  # waits in the triggerer
