"""The run summary the operator pushes to XCom, with secret argument values masked."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from airflow_glue_runs._internal.start.arguments import mask_arguments
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT
from airflow_glue_runs.job_run import JobRun

__all__ = ["RUN_ID_XCOM_KEY", "SUMMARY_XCOM_KEY", "run_summary"]

SUMMARY_XCOM_KEY = "glue_job_run"
"""XCom key of the run summary (see :func:`run_summary`), pushed once when the task learns how the run ended."""
RUN_ID_XCOM_KEY = "glue_job_run_id"
"""XCom key of the run id, pushed as soon as the run is known (before waiting or deferring)."""


def run_summary(
    run: JobRun,
    *,
    job_name: str,
    console_url: str | None,
    secret_arguments: Collection[str] = (),
    sent_arguments: Mapping[str, str] | None = None,
    redact: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Return the JSON summary of a run: what it did, what it cost, and why it ended.

    Keys: ``job_name``, ``run_id``, ``state``, ``attempt``, ``started_on``, ``completed_on`` (ISO 8601),
    ``execution_time`` (seconds), ``dpu_seconds``, ``worker_type``, ``number_of_workers``, ``max_capacity``,
    ``timeout`` (minutes), ``arguments`` (the run's arguments, secret values ``***``, without the
    ``--airflow-glue-runs-marker``), ``error_message``, ``state_detail``, ``console_url``. Fields Glue did not
    report are ``None``. ``sent_arguments`` stand in for the run's arguments when the run as seen carries none
    (a trigger event leaves them out). ``redact`` (a :class:`~airflow_glue_runs._internal.masking.Redactor`) hides
    secret
    values wherever else they appear: in Glue's ErrorMessage and StateDetail, and inside other arguments' values
    (a JDBC URL that embeds the password).
    """
    if redact is not None:
        run = run.with_glue_text(redact)
    arguments = run.arguments if run.arguments is not None else (sent_arguments or {})
    shown = {key: value for key, value in arguments.items() if key != MARKER_ARGUMENT}
    if redact is not None:
        shown = {key: redact(value) if isinstance(value, str) else value for key, value in shown.items()}
    return {
        "job_name": run.job_name or job_name,
        "run_id": run.id,
        "state": run.state.value if run.state is not None else None,
        "attempt": run.attempt,
        "started_on": run.started_on.isoformat() if run.started_on else None,
        "completed_on": run.completed_on.isoformat() if run.completed_on else None,
        "execution_time": run.execution_time,
        "dpu_seconds": run.dpu_seconds,
        "worker_type": run.worker_type,
        "number_of_workers": run.number_of_workers,
        "max_capacity": run.max_capacity,
        "timeout": run.timeout,
        "arguments": mask_arguments(shown, secret_arguments),
        "error_message": run.error_message,
        "state_detail": run.state_detail,
        "console_url": console_url,
    }
