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

from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = ["RUN_OPTION_FIELDS", "check_flag", "check_seconds", "rendered_run_options"]

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

_INT_FIELDS = frozenset({"timeout", "number_of_workers", "notify_delay_after"})
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _from_text(field: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if field in _INT_FIELDS and _INT_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise GlueJobRunParameterError(field, f"{len(value.strip())} digits is out of range") from None
    if field == "max_capacity" and _FLOAT_TEXT.fullmatch(value):
        return float(value)  # too large a number reads as inf, which the request check refuses
    if field == "job_run_queuing_enabled" and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


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
