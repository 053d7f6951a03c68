"""GlueJobRunTrigger against the local Glue over HTTP: events, WAITING, faults, on_kill, cleanup and restarts."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent
from airflow_versions import capture_logs, deserialize, import_string, log_messages, needs_airflow_3_3, serialize
from support import PollStepper

from airflow_glue_runs import triggers
from airflow_glue_runs._internal.polling import poller, shared_client
from airflow_glue_runs._internal.polling.job_defaults import job_defaults_cache
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult, raise_for_result
from airflow_glue_runs.exceptions import (
    GlueInvalidInputError,
    GlueJobRunExpiredError,
    GlueJobRunFailedError,
    GlueJobRunParameterError,
    GlueJobRunStoppedError,
    GlueJobRunTimeoutError,
)
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "trigger-etl"
SAFETY = 30  # seconds; only guards against a hang, never asserted on


@pytest.fixture
def trigger_logs() -> Iterator[list[dict[str, Any]]]:
    """Collect what triggers log (structlog on Airflow 3.1+, stdlib on 3.0)."""
    with capture_logs() as captured:
        yield captured


def messages(captured: list[dict[str, Any]], level: str | None = None) -> list[str]:
    """Return the captured log messages, %-formatted, optionally of one level only."""
    return log_messages(captured, level)


@pytest.fixture
def job(glue: LocalGlue) -> str:
    glue.create_job(JOB, max_concurrent_runs=50)
    return JOB


def start(glue: LocalGlue, job_name: str = JOB, **arguments: str) -> str:
    args = {f"--local-glue-{k.replace('_', '-')}": v for k, v in arguments.items()}
    return glue.client().start_job_run(JobName=job_name, Arguments=args)["JobRunId"]


def make_trigger(run_id: str, job_name: str = JOB, **kwargs: Any) -> GlueJobRunTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    return GlueJobRunTrigger(job_name=job_name, run_id=run_id, **kwargs)


async def first_event(trigger: GlueJobRunTrigger) -> TriggerEvent:
    """Run the trigger as the triggerer would until its first event, then close it and call cleanup()."""
    events: AsyncIterator[TriggerEvent] = trigger.run()
    try:
        async with asyncio.timeout(SAFETY):
            return await anext(events)  # type: ignore[arg-type]
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        await trigger.cleanup()


def result_of(event: TriggerEvent) -> WaitResult:
    return WaitResult.from_json(event.payload)


def assert_clean() -> None:
    """No poller and no watcher is left in this loop."""
    assert poller.poller_registry().pollers == {}


def test_serialize_round_trips_through_airflow_serde() -> None:
    """serialize() gives primitives that rebuild an equal trigger, through Airflow's own serde."""
    trigger = GlueJobRunTrigger(
        job_name="nightly",
        run_id="jr_0123",
        poll_interval=15,
        max_queue_wait=600,
        stop_on_kill=True,
        wait_until="running",
        running_for=120,
        running_since=1_800_000_100.25,
        forward_logs="all",
        secret_arguments=["--db-password"],
        log_position={"start": 5, "streams": {"/g/output:jr_0123": [7, ["e1"], ""]}},
        deferred_at=1_800_000_000.5,
        aws_conn_id="glue_prod",
        region_name="eu-west-1",
        verify="/etc/ssl/ca.pem",
        botocore_config={"retries": {"mode": "adaptive", "max_attempts": 10}, "read_timeout": 30},
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_glue_runs.triggers.GlueJobRunTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = import_string(classpath)(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "job_name": "nightly",
        "run_id": "jr_0123",
        "poll_interval": 15.0,
        "max_queue_wait": 600.0,
        "stop_on_kill": True,
        "wait_until": "running",
        "running_for": 120.0,
        "running_since": 1_800_000_100.25,
        "forward_logs": "all",
        "secret_arguments": ["--db-password"],
        "log_position": {"start": 5, "streams": {"/g/output:jr_0123": [7, ["e1"], ""]}},
        "deferred_at": 1_800_000_000.5,
        "aws_conn_id": "glue_prod",
        "region_name": "eu-west-1",
        "verify": "/etc/ssl/ca.pem",
        "botocore_config": {"retries": {"mode": "adaptive", "max_attempts": 10}, "read_timeout": 30},
    }


def test_a_trigger_serialized_by_the_withholding_version_still_rebuilds() -> None:
    """Kwargs stored by an earlier version (with withhold_glue_text) rebuild a trigger that ignores that flag."""
    old_kwargs = {
        "job_name": "nightly",
        "run_id": "jr_0123",
        "poll_interval": 15.0,
        "max_queue_wait": None,
        "stop_on_kill": True,
        "withhold_glue_text": True,
        "forward_logs": False,
        "secret_arguments": ["--db-password"],
        "log_position": None,
        "deferred_at": None,
        "aws_conn_id": "aws_default",
        "region_name": None,
        "verify": None,
        "botocore_config": None,
    }
    classpath = "airflow_glue_runs.triggers.GlueJobRunTrigger"
    rebuilt = import_string(classpath)(**deserialize(serialize(old_kwargs)))
    expected = {key: value for key, value in old_kwargs.items() if key != "withhold_glue_text"}
    expected.update(wait_until="end", running_for=None, running_since=None)  # added later, with their defaults
    assert rebuilt.serialize() == (classpath, expected)
    assert not hasattr(rebuilt, "withhold_glue_text")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        *(("poll_interval", 0), ("poll_interval", -1), ("poll_interval", True), ("max_queue_wait", "10")),
        *(("run_id", ""), ("forward_logs", "executors")),
    ],
)
def test_bad_parameters_are_refused_when_built(parameter: str, value: object) -> None:
    """A bad parameter fails when the trigger is built (on the worker), naming the parameter."""
    kwargs: dict[str, Any] = {"job_name": "nightly", "run_id": "jr_1", parameter: value}
    with pytest.raises(GlueJobRunParameterError) as info:
        GlueJobRunTrigger(**kwargs)
    assert info.value.parameter == parameter


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("final_state", "resolution", "error"),
    [
        ("SUCCEEDED", Resolution.SUCCEEDED, None),
        ("FAILED", Resolution.FAILED, GlueJobRunFailedError),
        ("ERROR", Resolution.FAILED, GlueJobRunFailedError),
        ("STOPPED", Resolution.FAILED, GlueJobRunStoppedError),
        ("EXPIRED", Resolution.FAILED, GlueJobRunExpiredError),
        ("TIMEOUT", Resolution.TIMED_OUT, GlueJobRunTimeoutError),
    ],
)
async def test_each_final_state_fires_one_event_with_the_run(
    glue: LocalGlue, job: str, final_state: str, resolution: Resolution, error: type[Exception] | None
) -> None:
    """Every final state ends the wait with one event carrying the run as JSON and the shared verdict."""
    run_id = start(glue, final_state=final_state, stop_seconds="0")
    event = await first_event(make_trigger(run_id))
    result = result_of(event)
    assert result.resolution is resolution
    assert result.run is not None
    assert (result.run.id, result.run.state) == (run_id, final_state)
    assert event.payload == result.to_json()
    assert "Arguments" not in event.payload["run"]
    if error is None:
        raise_for_result(result)
    else:
        with pytest.raises(error):
            raise_for_result(result)
    assert_clean()


