"""The OpenLineage facets of a Glue job run, for the task's own lineage events (needs OpenLineage installed).

Imported only by the operator's and the sensor's ``get_openlineage_facets_on_complete/on_failure``, which the
OpenLineage listener calls; it reads a :class:`~airflow_glue_runs._internal.lineage.openlineage.LineageSource`.

Run facets: ``externalQuery`` (:class:`ExternalQueryRunFacet`: the JobRunId, source ``glue://<region>``),
``glueJobRun`` (:class:`GlueJobRunFacet`: the run's summary and job result) and, on failure, ``glueErrorMessage``
(:class:`ErrorMessageRunFacet` with Glue's ErrorMessage, secret values masked). The listener writes the task's
own exception under the standard ``errorMessage`` key, so Glue's message has a key of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.openlineage.facet import (
    ErrorMessageRunFacet,
    ExternalQueryRunFacet,
    RunFacet,
)
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define

from airflow_glue_runs._internal.lineage.openlineage import mask_secret_values

if TYPE_CHECKING:
    from airflow_glue_runs._internal.lineage.openlineage import LineageSource

__all__ = ["ERROR_FACET", "EXTERNAL_QUERY_FACET", "RUN_FACET", "GlueJobRunFacet", "operator_lineage", "source_name"]

EXTERNAL_QUERY_FACET = "externalQuery"
RUN_FACET = "glueJobRun"
ERROR_FACET = "glueErrorMessage"


@define
class GlueJobRunFacet(RunFacet):
    """The Glue job run behind an Airflow task: what ran, how it ended, what it cost.

    Fields Glue did not report are ``None``.
    """

    jobName: str
    runId: str | None = None
    region: str | None = None
    attempt: int | None = None
    state: str | None = None
    executionTime: int | None = None
    dpuSeconds: float | None = None
    workerType: str | None = None
    numberOfWorkers: int | None = None
    maxCapacity: float | None = None
    executionClass: str | None = None
    glueVersion: str | None = None
    jobResult: dict[str, Any] | None = None
    """The JSON object the job wrote with ``glue_job_result.write_result`` (secret values masked), when read."""

    _additional_skip_redact = ["jobName", "runId", "region", "state", "workerType", "executionClass", "glueVersion"]


def source_name(region: str | None) -> str:
    """Return the ``ExternalQueryRunFacet`` source of a Glue run: ``glue://<region>``."""
    return f"glue://{region or 'unknown-region'}"


def operator_lineage(source: LineageSource, *, failed: bool) -> Any:
    """Return the ``OperatorLineage`` of a task whose Glue run is ``source`` (no inputs or outputs: Spark's own)."""
    facets: dict[str, Any] = {}
    run = source.run
    run_id = run.id if run is not None else source.run_id
    if run_id is not None:
        facets[EXTERNAL_QUERY_FACET] = ExternalQueryRunFacet(externalQueryId=run_id, source=source_name(source.region))
        facets[RUN_FACET] = GlueJobRunFacet(
            jobName=(run.job_name if run is not None else None) or source.job_name,
            runId=run_id,
            region=source.region,
            attempt=run.attempt if run else None,
            state=run.state.value if run and run.state else None,
            executionTime=run.execution_time if run else None,
            dpuSeconds=run.dpu_seconds if run else None,
            workerType=run.worker_type if run else None,
            numberOfWorkers=run.number_of_workers if run else None,
            maxCapacity=run.max_capacity if run else None,
            executionClass=run.execution_class if run else None,
            glueVersion=run.glue_version if run else None,
            jobResult=source.job_result,
        )
    message = (run.error_message or run.state_detail) if run is not None else None
    if failed and message:
        # Glue's message comes from the job's driver (Python or Scala): the language is not known here.
        facets[ERROR_FACET] = ErrorMessageRunFacet(
            message=mask_secret_values(message, source.secrets), programmingLanguage="unknown"
        )
    return OperatorLineage(run_facets=facets)
