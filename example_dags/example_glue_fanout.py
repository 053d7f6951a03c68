"""Fan-out: one Glue run per partition through dynamic task mapping, then a summary of all runs.

Every mapped task starts its own run of ``demo-partition-etl`` and defers; one triggerer reads all of them with a
few GetJobRuns pages per poll. The last task reads each run's summary from XCom (key ``glue_job_run``).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_glue_runs.operators import SUMMARY_XCOM_KEY, GlueJobRunOperator

with DAG(
    dag_id="example_glue_fanout",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "job_name": Param("demo-partition-etl", type="string"),
        "partitions": Param(["eu-west", "eu-north", "us-east", "us-west", "ap-south", "ap-east"], type="array"),
    },
    tags=["glue", "example"],
) as dag:

    @task
    def list_partitions(**context: Any) -> list[dict[str, str]]:
        """Build one argument set per partition (in real life: list the partitions that landed today)."""
        # A run triggered without a logical date (REST or CLI) has no "ds": use the day it was due instead.
        day = context.get("ds") or context["dag_run"].run_after.strftime("%Y-%m-%d")
        return [{"--partition": p, "--day": day} for p in context["params"]["partitions"]]

    runs = GlueJobRunOperator.partial(
        task_id="process_partition",
        job_name="{{ params.job_name }}",
        worker_type="G.1X",
        number_of_workers=2,
        deferrable=True,
        poll_interval=2,
        retries=1,
    ).expand(arguments=list_partitions())

    @task
    def summarize(**context: Any) -> dict[str, Any]:
        """Add up the DPU-seconds of all partition runs and name the slowest partition."""
        summaries = context["ti"].xcom_pull(task_ids="process_partition", key=SUMMARY_XCOM_KEY)
        summaries = [s for s in summaries or [] if s]
        slowest = max(summaries, key=lambda s: s.get("execution_time") or 0)
        result = {
            "runs": len(summaries),
            "total_dpu_seconds": sum(s.get("dpu_seconds") or 0 for s in summaries),
            "slowest_partition": (slowest.get("arguments") or {}).get("--partition"),
            "slowest_execution_time": slowest.get("execution_time"),
        }
        print(f"Fan-out summary: {result}")
        return result

    runs >> summarize()
