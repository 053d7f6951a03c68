"""GlueJobRunHook against the local Glue over HTTP, with the real boto3 and aiobotocore clients."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from airflow_glue_runs.exceptions import (
    GlueAccessDeniedError,
    GlueApiError,
    GlueConcurrentRunsExceededError,
    GlueEntityNotFoundError,
    GlueInternalServiceError,
    GlueInvalidInputError,
    GlueJobRunParameterError,
    GlueOperationTimeoutError,
    GlueResourceNumberLimitExceededError,
    GlueThrottlingError,
)
from airflow_glue_runs.hooks import GlueJobRunHook
from airflow_glue_runs.job_run import JobRunState, RunCategory
from airflow_glue_runs.local_glue import LocalGlue

JOB = "etl"


@pytest.fixture
def hook(glue: LocalGlue) -> GlueJobRunHook:
    glue.create_job(JOB, max_concurrent_runs=500)
    return GlueJobRunHook(aws_conn_id="aws_default")


def test_start_and_read(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """start_job_run returns the id of a run Glue knows, with the arguments sent; get_job_run reads it back."""
    run_id = hook.start_job_run(JOB, {"--day": "2026-01-01", "--n": 3}, worker_type="G.2X", number_of_workers=3)
    run = hook.get_job_run(JOB, run_id)
    assert run.id == run_id
    assert run.job_name == JOB
    assert run.arguments is not None
    assert run.arguments["--day"] == "2026-01-01"
    assert run.arguments["--n"] == "3"
    assert run.worker_type == "G.2X"
    assert run.state is JobRunState.SUCCEEDED
    assert glue.calls() == {"StartJobRun": 1, "GetJobRun": 1}


@pytest.mark.asyncio
async def test_async_start_and_read(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """astart_job_run and aget_job_run do the same through aiobotocore."""
    run_id = await hook.astart_job_run(JOB, {"--day": "2026-01-02"}, timeout=30)
    run = await hook.aget_job_run(JOB, run_id)
    assert run.id == run_id
    assert run.timeout == 30
    assert run.arguments is not None
    assert run.arguments["--day"] == "2026-01-02"
    assert glue.calls() == {"StartJobRun": 1, "GetJobRun": 1}


def _start_many(glue: LocalGlue, count: int) -> set[str]:
    client = glue.client()
    return {client.start_job_run(JobName=JOB)["JobRunId"] for _ in range(count)}


def test_iter_job_runs_over_pages(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """iter_job_runs lists 250 runs through the boto3 paginator in two GetJobRuns pages of 200."""
    ids = _start_many(glue, 250)
    glue.reset_counters()
    listed = [run.id for run in hook.iter_job_runs(JOB, page_size=200)]
    assert sorted(listed) == sorted(ids)
    assert glue.calls() == {"GetJobRuns": 2}


def test_iter_job_runs_max_items_and_resume(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """max_items bounds a listing, and a page's NextToken resumes where it stopped."""
    ids = _start_many(glue, 30)
    assert len(list(hook.iter_job_runs(JOB, max_items=7, page_size=5))) == 7
    first = hook.get_job_runs_page(JOB, max_results=20)
    assert len(first.runs) == 20
    assert first.next_token
    rest = list(hook.iter_job_runs(JOB, starting_token=first.next_token))
    assert {r.id for r in first.runs} | {r.id for r in rest} == ids