@pytest.mark.asyncio
async def test_waiting_is_logged_once_per_detail_then_the_run_starts(
    glue: LocalGlue, stepper: PollStepper, trigger_logs: list[dict[str, Any]]
) -> None:
    """A queued run logs WAITING (with queue time and StateDetail) once, then resolves when a slot frees."""
    glue.create_job(JOB, max_concurrent_runs=1)
    blocker = start(glue, duration="600")
    client = glue.client()
    queued = client.start_job_run(JobName=JOB, JobRunQueuingEnabled=True)["JobRunId"]
    trigger = make_trigger(queued)
    # The job's defaults are read before the StateDetail is logged (masked); read them first so the logging of
    # the first poll does not wait on a GetJob while the poller goes on.
    await job_defaults_cache().get(trigger.client_key, JOB)
    task = asyncio.create_task(first_event(trigger))
    await stepper.until_asleep(1)
    stepper.step()
    await stepper.until_asleep(2)  # two polls saw WAITING
    waiting_lines = [m for m in messages(trigger_logs) if "queued for" in m]
    assert len(waiting_lines) == 1
    assert "max concurrent runs reached" in waiting_lines[0]
    glue.set_run_state(JOB, blocker, "SUCCEEDED")
    stepper.step()
    result = result_of(await task)
    assert result.resolution is Resolution.SUCCEEDED
    assert messages(trigger_logs).count(f"Glue job run {queued} of job {JOB} is WAITING.") == 1
    assert messages(trigger_logs).count(f"Glue job run {queued} of job {JOB} is RUNNING.") <= 1


