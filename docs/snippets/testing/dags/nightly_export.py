from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG("nightly_export", schedule=None) as dag:
    GlueJobRunOperator(task_id="export", job_name="export", poll_interval=0.5, forward_logs=True)
