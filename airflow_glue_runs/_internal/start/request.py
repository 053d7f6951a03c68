"""Build and check a Glue ``StartJobRun`` request before anything is sent to AWS.

Every constraint of the StartJobRun API reference is checked here, once, for the sync and the async hook
and for the operator. Errors name the parameter, the bad value (never the value of a job argument, which
may hold a secret) and what is allowed.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "EXECUTION_CLASSES",
    "INT32_MAX",
    "MAX_PAGE_SIZE",
    "MAX_STOP_BATCH",
    "MAX_TIMEOUT_MINUTES",
    "WORKER_TYPES",
    "build_start_job_run_request",
    "check_choice",
    "check_int",
    "check_max_capacity",
    "check_name",
    "normalize_arguments",
]

WORKER_TYPES: tuple[str, ...] = ("Standard", "G.1X", "G.2X", "G.025X", "G.4X", "G.8X", "Z.2X")
EXECUTION_CLASSES: tuple[str, ...] = ("FLEX", "STANDARD")
MAX_TIMEOUT_MINUTES = 10080
"""Glue refuses run timeouts of 7 days (10080 minutes) or more."""
MAX_PAGE_SIZE = 200
"""GetJobRuns returns at most 200 runs per page."""
MAX_STOP_BATCH = 25
"""BatchStopJobRun accepts at most 25 run ids per call."""
INT32_MAX = 2**31 - 1
"""The largest value of an AWS ``Integer`` (32-bit signed), the upper bound of every integer request field."""
SHELL_CAPACITIES = (0.0625, 1.0)
"""The MaxCapacity values of a Python shell job."""
SPARK_CAPACITY = (2, 100)
"""The whole numbers of DPUs a Spark job's MaxCapacity may be (no fraction)."""

# The API's NameString/IdString pattern: any character but control characters other than tab.
# (Its UTF-16 surrogate-pair range is every code point above the BMP in Python's terms.)
_NAME_PATTERN = re.compile("[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\t]*")


def check_name(parameter: str, value: object, *, max_length: int = 255) -> str:
    """Check a Glue name or id (1-255 characters, no control characters but tab) and return it."""
    if not isinstance(value, str):
        raise GlueJobRunParameterError(parameter, f"expected a string, got {type(value).__name__}")
    if not 1 <= len(value) <= max_length:
        raise GlueJobRunParameterError(
            parameter, f"{value!r} has {len(value)} characters; allowed are 1 to {max_length}"
        )
    if not _NAME_PATTERN.fullmatch(value):
        raise GlueJobRunParameterError(
            parameter,
            f"{value!r} contains a control character; only tab and printable characters are allowed",
        )
    return value


