"""Where a run's job result goes: the task's options, the S3 prefix, and the URI carried by the run itself.

The operator decides the URI once per start (before StartJobRun, so a resent StartJobRun carries the same one) and
sends it as the job argument ``--airflow-glue-runs-result-uri``. Afterwards the URI is always read back from the
run's own ``Arguments``: a retry that reattaches to (or adopts) an earlier try's run reads that run's result, never
a new location. After a deferral the operator carries the URI in the defer kwargs (never in the trigger event).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.glue_job_result import RESULT_URI_ARGUMENT

if TYPE_CHECKING:
    from airflow_glue_runs._internal.start.arguments import JobArguments
    from airflow_glue_runs._internal.start.ledger import RunIdentity
    from airflow_glue_runs.job_run import JobRun

__all__ = [
    "JOB_RESULT_MODES",
    "RESULT_FOLDER",
    "TEMP_DIR_ARGUMENT",
    "ask_for_result",
    "check_job_result",
    "check_prefix",
    "check_result_options",
    "choose_prefix",
    "new_result_uri",
    "uri_of_run",
]

JOB_RESULT_MODES = ("required", "optional")
"""``job_result`` values: ``required`` fails a succeeded task without a result; ``optional`` warns."""
TEMP_DIR_ARGUMENT = "--TempDir"
"""Glue's temporary directory argument: the default prefix (the job's role can already write there)."""
RESULT_FOLDER = "airflow-glue-runs"
"""The folder under the prefix that holds the result objects."""


def check_job_result(value: object) -> str | None:
    """Check ``job_result``: None (off), ``"required"`` or ``"optional"``."""
    if value is None or value in JOB_RESULT_MODES:
        return value
    raise GlueJobRunParameterError(
        "job_result", f"{value!r} is not one of None (no result), {', '.join(repr(m) for m in JOB_RESULT_MODES)}"
    )


def check_prefix(value: object, *, parameter: str = "job_result_prefix") -> str | None:
    """Check an S3 prefix ``s3://bucket[/folder]`` and return it without trailing slashes (None stays None)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("s3://"):
        raise GlueJobRunParameterError(parameter, f"expected an S3 prefix s3://bucket[/folder], got {value!r}")
    prefix = value.rstrip("/")
    bucket = prefix[len("s3://") :].split("/", 1)[0]
    if not bucket:
        raise GlueJobRunParameterError(parameter, f"{value!r} names no bucket; expected s3://bucket[/folder]")
    return prefix


def choose_prefix(prefix: str | None, sent: Mapping[str, str], job_defaults: Callable[[], Mapping[str, Any]]) -> str:
    """Return the prefix of the result: ``job_result_prefix``, else the run's ``--TempDir``, else the job's.

    :param prefix: the checked ``job_result_prefix``.
    :param sent: the job arguments the task sends.
    :param job_defaults: reads the job's DefaultArguments (GetJob, shared with the task's masking).
    """
    if prefix is not None:
        return prefix
    if sent.get(TEMP_DIR_ARGUMENT):
        return check_prefix(sent[TEMP_DIR_ARGUMENT], parameter=f"arguments[{TEMP_DIR_ARGUMENT!r}]") or ""
    try:
        temp_dir = job_defaults().get(TEMP_DIR_ARGUMENT)
    except Exception as error:
        raise GlueJobRunParameterError(
            "job_result_prefix",
            f"not set, and the job's DefaultArguments could not be read to find its {TEMP_DIR_ARGUMENT} "
            f"({type(error).__name__}: {error}); set job_result_prefix to an S3 prefix the job may write to",
        ) from error
    if not temp_dir:
        raise GlueJobRunParameterError(
            "job_result_prefix",
            f"not set, and neither the run's arguments nor the job's DefaultArguments have {TEMP_DIR_ARGUMENT}; "
            "set job_result_prefix to an S3 prefix (s3://bucket/folder) the job's role may write to",
        )
    return check_prefix(temp_dir, parameter=f"the job's {TEMP_DIR_ARGUMENT}") or ""


def new_result_uri(prefix: str, identity: RunIdentity) -> str:
    """Return a fresh result URI for one start: ``{prefix}/airflow-glue-runs/{dag}/{task}/{map index}/{random}.json``.

    Random, not derived from the try: two starts never share an object, so an older run's result cannot pass
    for a newer run's (the LastModified check catches the rest).
    """
    folder = f"{prefix}/{RESULT_FOLDER}/{identity.dag_id}/{identity.task_id}/{identity.map_index}"
    return f"{folder}/{secrets.token_hex(12)}.json"


def uri_of_run(run: JobRun | None, sent: str | None = None) -> str | None:
    """Return the result URI a run carries in its own arguments; ``sent`` when the run as seen has none listed.

    GetJobRun and GetJobRuns return a run's arguments; only a trigger event leaves them out.
    """
    if run is not None and run.arguments is not None:
        return run.arguments.get(RESULT_URI_ARGUMENT) or None
    return sent


def check_result_options(
    job_result: str | None, prefix: object, return_job_result: bool, *, wait_for_completion: bool = True
) -> None:
    """Check how the result options fit together, when the DAG is parsed (a templated prefix is checked later).

    ``job_result`` with ``wait_for_completion=False`` sends the URI only: a downstream sensor reads the result.
    """
    if job_result is None:
        for name, given in (("job_result_prefix", prefix is not None), ("return_job_result", return_job_result)):
            if given:
                raise GlueJobRunParameterError(name, "needs job_result='required' or 'optional'")
        return
    if return_job_result and not wait_for_completion:
        raise GlueJobRunParameterError(
            "return_job_result", "needs wait_for_completion=True: the result is read once the run has ended"
        )
    if not (isinstance(prefix, str) and "{{" in prefix):
        check_prefix(prefix)


def ask_for_result(
    arguments: JobArguments, prefix: object, identity: RunIdentity, job_defaults: Callable[[], Mapping[str, Any]]
) -> JobArguments:
    """Return ``arguments`` with a new result URI in ``--airflow-glue-runs-result-uri`` (decided once per start).

    :param prefix: the rendered ``job_result_prefix`` (None: the run's or the job's ``--TempDir``).
    :param job_defaults: reads the job's DefaultArguments; a failed read raises.
    """
    if RESULT_URI_ARGUMENT in arguments.values:
        raise GlueJobRunParameterError(
            "arguments", f"{RESULT_URI_ARGUMENT} is set by the task itself with job_result; leave it out"
        )
    chosen = choose_prefix(check_prefix(prefix), arguments.values, job_defaults)
    uri = new_result_uri(chosen, identity)
    return dataclasses.replace(arguments, values={**arguments.values, RESULT_URI_ARGUMENT: uri})
