"""What the operator and the sensor share about the Glue job they watch: the hook, the job's defaults, the masking.

Mixed into :class:`~airflow_glue_runs.operators.GlueJobRunOperator` and
:class:`~airflow_glue_runs.sensors.GlueJobRunSensor`, which set the connection attributes and ``_secrets``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from airflow_glue_runs._internal.results.location import uri_of_run
from airflow_glue_runs._internal.results.task import JobResults

if TYPE_CHECKING:
    from airflow_glue_runs._internal.masking import Redactor
    from airflow_glue_runs._internal.run.secrets import TaskSecrets
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["GlueTask"]


class GlueTask:
    """The hook of a task's connection, its job's DefaultArguments (one GetJob per task) and its job result."""

    job_name: str
    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: Mapping[str, Any] | None
    job_result: str | None
    _secrets: TaskSecrets

    @cached_property
    def hook(self) -> GlueJobRunHook:
        """The Glue hook of the task's connection (botocore retries on)."""
        from airflow_glue_runs.hooks import GlueJobRunHook

        config = dict(self.botocore_config) if self.botocore_config is not None else None
        return GlueJobRunHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=config
        )

    @cached_property
    def _results(self) -> JobResults:
        """The task's job result (docs: "Job results"), read once the run has ended."""
        return JobResults(mode=self.job_result, s3_client=partial(self.hook.service_client, "s3"), log=self._task_log())

    def _task_log(self) -> Any:
        return getattr(self, "log")  # noqa: B009 - BaseOperator's logger, declared there

    def _job_defaults(self) -> Mapping[str, Any]:
        """Return the job's DefaultArguments: one GetJob per task, shared by masking, logs and the result prefix."""
        return self._secrets.defaults(self._read_job_defaults, self._task_log(), self.job_name)

    def _read_job_defaults(self) -> Mapping[str, Any]:
        return self.hook.get_job_default_arguments(self.job_name)

    def _run_result_uri(self, run_id: str) -> str | None:
        """Read the run (GetJobRun) for the result URI in its own arguments."""
        return uri_of_run(self.hook.get_job_run(self.job_name, run_id))

    def _result_redactor(self) -> Redactor:
        """Hide the task's secret values in the job's result (the job's defaults read even after a deferral)."""
        return self._secrets.job_output_redactor(None, self._read_job_defaults, self._task_log(), self.job_name)
