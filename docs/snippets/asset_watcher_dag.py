from __future__ import annotations

# --8<-- [start:dag]
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_glue_runs.event_triggers import GlueJobRunEndedTrigger

orders_curated = Asset(
    name="orders_curated",
    uri="s3://example-bucket/curated/orders",
    watchers=[
        AssetWatcher(
            name="orders_etl_succeeded",
            trigger=GlueJobRunEndedTrigger(job_name="orders-etl", states=["SUCCEEDED"], poll_interval=60),
        )
    ],
)

with DAG(dag_id="refresh_reports", schedule=[orders_curated]):

    @task
    def report_glue_run(triggering_asset_events=None):
        for event in triggering_asset_events[orders_curated]:
            run = event.extra["payload"]  # the Glue run's summary, see below
            print(run["job_name"], run["run_id"], run["state"], run["completed_on"])

    report_glue_run()
# --8<-- [end:dag]