@pytest.mark.asyncio
async def test_waiting_past_max_queue_wait_resolves_queue_timeout(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run queued longer than max_queue_wait (counted from its StartedOn) resolves with a queue timeout."""
    glue.create_job(JOB, max_concurrent_runs=1)
    start(glue, duration="600")
    queued = glue.client().start_job_run(JobName=JOB, JobRunQueuingEnabled=True)["JobRunId"]
    monkeypatch.setattr(triggers, "_now", lambda: datetime.now(UTC) + timedelta(hours=2))
    result = result_of(await first_event(make_trigger(queued, max_queue_wait=3600)))
    assert result.resolution is Resolution.QUEUE_TIMEOUT
    assert result.run is not None
    assert result.run.state == "WAITING"
    assert "longer than max_queue_wait=3600 s" in result.message


@pytest.mark.asyncio
async def test_a_vanished_run_resolves_not_found(glue: LocalGlue, job: str) -> None:
    """A run id Glue does not know resolves NOT_FOUND with Glue's message."""
    result = result_of(await first_event(make_trigger("jr_does_not_exist")))
    assert result.resolution is Resolution.NOT_FOUND
    assert "jr_does_not_exist" in result.message


@pytest.mark.asyncio
async def test_a_deleted_job_resolves_every_watcher_not_found(glue: LocalGlue, job: str, stepper: PollStepper) -> None:
    """When the job disappears while several runs are watched (read by pages), each trigger resolves NOT_FOUND."""
    run_ids = [start(glue, duration="600") for _ in range(3)]
    tasks = [asyncio.create_task(first_event(make_trigger(run_id))) for run_id in run_ids]
    await stepper.until_asleep(1)
    glue.reset()  # forgets the job and its runs
    stepper.step()
    results = [result_of(event) for event in await asyncio.gather(*tasks)]
    assert {r.resolution for r in results} == {Resolution.NOT_FOUND}
    assert glue.calls() == {"GetJobRuns": 1}  # counters were reset with the job: one page told every trigger
    assert_clean()


@pytest.mark.asyncio
async def test_access_denied_resolves_with_a_clear_failure(glue: LocalGlue, job: str) -> None:
    """AccessDeniedException resolves ACCESS_DENIED with AWS's message, which the operator reports as a failure."""
    run_id = start(glue, duration="600")
    glue.inject_fault("GetJobRun", "AccessDeniedException", message="User is not authorized to glue:GetJobRun")
    result = result_of(await first_event(make_trigger(run_id)))
    assert result.resolution is Resolution.ACCESS_DENIED
    assert "not authorized to glue:GetJobRun" in result.message


NO_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 1}}


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["throttle", "server_error", "unavailable", "drop"])
async def test_a_burst_of_faults_costs_polls_not_the_task(
    glue: LocalGlue, job: str, fault: str, trigger_logs: list[dict[str, Any]]
) -> None:
    """Throttling and transient faults that outlast botocore's retries skip polls; the wait goes on and succeeds."""
    run_id = start(glue)
    glue.inject_fault("GetJobRun", fault, times=3)
    result = result_of(await first_event(make_trigger(run_id, botocore_config=NO_RETRIES)))
    assert result.resolution is Resolution.SUCCEEDED
    assert glue.calls() == {"StartJobRun": 1, "GetJobRun": 4}
    assert sum("Could not read Glue job run" in m for m in messages(trigger_logs, "warning")) == 1
    assert "Glue answered again after 3 skipped poll(s)." in messages(trigger_logs)


