from __future__ import annotations

from airflow.sdk import DAG

with DAG(dag_id="docs_job_result", schedule=None):
    # --8<-- [start:dag]
    from airflow_glue_runs.operators import GlueJobRunOperator

    count = GlueJobRunOperator(task_id="count_rows", job_name="count-csv-rows", job_result="required", deferrable=True)
    # downstream: "{{ ti.xcom_pull(task_ids='count_rows', key='glue_job_result')['rows'] }}"
    # --8<-- [end:dag]
