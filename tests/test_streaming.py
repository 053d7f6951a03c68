"""Streaming jobs against the local Glue: operator, sensor and trigger with ``wait_until="running"``.

The task succeeds once its run is RUNNING (for ``running_for``, by a clock the test controls) and the run is still
RUNNING afterwards; a run that fails first fails the task as before. One real-Airflow DAG test (``dag.test()``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.sdk import PokeReturnValue
from airflow_versions import TaskDeferred
from operator_fakes import FakeStateStore, FakeTI, task_context
from support import first_event, register_and_test

from airflow_glue_runs import sensors, triggers
from airflow_glue_runs._internal.polling import worker_wait
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult
from airflow_glue_runs.exceptions import GlueJobRunFailedError, GlueJobRunParameterError
from airflow_glue_runs.operators import RUN_ID_XCOM_KEY, SUMMARY_XCOM_KEY, GlueJobRunOperator
from airflow_glue_runs.sensors import RUNNING_SINCE_KEY, GlueJobRunSensor
from airflow_glue_runs.triggers import GlueJobRunTrigger

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

JOB = "clicks-stream"
FOREVER = {"--local-glue-duration": "86400"}  # a day: RUNNING for the whole test, until stopped


@pytest.fixture
def stream(glue: LocalGlue) -> str:
    glue.create_job(JOB, command="gluestreaming", default_arguments=FOREVER, max_concurrent_runs=5)
    return JOB


class StepClock:
    """A clock that moves ``step`` seconds each time it is read: one read per judged observation."""

    def __init__(self, step: float) -> None:
        self.ticks = itertools.count()
        self.step = step

    def __call__(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.step * next(self.ticks))


def operator(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("job_name", JOB)
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("wait_until", "running")
    return GlueJobRunOperator(task_id="stream", **kwargs)


def state_of(glue: LocalGlue, run_id: str) -> str:
    return str(glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"])


def test_on_the_worker_the_task_succeeds_once_running_and_leaves_the_run(
    glue: LocalGlue, stream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the worker the task returns the run id once it is RUNNING; the summary says RUNNING, the run goes on."""
    ti = FakeTI()
    run_id = operator().execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(RUN_ID_XCOM_KEY) == run_id
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == "RUNNING"
    assert ti.xcom(SUMMARY_XCOM_KEY)["completed_on"] is None
    assert state_of(glue, run_id) == "RUNNING"
    assert glue.calls()["StartJobRun"] == 1
    assert "BatchStopJobRun" not in glue.calls()
    out = capsys.readouterr().out
    assert "left running" in out
    assert f"--job-run-ids {run_id}" in out


