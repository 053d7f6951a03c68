from airflow.sdk import DAG

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG("nightly_events", schedule=None) as dag:
    # deferrable: it waits in the triggerer, which reads the event queue
    GlueJobRunOperator(task_id="etl", job_name="nightly", deferrable=True, poll_interval=1)
