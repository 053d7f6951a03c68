from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG("nightly_etl", schedule=None) as dag:
    GlueJobRunOperator(task_id="etl", job_name="nightly", arguments={"--day": "{{ ds }}"}, poll_interval=0.5)
