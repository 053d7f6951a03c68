"""The operator's parameters after Jinja: run options read from rendered text, and the operator's own settings.

Without ``render_template_as_native_obj`` a templated number renders as text (``"{{ params.workers }}"`` gives
``"10"``); the run options read decimal text as numbers and ``true``/``false`` as booleans, and leave every
other value to :func:`~airflow_glue_runs._internal.start.request.build_start_job_run_request` to check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow_glue_runs._internal.run.waiting import WAIT_UNTIL_CHOICES, WaitUntil
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "RUN_OPTION_FIELDS",
    "check_flag",
    "check_seconds",
    "check_wait_until",
    "read_rendered",
    "rendered_run_options",
]

RUN_OPTION_FIELDS: tuple[str, ...] = (
    "timeout",
    "worker_type",
    "number_of_workers",
    "max_capacity",
    "execution_class",
    "job_run_queuing_enabled",
    "security_configuration",
    "notify_delay_after",
    "execution_role_session_policy",
)
"""The StartJobRun run-configuration fields the operator exposes (snake_case), all templated."""

_TEXT_KINDS: dict[str, type[int] | type[float] | type[bool]] = {
    "timeout": int,
    "number_of_workers": int,
    "notify_delay_after": int,
    "max_capacity": float,
    "job_run_queuing_enabled": bool,
}
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def read_rendered(parameter: str, value: Any, kind: type[int] | type[float] | type[bool]) -> Any:
    """Return rendered text read as ``kind`` when it spells one; any other value unchanged, for the caller to check.

    ``int`` reads decimal integer text (``"10"``), ``float`` decimal number text (``"0.0625"``, ``"1e2"``),
    ``bool`` ``true``/``false`` in any case. Surrounding spaces are ignored.

    :param parameter: the parameter's name, for the error raised when an integer has too many digits to read.
    """
    if not isinstance(value, str):
        return value
    if kind is bool:
        return value.strip().lower() == "true" if value.strip().lower() in ("true", "false") else value
    if kind is int and _INT_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise GlueJobRunParameterError(parameter, f"{len(value.strip())} digits is out of range") from None
    if kind is float and _FLOAT_TEXT.fullmatch(value):
        return float(value)  # too large a number reads as inf, which the callers' checks refuse
    return value


def _from_text(field: str, value: Any) -> Any:
    kind = _TEXT_KINDS.get(field)
    return value if kind is None else read_rendered(field, value, kind)


def rendered_run_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the run options that are set (not ``None``), with rendered text read as numbers or booleans."""
    return {field: _from_text(field, values[field]) for field in RUN_OPTION_FIELDS if values.get(field) is not None}


def check_seconds(parameter: str, value: object, *, allow_none: bool = False, allow_zero: bool = True) -> float | None:
    """Check a duration given as seconds (int or float) or a ``timedelta``; return seconds."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond float's range
            raise GlueJobRunParameterError(parameter, "the number is too large for seconds") from None
    else:
        raise GlueJobRunParameterError(
            parameter, f"expected seconds (a number) or a timedelta, got {type(value).__name__} {value!r}"
        )
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        allowed = "at least 0" if allow_zero else "more than 0"
        raise GlueJobRunParameterError(parameter, f"{seconds:g} seconds is out of range; allowed: {allowed}")
    return seconds


def check_botocore_config(value: object) -> dict[str, Any] | None:
    """Check ``botocore_config``: botocore ``Config`` options as a dict, or ``None``."""
    if value is not None and not isinstance(value, dict):
        raise GlueJobRunParameterError(
            "botocore_config", f"expected a dict of botocore Config options, got {type(value).__name__}"
        )
    return value


def check_flag(parameter: str, value: object) -> bool:
    """Check a True/False setting."""
    if not isinstance(value, bool):
        raise GlueJobRunParameterError(parameter, f"expected True or False, got {value!r}")
    return value


def check_wait_until(
    wait_until: object, running_for: object, *, job_result: str | None = None, wait_for_completion: bool = True
) -> tuple[WaitUntil, float | None]:
    """Check ``wait_until`` and ``running_for`` (seconds or a ``timedelta``, only with ``"running"``); return them.

    A job result exists only once the run has ended, so ``job_result`` refuses ``"running"``; so does
    ``wait_for_completion=False``, which waits for nothing.
    """
    if wait_until not in WAIT_UNTIL_CHOICES:
        allowed = ", ".join(repr(choice) for choice in WAIT_UNTIL_CHOICES)
        raise GlueJobRunParameterError("wait_until", f"{wait_until!r} is not one of {allowed}")
    seconds = check_seconds("running_for", running_for, allow_none=True)
    if seconds is not None and wait_until != "running":
        raise GlueJobRunParameterError("running_for", "is only allowed with wait_until='running'")
    if wait_until == "running" and job_result is not None:
        raise GlueJobRunParameterError(
            "job_result", "a job result exists only once the run has ended: not allowed with wait_until='running'"
        )
    if wait_until == "running" and not wait_for_completion:
        raise GlueJobRunParameterError(
            "wait_until", "'running' needs wait_for_completion=True (False does not wait at all)"
        )
    return wait_until, seconds
