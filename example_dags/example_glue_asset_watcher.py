"""Start a DAG when a run of a Glue job succeeds, whoever started it: an asset watched by GlueJobRunEndedTrigger.

The triggerer reads the job's newest runs every ``poll_interval`` seconds (one GetJobRuns call per job, shared by
every watcher of it) and adds an asset event for each run that newly succeeded, started from the console, a Glue
trigger, Step Functions or another DAG. Each asset event starts this DAG once; its task reads the Glue run from the
event. ``airflow dags test`` cannot fire a watcher: the demo parses this DAG only, and tests/test_asset_watcher.py
runs the watcher and this task's logic against the local Glue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_glue_runs.event_triggers import GlueJobRunEndedTrigger

orders_curated = Asset(
    name="orders_curated",
    uri="s3://example-bucket/curated/orders",
    watchers=[
        AssetWatcher(
            name="demo_orders_etl_succeeded",
            trigger=GlueJobRunEndedTrigger(job_name="demo-orders-etl", states=["SUCCEEDED"], poll_interval=60),
        )
    ],
)


def glue_runs_of(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Return the Glue run summaries that asset events carry (``extra["payload"]`` of a watcher's event)."""
    return [event.extra["payload"] for event in events if event.extra.get("from_trigger")]


with DAG(
    dag_id="example_glue_asset_watcher",
    schedule=[orders_curated],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["glue", "example"],
) as dag:

    @task
    def report_glue_run(triggering_asset_events: Any = None) -> list[str]:
        """Log the Glue run(s) behind this DAG run and return their run ids."""
        runs = glue_runs_of(triggering_asset_events[orders_curated] if triggering_asset_events else [])
        for run in runs:
            print(f"Glue job {run['job_name']} run {run['run_id']} ended {run['state']} at {run['completed_on']}")
        return [run["run_id"] for run in runs]

    report_glue_run()