def test_running_for_waits_by_the_waiters_clock(
    glue: LocalGlue, stream: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With running_for=30 and a clock that moves 10 s a read, the task succeeds on the read 30 s after RUNNING."""
    monkeypatch.setattr(worker_wait, "_now", StepClock(10))
    ti = FakeTI()
    run_id = operator(running_for=30).execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == "RUNNING"
    assert state_of(glue, run_id) == "RUNNING"
    out = capsys.readouterr().out
    assert "has been RUNNING for 30 s" in out
    assert "is RUNNING for 30 s (running_for=30 s)" in out  # not a read early, not a read late


def test_a_run_that_fails_before_running_fails_the_task(glue: LocalGlue, stream: str) -> None:
    """A run that FAILED before it was ever RUNNING fails the task with Glue's ErrorMessage, as without the option."""
    plan = {"--local-glue-duration": "0", "--local-glue-final-state": "FAILED", "--local-glue-error-message": "bad"}
    with pytest.raises(GlueJobRunFailedError, match=r"ended FAILED.*: bad"):
        operator(arguments=plan).execute(task_context())  # type: ignore[arg-type]


def test_a_short_job_that_succeeded_succeeds(glue: LocalGlue, stream: str) -> None:
    """A run that SUCCEEDED before running_for was over is done: the task succeeds with the SUCCEEDED summary."""
    ti = FakeTI()
    run_id = operator(arguments={"--local-glue-duration": "0"}, running_for=600).execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == "SUCCEEDED"
    assert state_of(glue, run_id) == "SUCCEEDED"


def test_on_kill_while_waiting_stops_the_run_but_not_once_left_running(glue: LocalGlue, stream: str) -> None:
    """A kill before success stops the run (stop_on_kill); once the task left its run RUNNING, on_kill stops nothing."""
    done = operator()
    left = done.execute(task_context())  # type: ignore[arg-type]
    done.on_kill()
    assert "BatchStopJobRun" not in glue.calls()
    assert state_of(glue, left) == "RUNNING"
    waiting = operator(wait_for_completion=True)
    waiting._run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    waiting.on_kill()
    assert glue.calls()["BatchStopJobRun"] == 1


@pytest.mark.asyncio
async def test_deferred_the_trigger_counts_running_for_and_the_task_succeeds(
    glue: LocalGlue, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deferred: the trigger carries wait_until/running_for, fires 'running' after running_for, the task resumes."""
    clock = StepClock(2)  # the worker's read before deferring and the trigger's reads, on one clock
    monkeypatch.setattr(worker_wait, "_now", clock)
    monkeypatch.setattr(triggers, "_now", clock)
    ti = FakeTI()
    context = task_context(ti)
    op = operator(deferrable=True, running_for=5, poll_interval=0.02)
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)  # type: ignore[arg-type]
    trigger = info.value.trigger
    _, kwargs = trigger.serialize()
    assert (kwargs["wait_until"], kwargs["running_for"], kwargs["stop_on_kill"]) == ("running", 5.0, True)
    event = await first_event(trigger)
    result = WaitResult.from_json(event.payload)
    assert result.resolution is Resolution.RUNNING
    assert "running_for=5 s" in result.message
    run_id = op.execute_complete(context, event.payload)  # type: ignore[arg-type]
    assert run_id == ti.xcom(RUN_ID_XCOM_KEY)
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == "RUNNING"
    assert state_of(glue, run_id) == "RUNNING"
    assert "BatchStopJobRun" not in glue.calls()


@pytest.mark.asyncio
async def test_a_trigger_goes_on_counting_from_the_carried_running_since(
    glue: LocalGlue, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger given running_since (the task saw RUNNING before deferring) fires on its first RUNNING read."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(triggers, "_now", lambda: now)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.set_run_state(JOB, run_id, "RUNNING")
    since = (now - timedelta(seconds=100)).timestamp()
    trigger = GlueJobRunTrigger(
        job_name=JOB, run_id=run_id, poll_interval=0.02, wait_until="running", running_for=30, running_since=since
    )
    result = WaitResult.from_json((await first_event(trigger)).payload)
    assert result.resolution is Resolution.RUNNING
    assert "RUNNING for 100 s" in result.message


@pytest.mark.asyncio
async def test_a_trigger_reports_a_failure_before_running(glue: LocalGlue, stream: str) -> None:
    """A run that ends FAILED before it is RUNNING resolves the trigger 'failed', not 'running'."""
    plan = {"--local-glue-duration": "0", "--local-glue-final-state": "FAILED"}
    run_id = glue.client().start_job_run(JobName=JOB, Arguments=plan)["JobRunId"]
    trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.02, wait_until="running")
    result = WaitResult.from_json((await first_event(trigger)).payload)
    assert result.resolution is Resolution.FAILED


# -- the sensor -----------------------------------------------------------------------------------------------


def sensor(**kwargs: Any) -> GlueJobRunSensor:
    kwargs.setdefault("job_name", JOB)
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("wait_until", "running")
    return GlueJobRunSensor(task_id="wait_stream", **kwargs)


def test_sensor_poke_succeeds_once_the_run_is_running(glue: LocalGlue, stream: str) -> None:
    """A poke waits while the run is STARTING and returns its id once it is RUNNING; the sensor never stops it."""
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.set_run_state(JOB, run_id, "STARTING")  # held there, however slow the machine
    waiting = sensor(run_id=run_id)
    ti = FakeTI()
    assert waiting.poke({"ti": ti}) is False  # type: ignore[arg-type]
    glue.set_run_state(JOB, run_id, "RUNNING")
    done = waiting.poke({"ti": ti})  # type: ignore[arg-type]
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == run_id
    assert state_of(glue, run_id) == "RUNNING"
    assert "BatchStopJobRun" not in glue.calls()


def test_sensor_running_for_counts_across_pokes(glue: LocalGlue, stream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In poke mode the count lives in the sensor: RUNNING at +0 and +10 s keeps waiting, +20 s is done."""
    monkeypatch.setattr(sensors, "_now", StepClock(10))
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.set_run_state(JOB, run_id, "RUNNING")
    waiting = sensor(run_id=run_id, running_for=20)
    ti = FakeTI()
    assert [waiting.poke({"ti": ti}) for _ in range(2)] == [False, False]  # type: ignore[arg-type]
    assert isinstance(waiting.poke({"ti": ti}), PokeReturnValue)  # type: ignore[arg-type]


def test_sensor_reschedule_keeps_the_count_in_the_state_store(
    glue: LocalGlue, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each reschedule is a new sensor object: the first RUNNING time comes back from the task state store."""
    monkeypatch.setattr(sensors, "_now", StepClock(15))
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.set_run_state(JOB, run_id, "RUNNING")
    store = FakeStateStore()
    results = [
        sensor(run_id=run_id, running_for=30, mode="reschedule").poke(
            {"ti": FakeTI(), "task_state_store": store}  # type: ignore[arg-type]
        )
        for _ in range(3)
    ]
    assert results[:2] == [False, False]
    assert isinstance(results[2], PokeReturnValue)
    assert store.values[RUNNING_SINCE_KEY]["run_id"] == run_id


def test_sensor_reschedule_without_a_state_store_refuses_running_for(glue: LocalGlue, stream: str) -> None:
    """Before Airflow 3.3 (no task state store) reschedule mode cannot keep the count: a clear error, no call."""
    with pytest.raises(GlueJobRunParameterError, match="task state store") as info:
        sensor(run_id="jr_1", running_for=30, mode="reschedule").execute({"ti": FakeTI()})  # type: ignore[arg-type]
    assert info.value.parameter == "running_for"
    assert glue.calls() == {}


def test_sensor_defers_with_the_running_settings(glue: LocalGlue, stream: str) -> None:
    """Deferrable, the sensor hands wait_until, running_for and its first RUNNING time to the trigger."""
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.set_run_state(JOB, run_id, "RUNNING")
    waiting = sensor(run_id=run_id, running_for=60, deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        waiting.execute({"ti": FakeTI()})  # type: ignore[arg-type]
    _, kwargs = info.value.trigger.serialize()
    assert (kwargs["wait_until"], kwargs["running_for"], kwargs["stop_on_kill"]) == ("running", 60.0, False)
    assert kwargs["running_since"] is not None
    assert waiting._watch is not None
    assert waiting._watch.running_since is not None
    assert kwargs["running_since"] == waiting._watch.running_since.timestamp()


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"wait_until": "started"}, "wait_until"),
        ({"wait_until": "end", "running_for": 5}, "running_for"),
        ({"job_result": "optional"}, "job_result"),
    ],
)
def test_sensor_and_operator_refuse_bad_settings_when_parsed(
    glue: LocalGlue, kwargs: dict[str, Any], parameter: str
) -> None:
    """The operator and the sensor check the new settings in __init__ (DAG parse time), naming the parameter."""
    for build in (operator, sensor):
        with pytest.raises(GlueJobRunParameterError) as info:
            build(**kwargs)
        assert info.value.parameter == parameter
    assert glue.calls() == {}


def test_trigger_refuses_bad_settings() -> None:
    """The trigger checks wait_until, running_for and running_since when it is built."""
    for kwargs, parameter in (
        ({"wait_until": "up"}, "wait_until"),
        ({"running_for": 5}, "running_for"),
        ({"wait_until": "running", "running_since": "yesterday"}, "running_since"),
    ):
        with pytest.raises(GlueJobRunParameterError) as info:
            GlueJobRunTrigger(job_name=JOB, run_id="jr_1", **kwargs)
        assert info.value.parameter == parameter


# -- real Airflow -----------------------------------------------------------------------------------------------


@pytest.fixture
def dag_run_of(airflow_db: Path) -> Callable[..., Any]:
    from airflow.sdk import DAG

    def run(**operator_kwargs: Any) -> tuple[Any, DAG]:
        start = pendulum.datetime(2026, 1, 1, tz="UTC")
        with DAG("glue_streaming_test", schedule=None, start_date=start) as dag:
            GlueJobRunOperator(task_id="stream", job_name=JOB, **operator_kwargs)
        return register_and_test(dag, start), dag

    return run


@pytest.mark.slow
def test_a_deferred_streaming_task_succeeds_in_real_airflow(
    glue: LocalGlue, stream: str, dag_run_of: Callable[..., Any]
) -> None:
    """dag.test(): the deferred task succeeds once its run has been RUNNING for 1 s; Glue still runs it after."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run, _ = dag_run_of(wait_until="running", running_for=1, deferrable=True, poll_interval=0.2)
    assert dag_run.state == "success"
    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, key=SUMMARY_XCOM_KEY, dag_ids="glue_streaming_test")
        ).all()
        summary = XComModel.deserialize_value(rows[0])
    assert summary["state"] == "RUNNING"
    assert state_of(glue, summary["run_id"]) == "RUNNING"
    assert glue.run_count(JOB) == 1
