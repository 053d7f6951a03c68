"""The Amazon provider's parameters, checked when the DAG is parsed: what maps, what conflicts, what is refused.

**The rule for parameters this provider cannot honour** (``waiter_max_attempts``, the sensor's ``max_retries``,
``sleep_before_return``, ``durable``, ``resume_glue_job_on_retry``): a value that asks for what this provider does
anyway is accepted (``durable=True``, ``resume_glue_job_on_retry=True``, ``sleep_before_return=0``); any other value
fails when the DAG is parsed, with a message naming the replacement. An attempt budget has no value that means "no
budget", so ``waiter_max_attempts`` and ``max_retries`` are refused whenever they are given. Nothing here calls AWS.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_glue_runs._internal.start.options import check_seconds
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "ANCHOR_DESCRIPTION",
    "OPERATOR_PARAMETERS",
    "RUN_JOB_KWARGS",
    "SENSOR_PARAMETERS",
    "check_create_job_kwargs",
    "check_kwargs",
    "check_refused",
    "check_role",
    "poll_interval",
    "run_options",
]

ANCHOR_DESCRIPTION = "AWS Glue Job with Airflow"
"""The Amazon provider's default ``job_desc``."""

RUN_JOB_KWARGS: Mapping[str, str] = {
    "Timeout": "timeout",
    "WorkerType": "worker_type",
    "NumberOfWorkers": "number_of_workers",
    "MaxCapacity": "max_capacity",
    "ExecutionClass": "execution_class",
    "JobRunQueuingEnabled": "job_run_queuing_enabled",
    "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notify_delay_after",
    "ExecutionRoleSessionPolicy": "execution_role_session_policy",
}
"""StartJobRun members a ``run_job_kwargs`` may carry -> the run option of GlueJobRunOperator they set."""

_RUN_JOB_KWARGS_REFUSED: Mapping[str, str] = {
    "Arguments": "give the run's arguments as script_args",
    "JobName": "give the job as job_name",
    "JobRunId": "a retry reattaches to the run its earlier try started by itself; there is nothing to pass",
    "AllocatedCapacity": "deprecated by AWS; use MaxCapacity, or WorkerType with NumberOfWorkers",
}
_CREATE_JOB_KWARGS_REFUSED: Mapping[str, str] = {
    "Name": "the job is job_name",
    "AllocatedCapacity": "deprecated by AWS; use num_of_dpus, or WorkerType with NumberOfWorkers",
}

OPERATOR_PARAMETERS = (
    "job_name", "job_desc", "script_location", "concurrent_run_limit", "script_args", "retry_limit", "num_of_dpus",
    "s3_bucket", "iam_role_name", "iam_role_arn", "create_job_kwargs", "run_job_kwargs", "wait_for_completion",
    "deferrable", "verbose", "replace_script_file", "update_config", "stop_job_run_on_kill", "sleep_before_return",
    "job_poll_interval", "waiter_delay", "waiter_max_attempts", "resume_glue_job_on_retry", "durable",
    "openlineage_inject_parent_job_info", "openlineage_inject_transport_info", "aws_conn_id", "region_name", "verify",
    "botocore_config", "secret_arguments", "max_queue_wait",
)  # fmt: skip
"""Every parameter ``airflow_glue_runs.amazon.GlueJobOperator`` takes besides BaseOperator's."""
SENSOR_PARAMETERS = (
    "job_name", "run_id", "verbose", "deferrable", "poke_interval", "max_retries", "aws_conn_id", "region_name",
    "verify", "botocore_config", "secret_arguments", "max_queue_wait",
)  # fmt: skip
"""Every parameter ``airflow_glue_runs.amazon.GlueJobSensor`` takes besides BaseSensorOperator's."""

_NATIVE_NAMES: Mapping[str, str] = {
    "arguments": "script_args",
    "poll_interval": "job_poll_interval (waiting on the worker) or waiter_delay (deferred)",
    "stop_on_kill": "stop_job_run_on_kill",
    "forward_logs": "verbose",
    **{option: f"run_job_kwargs={{{api!r}: ...}}" for api, option in RUN_JOB_KWARGS.items()},
}
"""GlueJobRunOperator's own names, which the Amazon-shaped class takes under the Amazon provider's names."""

_REFUSED: Mapping[str, tuple[tuple[object, ...], str]] = {
    "waiter_max_attempts": (
        (),
        "this provider has no attempt budget: a deferred wait lasts until the run ends (deadline: the run's "
        "Timeout plus a margin). Bound the run with run_job_kwargs={'Timeout': minutes}, or the task with "
        "execution_timeout (with stop_job_run_on_kill=True the run is stopped too)",
    ),
    "max_retries": (
        (),
        "this provider has no attempt budget: the sensor waits until the run ends. Bound the wait with the "
        "sensor's timeout (seconds) instead",
    ),
    "sleep_before_return": (
        (0,),
        "this provider does not sleep after the run; to start the next run while Glue frees the slot of this "
        "one, give the next task run_job_kwargs={'JobRunQueuingEnabled': True} (Glue queues it as WAITING)",
    ),
    "durable": (
        (True,),
        "a retry always reattaches to the run its earlier try started (a Clear starts a fresh run); there is no "
        "opt-out. Remove durable=False",
    ),
    "resume_glue_job_on_retry": (
        (True,),
        "a retry always reattaches to the run its earlier try started (a Clear starts a fresh run); there is no "
        "opt-out. Remove resume_glue_job_on_retry=False",
    ),
}


