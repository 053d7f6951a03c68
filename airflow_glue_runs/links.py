"""The "Glue job run" extra link: the run's page in the AWS console, for the connection's region and partition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_glue_runs._internal.console import console_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = ["LINK_XCOM_KEY", "GlueJobRunLink", "link_target"]

LINK_XCOM_KEY = "glue_job_run_link"
"""XCom the operator pushes as soon as the run id is known: ``{"region_name", "job_name", "run_id"}``."""


def link_target(region_name: str, job_name: str, run_id: str) -> dict[str, str]:
    """Return the XCom value :class:`GlueJobRunLink` reads."""
    return {"region_name": region_name, "job_name": job_name, "run_id": run_id}


class GlueJobRunLink(BaseOperatorLink):
    """Link a task to its Glue job run in the AWS console (Glue Studio's run page).

    Airflow computes the link on the worker when the task process ends (also when it defers) and stores it
    for the UI; the link reads the ``glue_job_run_link`` XCom, so it points at the run as soon as the run
    is known, including while the task is deferred.
    """

    name = "Glue job run"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the console URL of the task's run, or ``""`` before a run is known."""
        from airflow.sdk.execution_time.xcom import XCom

        target: Any = XCom.get_value(ti_key=ti_key, key=LINK_XCOM_KEY)
        if not isinstance(target, dict):
            return ""
        try:
            return console_url(str(target["region_name"]), str(target["job_name"]), str(target["run_id"]))
        except KeyError:
            return ""
