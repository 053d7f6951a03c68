"""What a :class:`~airflow_glue_runs.operators.GlueJobRunOperator` task reports about its run, beyond its outcome.

XCom pushes (the run id, the console link's target, the run summary), the console URL, and the source of the task's
OpenLineage facets. The operator decides *when*; this module knows *what* and *how*, so the operator reads as
configure, acquire, wait, finish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.lineage.openlineage import LineageSource
from airflow_glue_runs._internal.run.summary import RUN_ID_XCOM_KEY, SUMMARY_XCOM_KEY, run_summary
from airflow_glue_runs.links import LINK_XCOM_KEY, link_target

if TYPE_CHECKING:
    from airflow_glue_runs._internal.masking import Redactor
    from airflow_glue_runs._internal.results.task import JobResults
    from airflow_glue_runs._internal.start.arguments import JobArguments
    from airflow_glue_runs.hooks import GlueJobRunHook
    from airflow_glue_runs.job_run import JobRun

__all__ = ["RunReport"]


@dataclasses.dataclass(kw_only=True)
class RunReport:
    """Push what one task knows about its run to XCom (each key at most once per try) and feed OpenLineage.

    :param hook: the task's hook (its region names the console link).
    :param job_name: the Glue job.
    :param secret_arguments: the task's ``secret_arguments`` (masked in the summary's arguments).
    :param push_enabled: the task's ``do_xcom_push``.
    :param redactor: the task's masking of secret values for a run (see the operator's ``_redactor``).
    """

    hook: GlueJobRunHook
    job_name: str
    secret_arguments: Collection[str]
    push_enabled: bool
    redactor: Callable[[JobRun | None], Redactor]
    last_run: JobRun | None = None
    """The run as last reported (its Glue text masked), for the OpenLineage facets."""
    job_result: dict[str, Any] | None = None
    """The job result as last reported (masked), for the OpenLineage facets."""

    def console_url(self, run_id: str) -> str:
        """Return the run's page in the AWS console."""
        return console_url(self.hook.conn_region_name, self.job_name, run_id)

    def push(self, context: Any, key: str, value: Any) -> None:
        """Push one XCom value, unless the task has ``do_xcom_push=False``."""
        if self.push_enabled:
            context["ti"].xcom_push(key=key, value=value)

    def started(self, context: Any, run_id: str) -> None:
        """Push the run id and the console link's target, as soon as the run id is known."""
        self.push(context, RUN_ID_XCOM_KEY, run_id)
        self.push(context, LINK_XCOM_KEY, link_target(self.hook.conn_region_name, self.job_name, run_id))

    def summary(
        self, context: Any, run: JobRun, arguments: JobArguments | None, *, results: JobResults | None = None
    ) -> None:
        """Push the run's summary (secret values masked) and remember the run for OpenLineage.

        With ``job_result`` on, the summary has a ``job_result`` key: the result taken (masked), or None.
        """
        self.last_run = run
        listed = arguments.listed if arguments is not None else ()
        summary = run_summary(
            run,
            job_name=self.job_name,
            console_url=self.console_url(run.id),
            secret_arguments=(*self.secret_arguments, *listed),
            sent_arguments=arguments.values if arguments is not None else None,
            redact=self.redactor(run),
        )
        if results is not None and results.enabled:
            summary["job_result"] = self.job_result = results.value
        self.push(context, SUMMARY_XCOM_KEY, summary)

    def lineage(self, run_id: str | None, arguments: JobArguments | None) -> LineageSource:
        """Return the source of the task's OpenLineage facets: the run's id, the run as last reported, the arguments."""
        return LineageSource.of(self.job_name, self.hook, run_id, self.last_run, arguments, job_result=self.job_result)