def check_refused(values: Mapping[str, object]) -> None:
    """Apply the module's rule to the parameters given (``None`` = not given)."""
    for name, value in values.items():
        accepted, replacement = _REFUSED[name]
        if value is None or any(_same(value, ok) for ok in accepted):
            continue
        raise GlueJobRunParameterError(name, f"{value!r} cannot be honoured: {replacement}")


def _same(value: object, accepted: object) -> bool:
    if isinstance(accepted, bool) or isinstance(value, bool):
        return value is accepted
    return isinstance(value, int | float) and value == accepted


def check_kwargs(kwargs: Mapping[str, Any], known: Iterable[str], base: type) -> None:
    """Name the Amazon parameter a misspelled or native-named keyword stands for (BaseOperator's own pass through).

    :param kwargs: the keywords left after the class's own parameters.
    :param known: the class's own parameter names.
    :param base: the Airflow base class whose keywords are passed on (BaseOperator or BaseSensorOperator).
    """
    accepted = {name for cls in inspect.getmro(base) for name in _init_parameters(cls)}
    for key in kwargs:
        if key in accepted:
            continue
        if key in _NATIVE_NAMES:
            raise GlueJobRunParameterError(key, f"is GlueJobRunOperator's name; here it is {_NATIVE_NAMES[key]}")
        if close := difflib.get_close_matches(key, list(known), n=1, cutoff=0.75):
            raise GlueJobRunParameterError(key, f"is not an Amazon provider parameter; did you mean {close[0]}?")


def _init_parameters(cls: type) -> tuple[str, ...]:
    init = cls.__dict__.get("__init__")
    if init is None:
        return ()
    return tuple(inspect.signature(init).parameters)


def check_role(iam_role_name: object, iam_role_arn: object) -> None:
    """``iam_role_name`` and ``iam_role_arn`` are alternatives (as in the Amazon provider)."""
    if iam_role_name and iam_role_arn:
        raise GlueJobRunParameterError("iam_role_name", "cannot be given with iam_role_arn; give one of them")


def check_create_job_kwargs(value: object, *, num_of_dpus: object, role_given: bool) -> None:
    """Check ``create_job_kwargs``'s keys (values are checked after rendering, with the whole job spec).

    A template string is left to be checked once rendered.
    """
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, Mapping):
        raise GlueJobRunParameterError("create_job_kwargs", f"expected a dict of CreateJob fields, got {value!r}")
    for key, why in _CREATE_JOB_KWARGS_REFUSED.items():
        if key in value:
            raise GlueJobRunParameterError(f"create_job_kwargs.{key}", why)
    if role_given and "Role" in value:
        raise GlueJobRunParameterError("create_job_kwargs.Role", "cannot be given with iam_role_name/iam_role_arn")
    workers = [key for key in ("WorkerType", "NumberOfWorkers") if key in value]
    if num_of_dpus is not None and (workers or "MaxCapacity" in value):
        given = " and ".join(f"create_job_kwargs {key}" for key in workers or ["MaxCapacity"])
        raise GlueJobRunParameterError("num_of_dpus", f"cannot be given with {given}; size the job one way")
    if len(workers) == 1:
        missing = "NumberOfWorkers" if workers == ["WorkerType"] else "WorkerType"
        raise GlueJobRunParameterError(
            f"create_job_kwargs.{missing}", f"is missing; {workers[0]} needs {missing} with it"
        )


def run_options(value: object) -> dict[str, Any]:
    """Return GlueJobRunOperator's run options for a ``run_job_kwargs`` (``{}`` for a template string).

    Values are checked later with the whole StartJobRun request, as GlueJobRunOperator checks its own.
    """
    if value is None or isinstance(value, str):
        return {}
    if not isinstance(value, Mapping):
        raise GlueJobRunParameterError("run_job_kwargs", f"expected a dict of StartJobRun fields, got {value!r}")
    options: dict[str, Any] = {}
    for key, item in value.items():
        if key in _RUN_JOB_KWARGS_REFUSED:
            raise GlueJobRunParameterError(f"run_job_kwargs.{key}", _RUN_JOB_KWARGS_REFUSED[key])
        if key not in RUN_JOB_KWARGS:
            allowed = ", ".join(RUN_JOB_KWARGS)
            raise GlueJobRunParameterError("run_job_kwargs", f"{key!r} is not a StartJobRun field; allowed: {allowed}")
        if key == "NotificationProperty":
            if not isinstance(item, Mapping) or set(item) - {"NotifyDelayAfter"}:
                raise GlueJobRunParameterError(
                    "run_job_kwargs.NotificationProperty", f"expected {{'NotifyDelayAfter': minutes}}, got {item!r}"
                )
            item = item.get("NotifyDelayAfter")
        options[RUN_JOB_KWARGS[key]] = item
    return options


def poll_interval(*, deferrable: bool, job_poll_interval: object, waiter_delay: object) -> float:
    """Return the seconds between two reads of the run: ``waiter_delay`` when deferred, else ``job_poll_interval``."""
    seconds = (
        check_seconds("waiter_delay", waiter_delay, allow_zero=False)
        if deferrable
        else check_seconds("job_poll_interval", job_poll_interval, allow_zero=False)
    )
    assert seconds is not None
    return seconds