def shown_number(value: object) -> str:
    """Return a number as error text, briefly: a 400-digit integer would flood the message (or fail to print)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_int(parameter: str, value: object, *, minimum: int, maximum: int | None = INT32_MAX) -> int:
    """Check an integer within bounds (``bool`` refused) and return it.

    The upper bound defaults to :data:`INT32_MAX`: AWS's integers are 32-bit, and a larger value would be
    refused by Glue (or by botocore's serializer) after the request left.
    """
    # bool is an int in Python, and True is never what a caller means by a number of minutes or workers.
    if isinstance(value, bool) or not isinstance(value, int):
        raise GlueJobRunParameterError(
            parameter, f"expected an integer, got {type(value).__name__} {shown_number(value)}"
        )
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise GlueJobRunParameterError(parameter, f"{shown_number(value)} is out of range; allowed: {allowed}")
    return value


def check_max_capacity(value: object) -> float:
    """Check MaxCapacity as the API reference allows it and return it as a float.

    Allowed: 0.0625 or 1 (Python shell jobs), or a whole number from 2 to 100 (Spark ETL and streaming jobs,
    which "cannot have a fractional DPU allocation"). Which of the two applies depends on the job's command,
    which the request does not carry, so any of these values passes.
    """
    allowed = "0.0625 or 1 (Python shell jobs), or a whole number from 2 to 100 (Spark jobs)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GlueJobRunParameterError(
            "max_capacity", f"expected a number of DPUs, got {type(value).__name__} {shown_number(value)}"
        )
    # Compare before converting: float(10**400) raises OverflowError.
    if isinstance(value, float) and not math.isfinite(value):
        raise GlueJobRunParameterError("max_capacity", f"{value!r} is not a finite number; allowed: {allowed}")
    low, high = SPARK_CAPACITY
    if value in SHELL_CAPACITIES or (low <= value <= high and value == int(value)):
        return float(value)
    raise GlueJobRunParameterError("max_capacity", f"{shown_number(value)} DPUs is not allowed; allowed: {allowed}")


def check_choice(parameter: str, value: object, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices`` and return it."""
    if value not in choices:
        raise GlueJobRunParameterError(parameter, f"{value!r} is not one of {', '.join(choices)}")
    return str(value)


def normalize_arguments(arguments: Mapping[str, Any] | None, *, parameter: str = "arguments") -> dict[str, str]:
    """Return job arguments as Glue's map of string to string.

    Conversions: ``str`` is kept; ``bool`` becomes ``"true"``/``"false"`` (what Glue scripts compare with);
    ``int`` and finite ``float`` become their decimal text; ``dict``/``list``/``tuple`` become compact JSON text.
    Refused: ``None`` (say ``""`` or leave the key out), NaN and infinity, keys that are not non-empty strings,
    and any other type. Error messages name the key and the type, never the value: it may be a secret.
    """
    if arguments is None:
        return {}
    if not isinstance(arguments, Mapping):
        raise GlueJobRunParameterError(
            parameter, f"expected a mapping of argument name to value, got {type(arguments).__name__}"
        )
    result: dict[str, str] = {}
    for key, value in arguments.items():
        if not isinstance(key, str) or not key:
            raise GlueJobRunParameterError(parameter, f"argument names must be non-empty strings, got {key!r}")
        result[key] = _argument_text(parameter, key, value)
    return result


def _argument_text(parameter: str, key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise GlueJobRunParameterError(parameter, f"argument {key!r} is not a finite number")
        return repr(value)
    if isinstance(value, Mapping | list | tuple):
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise GlueJobRunParameterError(
                parameter,
                f"argument {key!r} holds a nested value that is not JSON data ({type(err).__name__})",
            ) from None
    if value is None:
        raise GlueJobRunParameterError(
            parameter, f"argument {key!r} is None; pass '' for an empty value or leave the argument out"
        )
    raise GlueJobRunParameterError(
        parameter,
        f"argument {key!r} has type {type(value).__name__}; "
        "allowed are str, int, float, bool, and dict/list (sent as JSON text)",
    )


def build_start_job_run_request(
    job_name: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    job_run_queuing_enabled: bool | None = None,
    job_run_id: str | None = None,
    allocated_capacity: int | None = None,
    timeout: int | None = None,
    max_capacity: float | None = None,
    security_configuration: str | None = None,
    notify_delay_after: int | None = None,
    worker_type: str | None = None,
    number_of_workers: int | None = None,
    execution_class: str | None = None,
    execution_role_session_policy: str | None = None,
) -> dict[str, Any]:
    """Check every StartJobRun constraint and return the request as boto3 keyword arguments.

    Raises :class:`~airflow_glue_runs.exceptions.GlueJobRunParameterError` naming the first bad parameter.
    ``allocated_capacity`` is deprecated by AWS in favour of ``max_capacity`` and warns.
    """
    request: dict[str, Any] = {"JobName": check_name("job_name", job_name)}
    if arguments is not None:
        request["Arguments"] = normalize_arguments(arguments)
    if job_run_queuing_enabled is not None:
        if not isinstance(job_run_queuing_enabled, bool):
            raise GlueJobRunParameterError(
                "job_run_queuing_enabled", f"expected True or False, got {job_run_queuing_enabled!r}"
            )
        request["JobRunQueuingEnabled"] = job_run_queuing_enabled
    if job_run_id is not None:
        request["JobRunId"] = check_name("job_run_id", job_run_id)
    if allocated_capacity is not None:
        warnings.warn(
            "allocated_capacity is deprecated by AWS Glue; use max_capacity, or worker_type with number_of_workers",
            DeprecationWarning,
            stacklevel=3,
        )
        request["AllocatedCapacity"] = check_int("allocated_capacity", allocated_capacity, minimum=2, maximum=100)
    if timeout is not None:
        request["Timeout"] = check_int("timeout", timeout, minimum=1, maximum=MAX_TIMEOUT_MINUTES - 1)
    if max_capacity is not None:
        capacity = check_max_capacity(max_capacity)
        if worker_type is not None or number_of_workers is not None:
            raise GlueJobRunParameterError(
                "max_capacity",
                "cannot be set together with worker_type or number_of_workers; use one or the other",
            )
        if allocated_capacity is not None:
            raise GlueJobRunParameterError(
                "max_capacity",
                "cannot be set together with the deprecated allocated_capacity; use max_capacity",
            )
        request["MaxCapacity"] = capacity
    if security_configuration is not None:
        request["SecurityConfiguration"] = check_name("security_configuration", security_configuration)
    if notify_delay_after is not None:
        request["NotificationProperty"] = {
            "NotifyDelayAfter": check_int("notify_delay_after", notify_delay_after, minimum=1)
        }
    if worker_type is not None:
        request["WorkerType"] = check_choice("worker_type", worker_type, WORKER_TYPES)
    if number_of_workers is not None:
        request["NumberOfWorkers"] = check_int("number_of_workers", number_of_workers, minimum=1)
    if execution_class is not None:
        request["ExecutionClass"] = check_choice("execution_class", execution_class, EXECUTION_CLASSES)
    if execution_role_session_policy is not None:
        if not isinstance(execution_role_session_policy, str) or not 2 <= len(execution_role_session_policy) <= 2048:
            raise GlueJobRunParameterError(
                "execution_role_session_policy", "expected an IAM policy as JSON text of 2 to 2048 characters"
            )
        request["ExecutionRoleSessionPolicy"] = execution_role_session_policy
    return request
