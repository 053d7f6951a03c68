"""GlueJobRunOperator against the local Glue, with a fake task context: validation, waiting, deferral, outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from airflow_versions import TaskDeferred
from operator_fakes import FakeTI, task_context

from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult
from airflow_glue_runs._internal.start.arguments import MASK
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT
from airflow_glue_runs.exceptions import (
    GlueJobRunExpiredError,
    GlueJobRunFailedError,
    GlueJobRunNotFoundError,
    GlueJobRunParameterError,
    GlueJobRunQueueTimeoutError,
    GlueJobRunStoppedError,
    GlueJobRunTimeoutError,
)
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.operators import (
    DEFERRAL_MARGIN,
    LINK_XCOM_KEY,
    RUN_ID_XCOM_KEY,
    SUMMARY_XCOM_KEY,
    GlueJobRunOperator,
    deferral_timeout,
)

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

JOB = "nightly"


def operator(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("job_name", JOB)
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    return GlueJobRunOperator(task_id="glue", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"poll_interval": "30"}, "poll_interval"),
        ({"max_queue_wait": 0}, "max_queue_wait"),
        ({"max_queue_wait": timedelta(seconds=-1)}, "max_queue_wait"),
        ({"max_queue_wait": "1h"}, "max_queue_wait"),
        ({"secret_arguments": "--db-password"}, "secret_arguments"),
        ({"wait_for_completion": "yes"}, "wait_for_completion"),
        ({"deferrable": 1}, "deferrable"),
        ({"stop_on_kill": None}, "stop_on_kill"),
        ({"botocore_config": "retries=3"}, "botocore_config"),
    ],
)
def test_constructor_refuses_bad_settings(glue: LocalGlue, kwargs: dict[str, Any], parameter: str) -> None:
    """The operator's own settings are checked when the DAG is parsed, naming the parameter; nothing is sent."""
    with pytest.raises(GlueJobRunParameterError) as info:
        operator(**kwargs)
    assert info.value.parameter == parameter
    assert glue.calls() == {}


@pytest.mark.parametrize(
    ("kwargs", "parameter", "match"),
    [
        ({"job_name": ""}, "job_name", "allowed are 1 to 255"),
        ({"job_name": "a\nb"}, "job_name", "control character"),
        ({"arguments": "--a=b,c"}, "arguments", "continues after a comma"),
        ({"arguments": "{not json"}, "arguments", "invalid JSON"),
        ({"arguments": {"--x": None}}, "arguments", "argument '--x' is None"),
        ({"arguments": {MARKER_ARGUMENT: "x"}}, "arguments", "reserved"),
        ({"worker_type": "G.3X"}, "worker_type", "not one of Standard, G.1X"),
        ({"timeout": 0}, "timeout", "allowed: 1 to 10079"),
        ({"timeout": "10080"}, "timeout", "allowed: 1 to 10079"),
        ({"timeout": "an hour"}, "timeout", "expected an integer"),
        ({"number_of_workers": 0}, "number_of_workers", "1 to 2147483647"),
        ({"max_capacity": 2.0, "worker_type": "G.1X"}, "max_capacity", "cannot be set together"),
        ({"max_capacity": "2.5"}, "max_capacity", "whole number from 2 to 100"),
        ({"max_capacity": "1e400"}, "max_capacity", "not a finite number"),
        ({"number_of_workers": "9" * 5000}, "number_of_workers", "5000 digits is out of range"),
        ({"timeout": str(2**31)}, "timeout", "allowed: 1 to 10079"),
        ({"execution_class": "FAST"}, "execution_class", "not one of FLEX, STANDARD"),
        ({"job_run_queuing_enabled": "maybe"}, "job_run_queuing_enabled", "expected True or False"),
        ({"notify_delay_after": 0}, "notify_delay_after", "1 to 2147483647"),
        ({"execution_role_session_policy": "x"}, "execution_role_session_policy", "2 to 2048"),
        ({"security_configuration": ""}, "security_configuration", "allowed are 1 to 255"),
    ],
)
def test_execute_refuses_bad_parameters_before_any_request(
    glue: LocalGlue, kwargs: dict[str, Any], parameter: str, match: str
) -> None:
    """Rendered parameters are all checked in execute before any AWS request, naming the parameter."""
    op = operator(**kwargs)
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        op.execute(task_context())  # type: ignore[arg-type]
    assert info.value.parameter == parameter
    assert glue.calls() == {}


