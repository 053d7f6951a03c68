"""StartJobRun request building: conversions of job arguments and the shape of the request."""

from __future__ import annotations

import pytest

from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.start_request import build_start_job_run_request, normalize_arguments


def test_argument_conversions() -> None:
    """Strings stay, booleans become true/false, numbers their text, nested values compact JSON."""
    assert normalize_arguments(
        {"--s": "x", "--t": True, "--f": False, "--i": 3, "--x": 2.5, "--d": {"a": [1, 2]}, "--l": ["a"]}
    ) == {"--s": "x", "--t": "true", "--f": "false", "--i": "3", "--x": "2.5", "--d": '{"a":[1,2]}', "--l": '["a"]'}


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"--a": None}, "argument '--a' is None; pass ''"),
        ({"--a": float("nan")}, "argument '--a' is not a finite number"),
        ({"--a": {1, 2}}, "argument '--a' has type set"),
        ({"--a": {"k": object()}}, "argument '--a' holds a nested value that is not JSON"),
        ({"": "v"}, "argument names must be non-empty strings"),
        ({3: "v"}, "argument names must be non-empty strings"),
        ("--a=1", "expected a mapping"),
    ],
)
def test_refused_arguments(arguments: object, match: str) -> None:
    """Values Glue cannot take are refused with the key and type named."""
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        normalize_arguments(arguments)  # type: ignore[arg-type]
    assert info.value.parameter == "arguments"


def test_refusal_never_shows_the_value() -> None:
    """An error about an argument names its key and type but never its value, which may be a secret."""
    with pytest.raises(GlueJobRunParameterError) as info:
        normalize_arguments({"--password": {"hunter2-secret"}})
    assert "hunter2-secret" not in str(info.value)
    assert "--password" in str(info.value)


def test_full_request_uses_api_field_names() -> None:
    """Every snake_case option lands under its StartJobRun field name."""
    request = build_start_job_run_request(
        "etl",
        {"--day": "2026-01-01"},
        job_run_queuing_enabled=True,
        job_run_id="jr_prev",
        timeout=60,
        security_configuration="sec",
        notify_delay_after=5,
        worker_type="G.2X",
        number_of_workers=4,
        execution_class="FLEX",
        execution_role_session_policy='{"Version":"2012-10-17"}',
    )
    assert request == {
        "JobName": "etl",
        "Arguments": {"--day": "2026-01-01"},
        "JobRunQueuingEnabled": True,
        "JobRunId": "jr_prev",
        "Timeout": 60,
        "SecurityConfiguration": "sec",
        "NotificationProperty": {"NotifyDelayAfter": 5},
        "WorkerType": "G.2X",
        "NumberOfWorkers": 4,
        "ExecutionClass": "FLEX",
        "ExecutionRoleSessionPolicy": '{"Version":"2012-10-17"}',
    }


def test_allocated_capacity_warns() -> None:
    """The deprecated allocated_capacity still works but warns and points to max_capacity."""
    with pytest.warns(DeprecationWarning, match="use max_capacity"):
        request = build_start_job_run_request("etl", allocated_capacity=10)
    assert request["AllocatedCapacity"] == 10
