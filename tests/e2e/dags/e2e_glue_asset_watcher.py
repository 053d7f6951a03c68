"""Asset watcher end to end: a DAG run for each run of ``e2e-watched`` that succeeds, whoever started it.

The watcher reads the job every 5 s (the trigger's least ``poll_interval``); the task returns the Glue run ids of
the asset events behind its DAG run (Airflow may fold several events into one DAG run).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_glue_runs.event_triggers import GlueJobRunEndedTrigger

watched_runs = Asset(
    name="e2e_watched_runs",
    uri="s3://e2e-bucket/watched",
    watchers=[
        AssetWatcher(
            name="e2e_watched_succeeded",
            trigger=GlueJobRunEndedTrigger(job_name="e2e-watched", states=["SUCCEEDED"], poll_interval=5),
        )
    ],
)

with DAG(
    dag_id="e2e_glue_asset_watcher",
    schedule=[watched_runs],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):

    @task
    def glue_run_ids(triggering_asset_events: Any = None) -> list[str]:
        """Return the Glue run ids the triggering asset events carry, and log them."""
        events = triggering_asset_events[watched_runs] if triggering_asset_events else []
        run_ids = [event.extra["payload"]["run_id"] for event in events if event.extra.get("from_trigger")]
        print(f"Glue runs behind this DAG run: {run_ids}")
        return run_ids

    glue_run_ids()