def test_worker_success_pushes_each_xcom_once(glue: LocalGlue) -> None:
    """A run that succeeds on the worker returns its id; run id, link and summary are pushed once each."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "0.2"})
    ti = FakeTI()
    op = operator(arguments={"--day": "2026-01-01", "--db-password": "hunter2-secret"}, timeout="30")
    run_id = op.execute(task_context(ti))  # type: ignore[arg-type]
    assert [key for key, _ in ti.pushed] == [RUN_ID_XCOM_KEY, LINK_XCOM_KEY, SUMMARY_XCOM_KEY]
    assert ti.xcom(RUN_ID_XCOM_KEY) == run_id
    assert ti.xcom(LINK_XCOM_KEY) == {"region_name": glue.region_name, "job_name": JOB, "run_id": run_id}
    summary = ti.xcom(SUMMARY_XCOM_KEY)
    assert summary["run_id"] == run_id
    assert summary["state"] == "SUCCEEDED"
    assert summary["timeout"] == 30
    assert summary["worker_type"] == "G.1X"
    assert summary["number_of_workers"] == 2
    assert summary["started_on"] is not None
    assert summary["completed_on"] is not None
    assert summary["arguments"]["--day"] == "2026-01-01"
    assert summary["arguments"]["--db-password"] == MASK
    assert summary["console_url"] == console_url(glue.region_name, JOB, run_id)
    assert MARKER_ARGUMENT not in summary["arguments"]
    assert glue.calls()["StartJobRun"] == 1
    assert glue.run_count(JOB) == 1
    # Glue received the real value and the marker; only what Airflow stores is masked.
    sent = glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["Arguments"]
    assert sent["--db-password"] == "hunter2-secret"
    assert MARKER_ARGUMENT in sent


def test_rendered_text_is_read_as_numbers(glue: LocalGlue) -> None:
    """Templated numbers and booleans that rendered as text reach Glue as numbers and booleans."""
    glue.create_job(JOB, max_concurrent_runs=2)
    ti = FakeTI()
    op = operator(
        timeout="45", number_of_workers=" 3 ", job_run_queuing_enabled="True", arguments="--day=1,--mode=full"
    )
    run_id = op.execute(task_context(ti))  # type: ignore[arg-type]
    run = glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
    assert run["Timeout"] == 45
    assert run["NumberOfWorkers"] == 3
    assert run["JobRunQueuingEnabled"] is True
    assert {"--day": "1", "--mode": "full"}.items() <= run["Arguments"].items()


def test_rendering_masks_the_arguments_field(glue: LocalGlue) -> None:
    """After Jinja, the arguments field shows secrets as ***; the run still gets the real values."""
    glue.create_job(JOB)
    op = operator(arguments="--day={{ ds }},--conn={{ params.conn }}", secret_arguments=["--conn"])
    op.render_template_fields({"ds": "2026-01-02", "params": {"conn": "jdbc://u:pw@host/db"}})  # type: ignore[arg-type]
    assert op.arguments == {"--day": "2026-01-02", "--conn": MASK}
    run_id = op.execute(task_context())  # type: ignore[arg-type]
    sent = glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["Arguments"]
    assert sent["--conn"] == "jdbc://u:pw@host/db"


def test_wait_for_completion_false_returns_once_started(glue: LocalGlue) -> None:
    """Without waiting, the task returns the run id right after the start, with a summary of the run so far."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "60"})
    ti = FakeTI()
    run_id = operator(wait_for_completion=False).execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] in ("STARTING", "RUNNING")
    assert ti.xcom(RUN_ID_XCOM_KEY) == run_id
    assert glue.calls().get("GetJobRun") == 1


