"""The run model: every Glue state has one meaning, and a run survives a JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.session
import pytest

from airflow_glue_runs.job_run import JobRun, JobRunState, RunCategory, UnknownJobRunStateError

FULL_RUN = {
    "Id": "jr_1",
    "Attempt": 1,
    "PreviousRunId": "jr_0",
    "TriggerName": "nightly",
    "JobName": "etl",
    "JobMode": "SCRIPT",
    "JobRunQueuingEnabled": True,
    "StartedOn": datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
    "LastModifiedOn": datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
    "CompletedOn": datetime(2026, 1, 2, 3, 6, 0, tzinfo=UTC),
    "JobRunState": "FAILED",
    "Arguments": {"--day": "2026-01-01"},
    "ErrorMessage": "boom",
    "PredecessorRuns": [{"JobName": "up", "RunId": "jr_up"}],
    "AllocatedCapacity": 10,
    "ExecutionTime": 55,
    "Timeout": 60,
    "MaxCapacity": 10.0,
    "WorkerType": "G.1X",
    "NumberOfWorkers": 10,
    "SecurityConfiguration": "sec",
    "LogGroupName": "/aws-glue/jobs",
    "NotificationProperty": {"NotifyDelayAfter": 5},
    "GlueVersion": "4.0",
    "DPUSeconds": 550.5,
    "ExecutionClass": "STANDARD",
    "MaintenanceWindow": "MON:10",
    "ProfileName": "default",
    "StateDetail": "detail",
    "ExecutionRoleSessionPolicy": '{"Version": "2012-10-17"}',
}


def test_states_match_botocore_model() -> None:
    """The ten states are exactly botocore's JobRunState enum, so a new AWS state cannot slip through."""
    model = botocore.session.get_session().get_service_model("glue")
    assert sorted(JobRunState) == sorted(model.shape_for("JobRunState").enum)


def test_every_state_has_one_meaning() -> None:
    """Each state maps to the category the project documents, and only the finished ones are terminal."""
    expected = {
        "STARTING": RunCategory.ACTIVE,
        "RUNNING": RunCategory.ACTIVE,
        "STOPPING": RunCategory.ACTIVE,
        "WAITING": RunCategory.QUEUED,
        "SUCCEEDED": RunCategory.SUCCEEDED,
        "FAILED": RunCategory.FAILED,
        "ERROR": RunCategory.FAILED,
        "STOPPED": RunCategory.FAILED,
        "EXPIRED": RunCategory.FAILED,
        "TIMEOUT": RunCategory.TIMED_OUT,
    }
    assert {state.value: state.category for state in JobRunState} == expected
    assert {s for s in JobRunState if s.is_terminal} == {
        JobRunState.SUCCEEDED,
        JobRunState.FAILED,
        JobRunState.ERROR,
        JobRunState.STOPPED,
        JobRunState.EXPIRED,
        JobRunState.TIMEOUT,
    }
    assert [s for s in JobRunState if s.is_successful] == [JobRunState.SUCCEEDED]
    assert [s for s in JobRunState if s.is_queued] == [JobRunState.WAITING]
    assert [s for s in JobRunState if s.is_running] == [JobRunState.RUNNING]  # wait_until="running"'s goal


@pytest.mark.parametrize("value", ["PAUSED", "succeeded", "", None, 3])
def test_unknown_state_fails_loudly(value: object) -> None:
    """An unknown state raises an error that names it and lists the known ones."""
    with pytest.raises(UnknownJobRunStateError, match="known states are STARTING"):
        JobRunState.parse(value)
    if value is not None:  # a null field is a missing field, not a state
        with pytest.raises(UnknownJobRunStateError):
            JobRun.from_api({"Id": "jr_1", "JobRunState": value})


def test_full_run_round_trips_through_json() -> None:
    """A run with every API field survives to_json -> json text -> from_json unchanged."""
    run = JobRun.from_api(FULL_RUN)
    assert run.state is JobRunState.FAILED
    assert run.dpu_seconds == 550.5
    text = json.dumps(run.to_json())
    assert JobRun.from_json(json.loads(text)) == run
    assert set(run.to_json()) == set(FULL_RUN)


def test_sparse_run_and_new_fields_are_kept() -> None:
    """Missing fields stay None and fields a newer API adds survive the round trip in ``extra``."""
    run = JobRun.from_api({"Id": "jr_2", "JobRunState": "RUNNING", "FutureField": {"a": [1]}})
    assert run.completed_on is None
    assert run.extra == {"FutureField": {"a": [1]}}
    assert JobRun.from_json(json.loads(json.dumps(run.to_json()))) == run


def test_run_without_id_is_refused() -> None:
    """A JobRun structure without Id is refused with the fields it did have."""
    with pytest.raises(ValueError, match="needs an 'Id'"):
        JobRun.from_api({"JobRunState": "RUNNING"})


def test_run_is_immutable_and_does_not_share_arguments() -> None:
    """A JobRun cannot be changed, and changing the source dict does not change it."""
    source = {"Id": "jr_3", "Arguments": {"--a": "1"}}
    run = JobRun.from_api(source)
    source["Arguments"]["--a"] = "2"
    assert run.arguments == {"--a": "1"}
    with pytest.raises(AttributeError):
        run.id = "other"  # type: ignore[misc]
