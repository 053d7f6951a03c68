"""What a task does with its run's job result: ask for one before the start, take it once the run has ended.

Shared by :class:`~airflow_glue_runs.operators.GlueJobRunOperator` and
:class:`~airflow_glue_runs.sensors.GlueJobRunSensor`. The policy:

- ``job_result=None``: nothing (no argument sent, no S3 call).
- The run SUCCEEDED: a result is read and pushed to XCom ``glue_job_result``; without one, ``"required"`` fails
  the task with :class:`~airflow_glue_runs.exceptions.GlueJobRunResultError` and ``"optional"`` logs a warning.
  A result that is there but unusable (too large, stale, not a JSON object, unreadable) fails the task either way.
- The run ended badly: a result, if present, is read, logged and pushed (a partial result helps diagnose), then the
  task fails for the run's outcome as before; a missing or unusable result never hides that outcome.
- The run never ended (a queue timeout, a vanished run): nothing is read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_glue_runs._internal.results.reader import read_result
from airflow_glue_runs.exceptions import GlueJobRunResultError
from airflow_glue_runs.glue_job_result import RESULT_URI_ARGUMENT

if TYPE_CHECKING:
    from airflow_glue_runs._internal.run.waiting import WaitResult

__all__ = ["JOB_RESULT_XCOM_KEY", "JobResults"]

JOB_RESULT_XCOM_KEY = "glue_job_result"
"""XCom key of the run's job result (a JSON object, secret values masked)."""


@dataclasses.dataclass(kw_only=True)
class JobResults:
    """Take one run's job result for a task, once.

    :param mode: the task's ``job_result`` (``"required"``, ``"optional"``; None: off).
    :param s3_client: returns a boto3 S3 client on the task's connection (called once, when there is a URI).
    :param log: the task's logger.
    """

    mode: str | None
    s3_client: Callable[[], Any]
    log: Any
    value: dict[str, Any] | None = None
    """The result taken (masked), None when off, missing or not read yet."""

    @property
    def enabled(self) -> bool:
        """Whether the task asked for a result."""
        return self.mode is not None

    def take(
        self,
        result: WaitResult,
        uri: str | None,
        redact: Callable[[], Callable[[str], str]],
        find_uri: Callable[[str], str | None] | None = None,
    ) -> GlueJobRunResultError | None:
        """Read the result of the run ``result`` judged; return the error to raise once the run's outcome passed.

        :param result: the verdict on the run (its run carries StartedOn).
        :param uri: the run's result URI (from its own arguments, or carried across the deferral).
        :param redact: returns the masking of the task's secret values (called only when there is an object).
        :param find_uri: reads the URI from the run itself (GetJobRun) when ``uri`` is None: ``dag.test()`` in
            Airflow 3.3 resumes a deferred task without its defer kwargs.
        """
        run = result.run
        if self.mode is None or run is None or not run.is_terminal:
            return None
        succeeded = result.is_success
        where = {"job_name": result.job_name, "run_id": result.run_id}
        if uri is None and find_uri is not None:
            uri = find_uri(result.run_id)
        if uri is None:
            problem = f"the run has no {RESULT_URI_ARGUMENT} argument: it was started without job_result"
            return self._missing(succeeded, GlueJobRunResultError(None, problem, **where))
        try:
            value = read_result(self.s3_client(), uri, started_on=run.started_on, redact=_Lazy(redact))
        except GlueJobRunResultError as error:
            error = GlueJobRunResultError(uri, error.problem, **where)
            if succeeded:
                return error
            self.log.warning("%s (the run itself did not succeed)", error)
            return None
        if value is None:
            problem = (
                f"no object was written. Does the job call glue_job_result.write_result(...)? May its role "
                f"s3:PutObject there? ({'job_result=' + repr(self.mode)})"
            )
            return self._missing(succeeded, GlueJobRunResultError(uri, problem, **where))
        self.value = value
        text = json.dumps(value, separators=(",", ":"))
        if succeeded:
            self.log.info("Job result of Glue job run %s (%s bytes of JSON) read from %s.", run.id, len(text), uri)
        else:
            self.log.warning("Glue job run %s did not succeed; its job result (may be partial): %s", run.id, text)
        return None

    def _missing(self, succeeded: bool, error: GlueJobRunResultError) -> GlueJobRunResultError | None:
        if succeeded and self.mode == "required":
            return error
        if succeeded:
            self.log.warning("%s; job_result='optional': nothing pushed.", error)
        else:
            self.log.info("%s", error)
        return None

    def push(self, push: Callable[[str, Any], None]) -> None:
        """Push the result to XCom ``glue_job_result`` with ``push(key, value)``, when there is one."""
        if self.value is not None:
            push(JOB_RESULT_XCOM_KEY, self.value)


class _Lazy:
    """Build the masking when the first string needs it (it may read the job's DefaultArguments), then keep it."""

    def __init__(self, build: Callable[[], Callable[[str], str]]) -> None:
        self._build = build
        self._redact: Callable[[str], str] | None = None

    def __call__(self, text: str) -> str:
        if self._redact is None:
            self._redact = self._build()
        return self._redact(text)
