"""Harness smoke test: a plain task, then a task that defers to a core trigger and resumes in a worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task


class DeferBriefly(BaseOperator):
    """Defer for two seconds in the triggerer, then return where it resumed."""

    def execute(self, context: Any) -> None:
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=2)), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> str:
        return "resumed"


with DAG(dag_id="e2e_smoke", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def hello() -> str:
        return "hello"

    hello() >> DeferBriefly(task_id="defer_briefly")