@pytest.mark.asyncio
async def test_botocore_retries_absorb_a_short_throttling_burst(glue: LocalGlue, job: str) -> None:
    """With botocore's retries on, one throttled call is retried inside the same poll."""
    run_id = start(glue)
    glue.inject_fault("GetJobRun", "throttle", times=1)
    config = {"retries": {"mode": "standard", "total_max_attempts": 2}}
    result = result_of(await first_event(make_trigger(run_id, botocore_config=config)))
    assert result.resolution is Resolution.SUCCEEDED
    assert glue.calls()["GetJobRun"] == 2


@pytest.mark.asyncio
async def test_an_unexpected_error_propagates_with_its_traceback(glue: LocalGlue, job: str) -> None:
    """An error that is neither transient nor a verdict raises from run() with the poller's frames."""
    run_id = start(glue, duration="600")
    glue.inject_fault("GetJobRun", "InvalidInputException", message="RunId is malformed")
    with pytest.raises(GlueInvalidInputError, match="RunId is malformed") as info:
        await first_event(make_trigger(run_id))
    frames = "".join(traceback.format_tb(info.value.__traceback__))
    assert "poller.py" in frames
    assert "triggers.py" in frames
    assert_clean()


@pytest.mark.asyncio
async def test_restart_resolves_a_run_that_ended_meanwhile_on_the_first_poll(
    glue: LocalGlue, job: str, stepper: PollStepper
) -> None:
    """A trigger rebuilt from serialize() after its run ended (no triggerer running) resolves on its first poll."""
    run_id = start(glue, duration="600")
    classpath, kwargs = make_trigger(run_id, poll_interval=60).serialize()
    glue.set_run_state(JOB, run_id, "FAILED", error_message="boom while no triggerer ran")
    rebuilt = import_string(classpath)(**deserialize(serialize(kwargs)))
    glue.reset_counters()
    result = result_of(await first_event(rebuilt))
    # One read of the run (the first poll resolved it) and one of the job's defaults, to mask Glue's text.
    assert glue.calls() == {"GetJobRun": 1, "GetJob": 1}
    assert result.resolution is Resolution.FAILED
    assert result.run is not None
    assert result.run.error_message == "boom while no triggerer ran"


@pytest.mark.asyncio
async def test_on_kill_stops_the_run_and_cleanup_leaves_the_poller_clean(
    glue: LocalGlue, job: str, stepper: PollStepper
) -> None:
    """As the triggerer does on a user's clear: cancel run(), await on_kill() (stops the run), then cleanup()."""
    run_id = start(glue, duration="600", stop_seconds="0")
    trigger = make_trigger(run_id, stop_on_kill=True)
    events = trigger.run()
    task = asyncio.create_task(anext(events))  # type: ignore[arg-type]
    await stepper.until_asleep(1)
    task.cancel("user-action")
    with pytest.raises(asyncio.CancelledError):
        await task
    await trigger.on_kill()
    await trigger.cleanup()
    assert glue.calls()["BatchStopJobRun"] == 1
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")
    assert_clean()


@pytest.mark.asyncio
async def test_on_kill_without_stop_on_kill_leaves_the_run_alone(glue: LocalGlue, job: str) -> None:
    """With stop_on_kill=False, on_kill() makes no call and the run keeps running."""
    run_id = start(glue, duration="600")
    await make_trigger(run_id, stop_on_kill=False).on_kill()
    assert "BatchStopJobRun" not in glue.calls()
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STARTING", "RUNNING")


@pytest.mark.asyncio
async def test_on_kill_of_a_finished_run_only_logs(
    glue: LocalGlue, job: str, trigger_logs: list[dict[str, Any]]
) -> None:
    """Stopping a run that already ended logs Glue's refusal instead of raising."""
    run_id = start(glue)
    glue.client().get_job_run(JobName=JOB, RunId=run_id)
    await make_trigger(run_id, stop_on_kill=True).on_kill()
    assert any("terminal state" in m for m in messages(trigger_logs, "warning"))


