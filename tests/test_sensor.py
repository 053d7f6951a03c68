"""GlueJobRunSensor against the local Glue, with a fake task context: pokes, verdicts, soft_fail, latest run, defer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow_versions import TaskDeferred
from operator_fakes import FakeTI

from airflow_glue_runs._internal.compat import AirflowRescheduleException, AirflowSkipException
from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult
from airflow_glue_runs.exceptions import (
    GlueJobRunExpiredError,
    GlueJobRunFailedError,
    GlueJobRunNotFoundError,
    GlueJobRunParameterError,
    GlueJobRunQueueTimeoutError,
    GlueJobRunStoppedError,
    GlueJobRunTimeoutError,
)
from airflow_glue_runs.links import LINK_XCOM_KEY
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.sensors import GlueJobRunSensor
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "sensor-etl"


@dataclasses.dataclass
class SensorTI(FakeTI):
    """The task instance attributes a sensor reads on top of the operator's."""

    first_reschedule: datetime | None = None

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule


def context(ti: SensorTI | None = None) -> dict[str, Any]:
    return {"ti": ti or SensorTI()}


def sensor(**kwargs: Any) -> GlueJobRunSensor:
    kwargs.setdefault("job_name", JOB)
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("deferrable", False)
    return GlueJobRunSensor(task_id="wait", **kwargs)


@pytest.fixture
def job(glue: LocalGlue) -> str:
    glue.create_job(JOB, max_concurrent_runs=300)
    return JOB


def start(glue: LocalGlue, **arguments: str) -> str:
    args = {f"--local-glue-{k.replace('_', '-')}": v for k, v in arguments.items()}
    return glue.client().start_job_run(JobName=JOB, Arguments=args)["JobRunId"]


def test_poke_waits_while_active_then_returns_the_run_id(glue: LocalGlue, job: str) -> None:
    """Pokes return False while the run is active and its id (the XCom) once it succeeded; the link is pushed once."""
    run_id = start(glue, duration="600")
    ti = SensorTI()
    waiting = sensor(run_id=run_id)
    assert waiting.poke(context(ti)) is False
    assert waiting.poke(context(ti)) is False
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    done = waiting.poke(context(ti))
    assert isinstance(done, PokeReturnValue)
    assert done.is_done
    assert done.xcom_value == run_id
    assert ti.xcom(LINK_XCOM_KEY) == {"region_name": glue.region_name, "job_name": JOB, "run_id": run_id}
    assert glue.calls()["GetJobRun"] == 3


@pytest.mark.parametrize(
    ("final_state", "error"),
    [
        ("FAILED", GlueJobRunFailedError),
        ("ERROR", GlueJobRunFailedError),
        ("STOPPED", GlueJobRunStoppedError),
        ("EXPIRED", GlueJobRunExpiredError),
        ("TIMEOUT", GlueJobRunTimeoutError),
    ],
)
def test_each_unsuccessful_ending_raises_its_outcome_error(
    glue: LocalGlue, job: str, final_state: str, error: type[Exception]
) -> None:
    """The sensor gives every final state the same meaning as the operator, with a message naming run and link."""
    run_id = start(glue, final_state=final_state, stop_seconds="0")
    with pytest.raises(error) as info:
        sensor(run_id=run_id).poke(context())
    assert run_id in str(info.value)
    assert final_state in str(info.value)
    assert console_url(glue.region_name, JOB, run_id) in str(info.value)


def test_a_queued_run_past_max_queue_wait_fails(glue: LocalGlue) -> None:
    """A run WAITING longer than max_queue_wait fails the sensor with a queue timeout."""
    glue.create_job(JOB, max_concurrent_runs=1)
    start(glue, duration="600")
    queued = glue.client().start_job_run(JobName=JOB, JobRunQueuingEnabled=True)["JobRunId"]
    waiting = sensor(run_id=queued, max_queue_wait=timedelta(microseconds=1))
    with pytest.raises(GlueJobRunQueueTimeoutError, match="stayed WAITING"):
        waiting.poke(context())


@pytest.mark.parametrize("flag", ["soft_fail", "never_fail"])
def test_soft_fail_and_never_fail_skip_instead_of_failing(glue: LocalGlue, job: str, flag: str) -> None:
    """In the sensor's own poke loop, a failed run skips the task under soft_fail or never_fail."""
    run_id = start(glue, final_state="FAILED")
    with pytest.raises(AirflowSkipException, match=f"{flag}=True") as info:
        sensor(run_id=run_id, **{flag: True}).execute(context())
    assert isinstance(info.value.__cause__, GlueJobRunFailedError)


def test_poke_mode_execute_returns_the_run_id(glue: LocalGlue, job: str) -> None:
    """BaseSensorOperator's poke loop ends with the run id as the task's return value."""
    run_id = start(glue)
    assert sensor(run_id=run_id).execute(context()) == run_id


def test_without_run_id_the_most_recent_run_is_found_whatever_the_order(glue: LocalGlue, job: str) -> None:
    """With run_id=None the run with the latest StartedOn is watched, read from the pages (no GetJobRun)."""
    client = glue.client()
    run_ids = [client.start_job_run(JobName=JOB)["JobRunId"] for _ in range(250)]
    latest = run_ids[-1]
    glue.reset_counters()
    done = sensor().poke(context())
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == latest
    assert glue.calls() == {"GetJobRuns": 2}


