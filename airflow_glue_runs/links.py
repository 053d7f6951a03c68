"""The extra links "Glue job run" and "Glue job": console pages for the connection's region and partition.

"Glue job run" is the run's page (the run operator and sensor); "Glue job" the job's (the definition operator).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_glue_runs._internal.console import console_url, job_console_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = ["JOB_LINK_XCOM_KEY", "LINK_XCOM_KEY", "GlueJobLink", "GlueJobRunLink", "link_target"]

LINK_XCOM_KEY = "glue_job_run_link"
"""XCom the operator pushes as soon as the run id is known: ``{"region_name", "job_name", "run_id"}``."""
JOB_LINK_XCOM_KEY = "glue_job_link"
"""XCom ``GlueJobDefinitionOperator`` pushes before it reads the job: ``{"region_name", "job_name"}``."""


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


class GlueJobLink(BaseOperatorLink):
    """Link a job-definition task to its Glue job in the AWS console (Glue Studio's job page)."""

    name = "Glue job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the console URL of the task's job, or ``""`` before the task has run."""
        from airflow.sdk.execution_time.xcom import XCom

        target: Any = XCom.get_value(ti_key=ti_key, key=JOB_LINK_XCOM_KEY)
        if not isinstance(target, dict):
            return ""
        try:
            return job_console_url(str(target["region_name"]), str(target["job_name"]))
        except KeyError:
            return ""
