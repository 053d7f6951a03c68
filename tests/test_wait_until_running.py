"""The waiting policy with ``wait_until="running"``: what each state resolves to, ``running_for`` by the waiter's clock,
and the parameter checks shared by the operator, the sensor and the trigger. Pure: no Glue, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_glue_runs._internal.run.waiting import Resolution, RunWatch, WaitResult, raise_for_result
from airflow_glue_runs._internal.start.options import check_wait_until
from airflow_glue_runs.exceptions import GlueJobRunParameterError, GlueJobRunQueueTimeoutError, GlueJobRunStoppedError
from airflow_glue_runs.job_run import JobRun, JobRunState

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def run(state: JobRunState, **fields: Any) -> JobRun:
    fields.setdefault("started_on", T0)
    return JobRun(id="jr_1", job_name="stream", state=state, **fields)


def watch(**kwargs: Any) -> RunWatch:
    return RunWatch(job_name="stream", run_id="jr_1", wait_until="running", **kwargs)


WITHOUT_RUNNING_FOR: dict[JobRunState, Resolution | None] = {
    JobRunState.STARTING: None,
    JobRunState.RUNNING: Resolution.RUNNING,
    JobRunState.STOPPING: None,
    JobRunState.WAITING: None,
    JobRunState.SUCCEEDED: Resolution.SUCCEEDED,
    JobRunState.FAILED: Resolution.FAILED,
    JobRunState.ERROR: Resolution.FAILED,
    JobRunState.STOPPED: Resolution.FAILED,
    JobRunState.EXPIRED: Resolution.FAILED,
    JobRunState.TIMEOUT: Resolution.TIMED_OUT,
}


def test_the_table_covers_every_state() -> None:
    """The expectations below name each of Glue's ten states once."""
    assert set(WITHOUT_RUNNING_FOR) == set(JobRunState)


@pytest.mark.parametrize(("state", "expected"), WITHOUT_RUNNING_FOR.items())
def test_each_state_resolves_as_documented(state: JobRunState, expected: Resolution | None) -> None:
    """Only RUNNING is new: it succeeds at once; every other state means what it means when waiting for the end."""
    _, result = watch().observe(run(state), T0)
    assert (result.resolution if result is not None else None) is expected
    _, at_end = RunWatch("stream", "jr_1").observe(run(state), T0)
    if state is not JobRunState.RUNNING:
        assert (at_end.resolution if at_end is not None else None) is expected


def test_running_is_a_success_that_leaves_the_run() -> None:
    """The RUNNING verdict is a success that says the run is left running; it survives the JSON round trip."""
    _, result = watch().observe(run(JobRunState.RUNNING), T0)
    assert result is not None
    assert result.is_success
    assert result.left_running
    assert "is RUNNING" in result.message
    assert "left running" in result.message
    raise_for_result(result)
    rebuilt = WaitResult.from_json(result.to_json())
    assert rebuilt == result
    assert rebuilt.left_running


def test_running_for_counts_from_the_first_running_read_by_the_waiters_clock() -> None:
    """With running_for=30 the wait goes on at +0, +10 and +29.9 s of RUNNING and ends at +30 s, naming the time."""
    policy = watch(running_for=30)
    lines, result = policy.observe(run(JobRunState.STARTING), T0 - timedelta(seconds=5))
    assert result is None
    lines, result = policy.observe(run(JobRunState.RUNNING), T0)
    assert result is None
    assert "Waiting until Glue job run jr_1 has been RUNNING for 30 s." in lines
    for seconds in (10, 29.9):
        assert policy.observe(run(JobRunState.RUNNING), T0 + timedelta(seconds=seconds))[1] is None
    _, result = policy.observe(run(JobRunState.RUNNING), T0 + timedelta(seconds=30))
    assert result is not None
    assert result.resolution is Resolution.RUNNING
    assert "RUNNING for 30 s (running_for=30 s)" in result.message