def test_without_run_id_a_newer_run_takes_over_between_pokes(glue: LocalGlue, job: str) -> None:
    """In poke mode the job's most recent run is looked up each poke; a newer run replaces the older one."""
    older = start(glue, duration="600")
    waiting = sensor()
    assert waiting.poke(context()) is False
    newer = start(glue)
    done = waiting.poke(context())
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == newer != older


def test_a_job_without_runs_keeps_the_sensor_waiting(glue: LocalGlue, job: str) -> None:
    """Until the job has a run, the latest-run sensor keeps waiting."""
    waiting = sensor()
    assert waiting.poke(context()) is False
    run_id = start(glue)
    done = waiting.poke(context())
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == run_id


def test_a_missing_job_or_run_fails_clearly(glue: LocalGlue, job: str) -> None:
    """A run or job Glue does not know fails with GlueJobRunNotFoundError quoting Glue."""
    with pytest.raises(GlueJobRunNotFoundError, match=r"jr_nope.*no longer exists"):
        sensor(run_id="jr_nope").poke(context())
    with pytest.raises(GlueJobRunNotFoundError, match="Job no-such-job not found"):
        sensor(job_name="no-such-job").poke(context())


def test_access_denied_fails_clearly(glue: LocalGlue, job: str) -> None:
    """AccessDeniedException fails the sensor with AWS's message."""
    run_id = start(glue)
    glue.inject_fault("GetJobRun", "AccessDeniedException", message="not authorized to perform glue:GetJobRun")
    with pytest.raises(GlueJobRunNotFoundError, match="not authorized to perform glue:GetJobRun"):
        sensor(run_id=run_id).poke(context())


def test_throttling_costs_a_poke(glue: LocalGlue, job: str) -> None:
    """Throttling that outlasts botocore's retries makes the poke return False; the next poke succeeds."""
    run_id = start(glue)
    glue.inject_fault("GetJobRun", "throttle", times=1)
    waiting = sensor(run_id=run_id, botocore_config={"retries": {"mode": "standard", "total_max_attempts": 1}})
    assert waiting.poke(context()) is False
    assert isinstance(waiting.poke(context()), PokeReturnValue)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_queue_wait": 0}, "max_queue_wait"),
        ({"poll_interval": "5"}, "poll_interval"),
        ({"deferrable": "yes"}, "deferrable"),
    ],
)
def test_bad_parameters_are_refused_when_built(kwargs: dict[str, Any], parameter: str) -> None:
    """Bad settings fail in the DAG file, naming the parameter."""
    with pytest.raises(GlueJobRunParameterError) as info:
        sensor(**kwargs)
    assert info.value.parameter == parameter


def test_bad_rendered_names_fail_before_any_request(glue: LocalGlue, job: str) -> None:
    """A job name that rendered empty fails at execute, before Glue is called."""
    with pytest.raises(GlueJobRunParameterError, match="job_name"):
        sensor(job_name="").execute(context())
    assert glue.calls() == {}


def test_deferrable_defers_to_the_shared_trigger(glue: LocalGlue, job: str) -> None:
    """Deferrable mode checks the run once, then defers to GlueJobRunTrigger (never stopping a run it does not own)."""
    run_id = start(glue, duration="600")
    waiting = sensor(run_id=run_id, deferrable=True, poke_interval=7, timeout=3600, max_queue_wait=600)
    with pytest.raises(TaskDeferred) as info:
        waiting.execute(context())
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(seconds=3600)
    assert isinstance(deferred.trigger, GlueJobRunTrigger)
    assert deferred.trigger.serialize()[1] == {
        "job_name": JOB,
        "run_id": run_id,
        "poll_interval": 7.0,
        "max_queue_wait": 600.0,
        "stop_on_kill": False,
        "wait_until": "end",
        "running_for": None,
        "running_since": None,
        "forward_logs": False,
        "secret_arguments": [],
        "log_position": None,
        "deferred_at": None,
        "aws_conn_id": "aws_default",
        "region_name": None,
        "verify": None,
        "botocore_config": None,
    }


def test_deferrable_finishes_at_once_when_the_run_is_already_over(glue: LocalGlue, job: str) -> None:
    """A run that already ended is judged on the worker without deferring."""
    run_id = start(glue)
    assert sensor(run_id=run_id, deferrable=True).execute(context()) == run_id


def _event(resolution: Resolution, run_id: str = "jr_1") -> dict[str, Any]:
    return WaitResult(
        resolution=resolution, job_name=JOB, run_id=run_id, message=f"run {run_id}: {resolution}"
    ).to_json()


def test_execute_complete_judges_the_trigger_event(glue: LocalGlue) -> None:
    """Resuming from the trigger returns the run id on success and raises (or skips with soft_fail) otherwise."""
    assert sensor(deferrable=True).execute_complete(context(), _event(Resolution.SUCCEEDED)) == "jr_1"
    with pytest.raises(GlueJobRunTimeoutError):
        sensor(deferrable=True).execute_complete(context(), _event(Resolution.TIMED_OUT))
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, soft_fail=True).execute_complete(context(), _event(Resolution.NOT_FOUND))


def test_deferrable_without_any_run_reschedules_until_the_timeout(glue: LocalGlue, job: str) -> None:
    """With no run to defer on yet, the task is rescheduled; past the sensor timeout it times out."""
    with pytest.raises(AirflowRescheduleException):
        sensor(deferrable=True).execute(context())
    long_ago = SensorTI(first_reschedule=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(AirflowSkipException, match="had no run"):
        sensor(deferrable=True, timeout=60, soft_fail=True).execute(context(long_ago))