@pytest.mark.asyncio
async def test_a_page_keeps_only_the_runs_asked_for(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """run_ids keeps only those runs of a GetJobRuns page (the others are not parsed), in Glue's order."""
    _start_many(glue, 30)
    page = hook.get_job_runs_page(JOB, max_results=20)
    wanted = [run.id for run in page.runs][3:6]
    assert [run.id for run in hook.get_job_runs_page(JOB, max_results=20, run_ids=set(wanted)).runs] == wanted
    apage = await hook.aget_job_runs_page(JOB, max_results=20, run_ids=set(wanted))
    assert [run.id for run in apage.runs] == wanted
    assert apage.next_token


@pytest.mark.asyncio
async def test_aiter_job_runs_over_pages(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """aiter_job_runs lists 250 runs through aiobotocore's paginator in two pages."""
    ids = _start_many(glue, 250)
    glue.reset_counters()
    listed = [run.id async for run in hook.aiter_job_runs(JOB, page_size=200)]
    assert sorted(listed) == sorted(ids)
    assert glue.calls() == {"GetJobRuns": 2}


def _long_run(hook: GlueJobRunHook) -> str:
    return hook.start_job_run(JOB, {"--local-glue-duration": "600"})


def test_stop_with_partial_failure(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """stop_job_runs stops a running run and reports, not swallows, an unknown and a finished run."""
    running = _long_run(hook)
    finished = hook.start_job_run(JOB)
    assert hook.get_job_run(JOB, finished).state is JobRunState.SUCCEEDED
    result = hook.stop_job_runs(JOB, [running, "jr_unknown", finished])
    assert result.stopped == (running,)
    assert {(e.run_id, e.code) for e in result.errors} == {
        ("jr_unknown", "EntityNotFoundException"),
        (finished, "InvalidInputException"),
    }
    assert hook.get_job_run(JOB, running).state in (JobRunState.STOPPING, JobRunState.STOPPED)


def test_stop_batches_of_25(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """Stopping 30 runs takes two BatchStopJobRun calls (25 + 5) and stops all of them."""
    client = glue.client()
    ids = [client.start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})["JobRunId"] for _ in range(30)]
    glue.reset_counters()
    result = hook.stop_job_runs(JOB, ids)
    assert sorted(result.stopped) == sorted(ids)
    assert result.errors == ()
    assert glue.calls() == {"BatchStopJobRun": 2}


@pytest.mark.asyncio
async def test_async_stop(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """astop_job_runs stops a run and reports an unknown one through aiobotocore."""
    running = _long_run(hook)
    result = await hook.astop_job_runs(JOB, [running, "jr_unknown"])
    assert result.stopped == (running,)
    assert [(e.run_id, e.code) for e in result.errors] == [("jr_unknown", "EntityNotFoundException")]


ERRORS: list[tuple[str, type[GlueApiError]]] = [
    ("EntityNotFoundException", GlueEntityNotFoundError),
    ("ConcurrentRunsExceededException", GlueConcurrentRunsExceededError),
    ("InvalidInputException", GlueInvalidInputError),
    ("ResourceNumberLimitExceededException", GlueResourceNumberLimitExceededError),
    ("InternalServiceException", GlueInternalServiceError),
    ("OperationTimeoutException", GlueOperationTimeoutError),
    ("AccessDeniedException", GlueAccessDeniedError),
]


@pytest.fixture
def no_retry_hook(hook: GlueJobRunHook) -> GlueJobRunHook:
    """A hook whose botocore client makes one attempt, so 5xx errors are not retried with backoff."""
    return GlueJobRunHook(aws_conn_id="aws_default", config={"retries": {"total_max_attempts": 1}})


@pytest.mark.parametrize(("code", "error_type"), ERRORS)
def test_glue_errors_are_mapped(no_retry_hook: GlueJobRunHook, glue: LocalGlue, code: str, error_type: type) -> None:
    """Each Glue error code becomes its own exception type carrying the AWS code and message."""
    glue.inject_fault("StartJobRun", code, times=1)
    with pytest.raises(error_type) as info:
        no_retry_hook.start_job_run(JOB)
    assert info.value.code == code
    assert info.value.operation == "StartJobRun"
    assert info.value.aws_message
    assert code in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(("code", "error_type"), ERRORS)
async def test_glue_errors_are_mapped_async(hook: GlueJobRunHook, glue: LocalGlue, code: str, error_type: type) -> None:
    """The async twin maps the same codes to the same types."""
    glue.inject_fault("GetJobRun", code, times=10)
    with pytest.raises(error_type) as info:
        await hook.aget_job_run(JOB, "jr_x")
    assert info.value.code == code


def test_real_not_found_and_concurrency_errors(glue: LocalGlue) -> None:
    """Glue's own EntityNotFound and ConcurrentRunsExceeded errors come with a useful hint."""
    glue.create_job("single", max_concurrent_runs=1)
    hook = GlueJobRunHook(aws_conn_id="aws_default")
    with pytest.raises(GlueEntityNotFoundError, match="Check the job name"):
        hook.start_job_run("no-such-job")
    hook.start_job_run("single", {"--local-glue-duration": "600"})
    with pytest.raises(GlueConcurrentRunsExceededError, match="job_run_queuing_enabled=True"):
        hook.start_job_run("single")


def test_throttling_is_retried_by_botocore(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """Two throttled answers are retried by botocore's standard mode and the third call succeeds."""
    glue.inject_fault("GetJobRuns", "throttle", times=2)
    assert list(hook.iter_job_runs(JOB)) == []
    assert glue.calls() == {"GetJobRuns": 3}


def test_retries_are_configurable_per_connection(
    hook: GlueJobRunHook, glue: LocalGlue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection extra with config_kwargs.retries overrides the default: one attempt, then GlueThrottlingError."""
    conn = json.loads(glue.airflow_connection())
    conn["extra"]["config_kwargs"] = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_NO_RETRY", json.dumps(conn))
    glue.inject_fault("GetJobRuns", "throttle", times=1)
    with pytest.raises(GlueThrottlingError, match="config_kwargs"):
        list(GlueJobRunHook(aws_conn_id="no_retry").iter_job_runs(JOB))
    assert glue.calls() == {"GetJobRuns": 1}


VALID_AND_INVALID: list[tuple[str, Any, Any, str]] = [
    # (parameter, a valid value, an invalid value, text the error must contain)
    ("job_name", JOB, "", "1 to 255"),
    ("job_name", JOB, "x" * 256, "1 to 255"),
    ("job_name", JOB, "bad\x00name", "control character"),
    ("job_run_id", None, "", "1 to 255"),
    ("job_run_id", None, "jr\nx", "control character"),
    ("security_configuration", None, "", "1 to 255"),
    ("worker_type", "G.1X", "G.16X", "Standard, G.1X, G.2X, G.025X, G.4X, G.8X, Z.2X"),
    ("execution_class", "FLEX", "flex", "FLEX, STANDARD"),
    ("timeout", 1, 0, "1 to 10079"),
    ("timeout", 10079, 10080, "1 to 10079"),
    ("timeout", 60, "60", "expected an integer"),
    ("allocated_capacity", 2, 1, "2 to 100"),
    ("allocated_capacity", 100, 101, "2 to 100"),
    ("notify_delay_after", 1, 0, "1 to 2147483647"),
    ("notify_delay_after", 2147483647, 2147483648, "1 to 2147483647"),
    ("number_of_workers", 2, 0, "1 to 2147483647"),
    ("number_of_workers", 2147483647, 2**31, "1 to 2147483647"),
    ("number_of_workers", 2, 10**400, "an integer of 1329 bits is out of range"),
    ("number_of_workers", 2, True, "expected an integer"),
    ("max_capacity", 10.0, -1.0, "whole number from 2 to 100"),
    ("job_run_queuing_enabled", True, "yes", "True or False"),
    ("execution_role_session_policy", '{"a":1}', "x", "2 to 2048"),
    ("arguments", {"--a": "1"}, {"--a": None}, "is None"),
]


@pytest.mark.parametrize(("parameter", "valid", "invalid", "message"), VALID_AND_INVALID)
def test_invalid_input_never_reaches_glue(
    hook: GlueJobRunHook, glue: LocalGlue, parameter: str, valid: Any, invalid: Any, message: str
) -> None:
    """A valid value starts a run; an invalid one raises an error naming the parameter and sends nothing."""
    job_name = JOB

    def start(value: Any) -> str:
        kwargs: dict[str, Any] = {} if value is None else {parameter: value}
        name = kwargs.pop("job_name", job_name)
        arguments = kwargs.pop("arguments", None)
        return hook.start_job_run(name, arguments, **kwargs)

    with (
        pytest.warns(DeprecationWarning, match="allocated_capacity")
        if parameter == "allocated_capacity"
        else contextlib.nullcontext()
    ):
        assert start(valid)
    glue.reset_counters()
    with pytest.raises(GlueJobRunParameterError, match=message) as info:
        start(invalid)
    assert info.value.parameter == parameter
    assert glue.calls() == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_capacity": 10.0, "worker_type": "G.1X"}, "cannot be set together with worker_type"),
        ({"max_capacity": 10.0, "number_of_workers": 2}, "cannot be set together with worker_type"),
    ],
)
def test_max_capacity_excludes_workers(hook: GlueJobRunHook, glue: LocalGlue, options: dict, message: str) -> None:
    """MaxCapacity together with WorkerType/NumberOfWorkers is refused before any call."""
    with pytest.raises(GlueJobRunParameterError, match=message):
        hook.start_job_run(JOB, **options)
    assert glue.calls() == {}


@pytest.mark.parametrize(
    ("plan", "state", "category"),
    [
        ({}, "SUCCEEDED", RunCategory.SUCCEEDED),
        ({"--local-glue-final-state": "FAILED"}, "FAILED", RunCategory.FAILED),
        ({"--local-glue-final-state": "ERROR"}, "ERROR", RunCategory.FAILED),
        ({"--local-glue-final-state": "STOPPED"}, "STOPPED", RunCategory.FAILED),
        ({"--local-glue-final-state": "EXPIRED"}, "EXPIRED", RunCategory.FAILED),
        ({"--local-glue-final-state": "TIMEOUT"}, "TIMEOUT", RunCategory.TIMED_OUT),
        ({"--local-glue-duration": "600"}, "RUNNING", RunCategory.ACTIVE),
    ],
)
def test_local_glue_states_are_classified(
    hook: GlueJobRunHook, glue: LocalGlue, plan: dict[str, str], state: str, category: RunCategory
) -> None:
    """Every final state the local Glue produces is read by the hook and given its one meaning."""
    run_id = hook.start_job_run(JOB, plan, job_run_queuing_enabled=state == "EXPIRED" or None)
    run = hook.get_job_run(JOB, run_id)
    if state == "RUNNING":
        assert run.state in (JobRunState.STARTING, JobRunState.RUNNING)
    else:
        assert run.state is JobRunState(state)
        assert run.completed_on is not None
    assert run.category is category
    if category in (RunCategory.FAILED, RunCategory.TIMED_OUT):
        assert run.error_message


def test_waiting_run_is_queued(hook: GlueJobRunHook, glue: LocalGlue) -> None:
    """A queued run is WAITING with a StateDetail, classified as queued, not finished."""
    run_id = hook.start_job_run(JOB, {"--local-glue-queue-seconds": "600"}, job_run_queuing_enabled=True)
    run = hook.get_job_run(JOB, run_id)
    assert run.state is JobRunState.WAITING
    assert run.category is RunCategory.QUEUED
    assert run.state_detail
    assert run.completed_on is None