def test_defers_with_a_deadline_from_the_run_timeout(glue: LocalGlue) -> None:
    """A running run is read once, then the wait is deferred to the trigger with a deadline from its Timeout."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"})
    ti = FakeTI()
    op = operator(deferrable=True, timeout=30, max_queue_wait=120, poll_interval=5, botocore_config={"read_timeout": 9})
    with pytest.raises(TaskDeferred) as info:
        op.execute(task_context(ti))  # type: ignore[arg-type]
    deferred = info.value
    run_id = ti.xcom(RUN_ID_XCOM_KEY)
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(minutes=30) + timedelta(seconds=120) + DEFERRAL_MARGIN + timedelta(seconds=5)
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_glue_runs.triggers.GlueJobRunTrigger"
    assert kwargs == {
        "job_name": JOB,
        "run_id": run_id,
        "poll_interval": 5.0,
        "max_queue_wait": 120.0,
        "stop_on_kill": True,
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
        "botocore_config": {"read_timeout": 9},
    }
    # Run id and link are known before deferring; the summary waits for the outcome.
    assert [key for key, _ in ti.pushed] == [RUN_ID_XCOM_KEY, LINK_XCOM_KEY]
    assert glue.calls() == {"StartJobRun": 1, "GetJobRun": 1}


def test_deadline_without_queue_budget_allows_glue_queue_time() -> None:
    """Without max_queue_wait the deadline allows the run's Timeout twice (queue, then run), plus the margin."""
    run = JobRun(id="jr_1", state=JobRunState.RUNNING)
    assert deferral_timeout(run, max_queue_wait=None, poll_interval=30) == (
        timedelta(minutes=2880) * 2 + DEFERRAL_MARGIN + timedelta(seconds=30)
    )


def test_does_not_defer_a_run_that_is_already_over(glue: LocalGlue) -> None:
    """A run already final at its first read finishes the task at once, without a deferral."""
    glue.create_job(JOB)
    run_id = operator(deferrable=True).execute(task_context())  # type: ignore[arg-type]
    assert run_id.startswith("jr_")


def _event(resolution: Resolution, state: JobRunState | None, **run: Any) -> dict[str, Any]:
    job_run = JobRun(id="jr_abc", job_name=JOB, state=state, **run) if state is not None else None
    message = f"Glue job run jr_abc of job {JOB} ended {state}: {run.get('error_message') or run.get('state_detail')}"
    return WaitResult(resolution=resolution, job_name=JOB, run_id="jr_abc", message=message, run=job_run).to_json()


@pytest.mark.parametrize(
    ("resolution", "state", "error"),
    [
        (Resolution.FAILED, JobRunState.FAILED, GlueJobRunFailedError),
        (Resolution.FAILED, JobRunState.ERROR, GlueJobRunFailedError),
        (Resolution.FAILED, JobRunState.STOPPED, GlueJobRunStoppedError),
        (Resolution.FAILED, JobRunState.EXPIRED, GlueJobRunExpiredError),
        (Resolution.TIMED_OUT, JobRunState.TIMEOUT, GlueJobRunTimeoutError),
        (Resolution.NOT_FOUND, None, GlueJobRunNotFoundError),
    ],
)
def test_resume_judges_the_event(
    glue: LocalGlue, resolution: Resolution, state: JobRunState | None, error: type[Exception]
) -> None:
    """On resume the event is judged with the shared model: each ending raises its type, naming the run."""
    ti = FakeTI()
    event = _event(resolution, state, error_message="Out of memory in stage 3")
    with pytest.raises(error) as info:
        operator().execute_complete(task_context(ti), event)  # type: ignore[arg-type]
    assert type(info.value) is error
    text = str(info.value)
    assert "jr_abc" in text
    assert JOB in text
    assert console_url(glue.region_name, JOB, "jr_abc") in text
    if state is not None:
        assert str(state) in text
        assert "Out of memory in stage 3" in text
        assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == state
    else:
        assert ti.pushed == []


def test_resume_success_returns_the_run_id(glue: LocalGlue) -> None:
    """A success event returns the run id and pushes the summary (and nothing else) once."""
    ti = FakeTI()
    event = _event(Resolution.SUCCEEDED, JobRunState.SUCCEEDED, dpu_seconds=12.5)
    assert operator().execute_complete(task_context(ti), event) == "jr_abc"  # type: ignore[arg-type]
    assert [key for key, _ in ti.pushed] == [SUMMARY_XCOM_KEY]
    assert ti.xcom(SUMMARY_XCOM_KEY)["dpu_seconds"] == 12.5
    assert glue.calls() == {}


