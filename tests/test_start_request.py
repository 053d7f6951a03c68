"""StartJobRun request building: conversions of job arguments and the shape of the request."""

from __future__ import annotations

import pytest

from airflow_glue_runs._internal.start.request import build_start_job_run_request, normalize_arguments
from airflow_glue_runs.exceptions import GlueJobRunParameterError


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


@pytest.mark.parametrize("capacity", [0.0625, 1, 1.0, 2, 2.0, 10, 100, 100.0])
def test_max_capacity_allowed_values(capacity: float) -> None:
    """The seed's MaxCapacity values (0.0625 or 1 for Python shell, whole 2-100 for Spark) are sent as floats."""
    assert build_start_job_run_request("etl", max_capacity=capacity)["MaxCapacity"] == float(capacity)


@pytest.mark.parametrize("capacity", [0.1, 0.5, 1.5, 2.5, 0, -1, 101, 250, 99.9, 10**400, float("inf"), float("nan")])
def test_max_capacity_refused_values(capacity: float) -> None:
    """Fractions, values out of 2-100, huge ints and non-finite floats raise a parameter error naming max_capacity."""
    with pytest.raises(GlueJobRunParameterError, match=r"0\.0625 or 1 .* whole number from 2 to 100") as info:
        build_start_job_run_request("etl", max_capacity=capacity)
    assert info.value.parameter == "max_capacity"


@pytest.mark.parametrize(
    ("parameter", "limit"),
    [("number_of_workers", 2**31 - 1), ("notify_delay_after", 2**31 - 1), ("timeout", 10079)],
)
def test_integers_stop_at_aws_limits(parameter: str, limit: int) -> None:
    """Integer fields accept their largest AWS value and refuse the next one (32-bit ints, Timeout < 7 days)."""
    assert build_start_job_run_request("etl", **{parameter: limit})
    with pytest.raises(GlueJobRunParameterError, match=f"allowed: 1 to {limit}") as info:
        build_start_job_run_request("etl", **{parameter: limit + 1})
    assert info.value.parameter == parameter


def test_allocated_capacity_range() -> None:
    """The deprecated allocated_capacity is refused outside 2-100 by name, huge values included."""
    for value in (1, 101, 10**400):
        with (
            pytest.warns(DeprecationWarning, match="deprecated"),
            pytest.raises(GlueJobRunParameterError, match="2 to 100") as info,
        ):
            build_start_job_run_request("etl", allocated_capacity=value)
        assert info.value.parameter == "allocated_capacity"


@pytest.mark.parametrize("parameter", ["timeout", "number_of_workers", "notify_delay_after"])
def test_huge_integers_raise_parameter_errors(parameter: str) -> None:
    """A number far beyond any limit raises GlueJobRunParameterError (never OverflowError) with a short message."""
    with pytest.raises(GlueJobRunParameterError, match="an integer of 1329 bits is out of range") as info:
        build_start_job_run_request("etl", **{parameter: 10**400})
    assert info.value.parameter == parameter
    assert len(str(info.value)) < 200


def test_huge_seconds_raise_parameter_errors() -> None:
    """check_seconds refuses an int too large for a float by name (poll_interval=10**400 was an OverflowError)."""
    from airflow_glue_runs._internal.start.options import check_seconds

    with pytest.raises(GlueJobRunParameterError, match="too large") as info:
        check_seconds("poll_interval", 10**400)
    assert info.value.parameter == "poll_interval"
