"""Event wake-ups: one deferred Glue run per partition, read every ``poll_interval`` seconds (a DAG param).

The tests give it a poll interval far longer than they wait (300 s), so only the triggerer's event consumer can
explain a run's end being seen within a second, or a short one (10 s) below a short safety net. The interval is
mapped with the arguments (``expand_kwargs``): the operator does not template it.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_glue_runs.operators import GlueJobRunOperator

with DAG(
    dag_id="e2e_glue_events",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "job_name": Param("e2e-events", type="string"),
        "partitions": Param(["p0", "p1"], type="array"),
        "poll_interval": Param(300, type="integer", minimum=1),
    },
):

    @task
    def waits(**context: Any) -> list[dict[str, Any]]:
        """Return one set of operator arguments per partition."""
        params = context["params"]
        return [
            {"arguments": {"--partition": partition}, "poll_interval": params["poll_interval"]}
            for partition in params["partitions"]
        ]

    GlueJobRunOperator.partial(
        task_id="process_partition",
        job_name="{{ params.job_name }}",
        deferrable=True,
    ).expand_kwargs(waits())