def _queued_run(glue: LocalGlue) -> str:
    """Fill the job's only slot and queue a second run behind it; return the queued run's id."""
    glue.create_job(JOB, max_concurrent_runs=1)
    client = glue.client()
    client.start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})
    return client.start_job_run(JobName=JOB, JobRunQueuingEnabled=True)["JobRunId"]


def test_resume_after_queue_timeout_stops_the_run(glue: LocalGlue) -> None:
    """A queue-timeout event makes the task stop the run (BatchStopJobRun) and fail with its own type."""
    run_id = _queued_run(glue)
    event = WaitResult(
        resolution=Resolution.QUEUE_TIMEOUT,
        job_name=JOB,
        run_id=run_id,
        message=f"Glue job run {run_id} of job {JOB} stayed WAITING for 5 s, longer than max_queue_wait=2 s.",
        run=JobRun(id=run_id, job_name=JOB, state=JobRunState.WAITING, state_detail="max concurrent runs reached"),
    ).to_json()
    with pytest.raises(GlueJobRunQueueTimeoutError, match="stayed WAITING"):
        operator().execute_complete(task_context(), event)  # type: ignore[arg-type]
    assert glue.calls()["BatchStopJobRun"] == 1
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")


def test_worker_queue_timeout_stops_the_run(glue: LocalGlue) -> None:
    """On the worker, a run WAITING longer than max_queue_wait is stopped and the task fails with its reason."""
    glue.create_job(JOB, max_concurrent_runs=1)
    glue.client().start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})
    op = operator(job_run_queuing_enabled=True, max_queue_wait=0.3)
    with pytest.raises(
        GlueJobRunQueueTimeoutError, match=r"stayed WAITING .* longer than max_queue_wait=0.3 s"
    ) as info:
        op.execute(task_context())  # type: ignore[arg-type]
    run_id = info.value.result.run_id
    assert glue.calls()["BatchStopJobRun"] == 1
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")


def test_worker_failure_names_the_error(glue: LocalGlue) -> None:
    """A run that fails on the worker raises GlueJobRunFailedError with Glue's ErrorMessage and the link."""
    glue.create_job(
        JOB,
        default_arguments={
            "--local-glue-duration": "0.1",
            "--local-glue-final-state": "FAILED",
            "--local-glue-error-message": "Table not found: raw.events",
        },
    )
    ti = FakeTI()
    with pytest.raises(GlueJobRunFailedError, match=r"ended FAILED.*Table not found: raw\.events.*Console: https://"):
        operator().execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == "Table not found: raw.events"


def test_vanished_run_fails_the_wait(glue: LocalGlue) -> None:
    """A run whose job is deleted while the task waits ends the wait with GlueJobRunNotFoundError."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"})
    op = operator(poll_interval=0.2)
    ti = FakeTI()
    context = task_context(ti)
    run_id = operator(wait_for_completion=False).execute(context)  # type: ignore[arg-type]
    glue.client().delete_job(JobName=JOB)
    op._run_id = run_id
    from airflow_glue_runs._internal.run.waiting import RunWatch

    with pytest.raises(GlueJobRunNotFoundError, match="no longer exists"):
        op._finish(context, op._worker_wait(RunWatch(JOB, run_id)).wait())  # type: ignore[arg-type]


def test_on_kill_stops_the_run(glue: LocalGlue) -> None:
    """Killing the task on the worker stops its run with BatchStopJobRun."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"})
    op = operator(wait_for_completion=False)
    run_id = op.execute(task_context())  # type: ignore[arg-type]
    op.on_kill()
    assert glue.calls()["BatchStopJobRun"] == 1
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")


def test_on_kill_leaves_the_run_when_told_to(glue: LocalGlue) -> None:
    """With stop_on_kill=False a kill leaves the run running."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"})
    op = operator(wait_for_completion=False, stop_on_kill=False)
    op.execute(task_context())  # type: ignore[arg-type]
    op.on_kill()
    assert "BatchStopJobRun" not in glue.calls()


def test_on_kill_during_start_finds_the_run_by_its_marker(glue: LocalGlue) -> None:
    """Killed while StartJobRun was in flight (no run id yet), on_kill finds the run by its marker and stops it."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"})
    op = operator(wait_for_completion=False)
    run_id = op.execute(task_context())  # type: ignore[arg-type]
    op._run_id = None  # the response had not arrived when the kill came
    op.on_kill()
    assert glue.calls()["GetJobRuns"] >= 1
    assert glue.calls()["BatchStopJobRun"] == 1
    assert glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")