@pytest.mark.asyncio
async def test_the_shared_client_closes_once_unwatched(glue: LocalGlue, job: str) -> None:
    """After the last trigger leaves, the poller stops and the shared client is closed after its idle time."""
    registry = shared_client.client_registry()
    registry.idle_seconds = 0
    for _ in range(2):
        assert result_of(await first_event(make_trigger(start(glue)))).is_success
        assert_clean()
        async with asyncio.timeout(SAFETY):
            while registry.clients:  # noqa: ASYNC110 - bounded wait on the idle countdown
                await asyncio.sleep(0.01)
    assert registry.builds == 2  # the second trigger found the client closed and built a new one


@pytest.mark.asyncio
async def test_triggers_share_one_client_and_a_few_connections(glue: LocalGlue, stepper: PollStepper) -> None:
    """Triggers of two jobs share one client (built once) and one poller per job; the same run is read once."""
    glue.create_job("a", max_concurrent_runs=50)
    glue.create_job("b", max_concurrent_runs=50)
    runs = [("a", start(glue, "a", duration="600")) for _ in range(30)]
    runs += [("b", start(glue, "b", duration="600")) for _ in range(30)]
    twice = [*runs, runs[0]]
    glue.reset_counters()
    tasks = [asyncio.create_task(first_event(make_trigger(run_id, job_name))) for job_name, run_id in twice]
    await stepper.until_asleep(2)  # both pollers polled once
    pollers = poller.poller_registry().pollers
    assert sorted(job_name for _, job_name in pollers) == ["a", "b"]
    assert shared_client.client_registry().builds == 1
    assert glue.calls()["GetJobRuns"] == 2
    assert glue.connections() <= 10
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert_clean()


@needs_airflow_3_3
@pytest.mark.asyncio
@pytest.mark.parametrize("user_action", [True, False])
async def test_the_triggerer_runner_stops_the_run_only_on_a_user_action(
    glue: LocalGlue, job: str, stepper: PollStepper, monkeypatch: pytest.MonkeyPatch, user_action: bool
) -> None:
    """Airflow's own TriggerRunner.run_trigger: a user's clear stops the run; a triggerer shutdown does not."""
    from airflow.jobs.triggerer_job_runner import _USER_ACTION_CANCEL_MSG, TriggerRunner

    monkeypatch.setenv("AIRFLOW_DISABLE_GREENBACK_PORTAL", "true")
    run_id = start(glue, duration="600", stop_seconds="0")
    runner = TriggerRunner()
    task = asyncio.create_task(runner.run_trigger(1, make_trigger(run_id, stop_on_kill=True)))
    runner.triggers = {1: {"task": task, "name": "glue", "events": 0}}
    await stepper.until_asleep(1)
    task.cancel(_USER_ACTION_CANCEL_MSG if user_action else None)
    with pytest.raises(asyncio.CancelledError):
        await task
    state = glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"]
    if user_action:
        assert glue.calls()["BatchStopJobRun"] == 1
        assert state == "STOPPED"
    else:
        assert "BatchStopJobRun" not in glue.calls()
        assert state in ("STARTING", "RUNNING")
    assert runner.events == deque()
    assert_clean()


@pytest.mark.asyncio
async def test_events_never_carry_job_argument_values(glue: LocalGlue, job: str) -> None:
    """A run's job arguments, which may hold secrets under any name, are left out of the stored, logged event."""
    run_id = glue.client().start_job_run(JobName=job, Arguments={"--plain-name": "hunter2-secret"})["JobRunId"]
    event = await first_event(make_trigger(run_id))
    assert "hunter2-secret" not in json.dumps(event.payload)
    assert result_of(event).run is not None
    assert result_of(event).run.id == run_id  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_an_unchanged_run_is_judged_once_not_every_poll(
    glue: LocalGlue, job: str, stepper: PollStepper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that stays RUNNING over three polls is judged (and its text masked) once; its end is judged again."""
    judged: list[datetime] = []

    def now() -> datetime:
        judged.append(datetime.now(UTC))
        return judged[-1]

    monkeypatch.setattr(triggers, "_now", now)
    run_id = start(glue, duration="600")
    task = asyncio.create_task(first_event(make_trigger(run_id)))
    for poll in (1, 2, 3):
        await stepper.until_asleep(poll)
        stepper.step()
    await stepper.until_asleep(4)
    assert len(judged) == 1
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    stepper.step()
    assert result_of(await task).resolution is Resolution.SUCCEEDED
    assert len(judged) == 2