def test_leaving_running_restarts_the_count_and_a_stop_fails() -> None:
    """A run that goes STOPPING before running_for loses its count; STOPPED then fails as when waiting for the end."""
    policy = watch(running_for=30)
    assert policy.observe(run(JobRunState.RUNNING), T0)[1] is None
    assert policy.observe(run(JobRunState.STOPPING), T0 + timedelta(seconds=20))[1] is None
    assert policy.running_since is None
    _, result = policy.observe(run(JobRunState.STOPPED), T0 + timedelta(seconds=40))
    assert result is not None
    assert result.resolution is Resolution.FAILED
    with pytest.raises(GlueJobRunStoppedError):
        raise_for_result(result)


def test_a_run_that_succeeds_before_running_for_succeeds() -> None:
    """A short job that SUCCEEDED before it was RUNNING long enough is done: the wait succeeds with SUCCEEDED."""
    policy = watch(running_for=600)
    assert policy.observe(run(JobRunState.RUNNING), T0)[1] is None
    _, result = policy.observe(run(JobRunState.SUCCEEDED), T0 + timedelta(seconds=5))
    assert result is not None
    assert result.resolution is Resolution.SUCCEEDED
    assert not result.left_running


def test_a_carried_running_since_goes_on_counting() -> None:
    """A waiter given the time an earlier waiter first saw RUNNING (a deferral) counts from then, not from now."""
    policy = watch(running_for=30, running_since=T0 - timedelta(seconds=25))
    assert policy.observe(run(JobRunState.RUNNING), T0)[1] is None
    _, result = policy.observe(run(JobRunState.RUNNING), T0 + timedelta(seconds=5))
    assert result is not None
    assert result.resolution is Resolution.RUNNING


def test_queue_budget_still_applies() -> None:
    """WAITING past max_queue_wait ends the wait with QUEUE_TIMEOUT, as when waiting for the end."""
    _, result = watch(max_queue_wait=60).observe(run(JobRunState.WAITING), T0 + timedelta(seconds=61))
    assert result is not None
    assert result.resolution is Resolution.QUEUE_TIMEOUT
    with pytest.raises(GlueJobRunQueueTimeoutError):
        raise_for_result(result)


def test_waiting_for_the_end_ignores_running() -> None:
    """With the default wait_until="end" a RUNNING run keeps the wait going, however long it runs."""
    policy = RunWatch("stream", "jr_1", running_for=None)
    assert policy.observe(run(JobRunState.RUNNING), T0)[1] is None
    assert policy.observe(run(JobRunState.RUNNING), T0 + timedelta(days=3))[1] is None


@pytest.mark.parametrize(
    ("kwargs", "parameter", "match"),
    [
        ({"wait_until": "started"}, "wait_until", "'started' is not one of 'end', 'running'"),
        ({"wait_until": None}, "wait_until", "is not one of 'end', 'running'"),
        ({"running_for": 30}, "running_for", "only allowed with wait_until='running'"),
        ({"wait_until": "running", "running_for": -1}, "running_for", "out of range"),
        ({"wait_until": "running", "running_for": "30"}, "running_for", "expected seconds"),
        ({"wait_until": "running", "job_result": "required"}, "job_result", "only once the run has ended"),
        ({"wait_until": "running", "wait_for_completion": False}, "wait_until", "wait_for_completion=True"),
    ],
)
def test_bad_combinations_name_the_parameter(kwargs: dict[str, Any], parameter: str, match: str) -> None:
    """Each refused value or combination raises naming the parameter and what is allowed."""
    wait_until = kwargs.pop("wait_until", "end")
    running_for = kwargs.pop("running_for", None)
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        check_wait_until(wait_until, running_for, **kwargs)
    assert info.value.parameter == parameter


def test_running_for_takes_a_timedelta() -> None:
    """running_for may be a timedelta; it is kept as seconds."""
    assert check_wait_until("running", timedelta(minutes=2)) == ("running", 120.0)
    assert check_wait_until("end", None) == ("end", None)