def test_transient_read_errors_cost_a_poll(glue: LocalGlue) -> None:
    """On the worker, a throttled or failed read is skipped like in the trigger; the wait goes on."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "0.3"})
    no_retries = {"retries": {"mode": "standard", "max_attempts": 1}}
    # Two failed reads right after the start, then three while waiting: every one costs a poll, no more.
    glue.inject_fault("GetJobRun", "throttle", times=2)
    op = operator(wait_for_completion=False, botocore_config=no_retries)
    run_id = op.execute(task_context())  # type: ignore[arg-type]
    assert glue.calls()["GetJobRun"] == 3
    glue.inject_fault("GetJobRun", "throttle", times=2)
    glue.inject_fault("GetJobRun", "unavailable")
    from airflow_glue_runs._internal.run.waiting import RunWatch

    result = op._worker_wait(RunWatch(JOB, run_id)).wait()
    assert result.is_success
    assert glue.calls()["GetJobRun"] >= 7


def test_unexpected_read_errors_propagate(glue: LocalGlue) -> None:
    """A read error that is neither transient, gone nor denied fails the try with Glue's own error."""
    from airflow_glue_runs._internal.run.waiting import RunWatch
    from airflow_glue_runs.exceptions import GlueInvalidInputError

    glue.create_job(JOB, default_arguments={"--local-glue-duration": "60"})
    op = operator(wait_for_completion=False)
    run_id = op.execute(task_context())  # type: ignore[arg-type]
    glue.inject_fault("GetJobRun", "InvalidInputException")
    with pytest.raises(GlueInvalidInputError):
        op._worker_wait(RunWatch(JOB, run_id)).wait()


def test_summary_after_resume_shows_the_sent_arguments(glue: LocalGlue) -> None:
    """A trigger event without the run's arguments still gives a summary with them (masked) after resumption."""
    op = operator(arguments={"--day": "1", "--api-key": "k-123456789"})
    op.render_template_fields({})  # type: ignore[arg-type]
    ti = FakeTI()
    op.execute_complete(task_context(ti), _event(Resolution.SUCCEEDED, JobRunState.SUCCEEDED))  # type: ignore[arg-type]
    assert ti.xcom(SUMMARY_XCOM_KEY)["arguments"] == {"--day": "1", "--api-key": MASK}


def test_warns_about_secrets_and_names_without_dashes(glue: LocalGlue, capsys: pytest.CaptureFixture[str]) -> None:
    """The log names secret keys (never values) with what to use instead, and keys Glue scripts will not read."""
    glue.create_job(JOB)
    op = operator(arguments={"--db-password": "hunter2-secret", "day": "1"}, wait_for_completion=False)
    capsys.readouterr()
    op.execute(task_context())  # type: ignore[arg-type]
    text = capsys.readouterr().out
    assert "Job argument(s) --db-password look secret" in text
    assert "Secrets Manager" in text
    assert "Job argument(s) day do not start with '--'" in text
    assert "hunter2" not in text


@pytest.mark.parametrize(("setting", "expected"), [("True", True), ("False", False)])
def test_deferrable_follows_airflow_default(monkeypatch: pytest.MonkeyPatch, setting: str, expected: bool) -> None:
    """Without deferrable=..., the operator follows Airflow's [operators] default_deferrable."""
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    assert GlueJobRunOperator(task_id="glue", job_name=JOB).deferrable is expected
    assert GlueJobRunOperator(task_id="glue", job_name=JOB, deferrable=not expected).deferrable is not expected


def test_importing_the_operator_is_cheap() -> None:
    """Importing the operator module loads no AWS SDK and no hook (DAG files are parsed often)."""
    import subprocess
    import sys

    code = (
        "import sys, airflow_glue_runs.operators; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'aiobotocore') "
        "or m in ('airflow_glue_runs.hooks', 'airflow_glue_runs._internal.polling.poller')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"
