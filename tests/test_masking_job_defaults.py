"""A secret in the job's DefaultArguments (never sent by the task) that Glue quotes is masked everywhere the provider
writes it: the trigger's log and event, the operator's exception and XCom, the sensor's exception and log, the
worker-side wait's log, and AWS error texts. The job's defaults are read at most once per job in a triggerer loop.

These tests look at what the provider builds, before any Airflow masking (see ``test_masking``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent
from airflow_versions import log_messages
from operator_fakes import FakeTI, task_context
from support import PollStepper, first_event

from airflow_glue_runs._internal.masking import MASK
from airflow_glue_runs._internal.polling.job_defaults import job_defaults_cache
from airflow_glue_runs._internal.run.secrets import TaskSecrets, glue_text_redactor
from airflow_glue_runs.exceptions import GlueInvalidInputError, GlueJobRunFailedError
from airflow_glue_runs.job_run import JobRun
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.operators import SUMMARY_XCOM_KEY, GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "defaults-etl"
DEFAULT_SECRET = "pw-from-the-job-defaults-77"
"""The value of ``--db-password`` in the job's DefaultArguments: secret by its name."""
LISTED_SECRET = "dsn-listed-by-the-task-42"
"""The value of ``--source-spec`` in the job's DefaultArguments: secret because the task lists it."""
GLUE_MESSAGE = f"Login failed with {DEFAULT_SECRET} on {LISTED_SECRET}; giving up"
MASKED_MESSAGE = f"Login failed with {MASK} on {MASK}; giving up"
LISTED = ["--source-spec"]


def failing_job(glue: LocalGlue, *, max_concurrent_runs: int = 1) -> None:
    glue.create_job(
        JOB,
        default_arguments={
            "--local-glue-duration": "0.05",
            "--local-glue-final-state": "FAILED",
            "--local-glue-error-message": GLUE_MESSAGE,
            "--db-password": DEFAULT_SECRET,
            "--source-spec": LISTED_SECRET,
        },
        max_concurrent_runs=max_concurrent_runs,
    )


def start(glue: LocalGlue) -> str:
    return glue.client().start_job_run(JobName=JOB, Arguments={"--day": "2026-01-01"})["JobRunId"]


def logged(captured: list[dict[str, Any]]) -> str:
    return "\n".join(log_messages(captured))


def assert_hidden(text: str) -> None:
    assert DEFAULT_SECRET not in text
    assert LISTED_SECRET not in text


def trigger(run_id: str) -> GlueJobRunTrigger:
    return GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05, secret_arguments=LISTED)


def operator(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    return GlueJobRunOperator(
        task_id="glue", job_name=JOB, arguments={"--day": "2026-01-01"}, secret_arguments=LISTED, **kwargs
    )


def test_the_redactor_masks_secret_job_defaults_the_run_does_not_carry() -> None:
    """The Redactor built from the job's defaults masks their secret and listed values even if the run has none."""
    redactor = glue_text_redactor(
        LISTED,
        run_arguments={"--day": "2026-01-01"},
        job_defaults={"--db-password": DEFAULT_SECRET, "--source-spec": LISTED_SECRET, "--user": "etl-user"},
    )
    assert redactor(GLUE_MESSAGE + " as etl-user") == MASKED_MESSAGE + " as etl-user"


def test_task_secrets_rebuild_the_redactor_only_when_what_they_know_changes() -> None:
    """A task's Redactor is reused across reads that teach nothing new, and rebuilt once the job's defaults arrive."""
    secrets = TaskSecrets(secret_arguments=tuple(LISTED))
    secrets.see(JobRun.from_api({"Id": "jr_1", "JobRunState": "WAITING", "Arguments": {"--day": "1"}}))
    first = secrets.redactor()
    secrets.see(JobRun.from_api({"Id": "jr_1", "JobRunState": "WAITING", "Arguments": {"--day": "1"}}))
    assert secrets.redactor() is first
    secrets.job_defaults = {"--db-password": DEFAULT_SECRET}
    assert secrets.redactor() is not first
    assert secrets.redact(GLUE_MESSAGE) == f"Login failed with {MASK} on {LISTED_SECRET}; giving up"


def test_trigger_event_log_and_resumed_task_never_show_a_job_default_secret(
    glue: LocalGlue, logs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger's log lines and event, then the operator's exception and XCom, show Glue's text masked."""
    failing_job(glue)
    event = asyncio.run(first_event(trigger(start(glue))))
    assert event.payload["run"]["ErrorMessage"] == MASKED_MESSAGE
    assert MASKED_MESSAGE in event.payload["message"]
    assert_hidden(repr(event.payload))
    assert MASKED_MESSAGE in logged(logs)
    assert_hidden(logged(logs))
    ti = FakeTI()
    # The task resumes against an empty local Glue of its own: a read the closed trigger left in flight on the
    # first one cannot be counted as the task's (seen under load), and any read the task made would show here.
    with LocalGlue() as resumed_on:
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", resumed_on.airflow_connection())
        with pytest.raises(GlueJobRunFailedError) as info:
            operator(deferrable=True).execute_complete(task_context(ti), event.payload)  # type: ignore[arg-type]
        assert resumed_on.calls() == {}  # the resumed task reads neither the run nor the job
    assert MASKED_MESSAGE in str(info.value)
    assert_hidden(str(info.value))
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == MASKED_MESSAGE
    assert_hidden(repr(ti.xcom(SUMMARY_XCOM_KEY)))


def test_many_triggers_of_one_job_read_its_defaults_once(glue: LocalGlue) -> None:
    """Eight triggers of one job whose runs all fail with Glue text share one GetJob in their loop."""
    failing_job(glue, max_concurrent_runs=10)
    run_ids = [start(glue) for _ in range(8)]
    glue.reset_counters()

    async def all_events() -> tuple[list[TriggerEvent], int]:
        events = await asyncio.gather(*(first_event(trigger(run_id)) for run_id in run_ids))
        return events, job_defaults_cache().calls

    events, cache_calls = asyncio.run(all_events())
    assert [event.payload["run"]["ErrorMessage"] for event in events] == [MASKED_MESSAGE] * 8
    assert glue.calls()["GetJob"] == 1
    assert cache_calls == 1


def test_log_forwarding_and_masking_share_one_getjob_per_job(glue: LocalGlue) -> None:
    """Triggers that forward logs and mask Glue's text read the job's defaults once between them, not once each."""
    failing_job(glue, max_concurrent_runs=10)
    run_ids = [start(glue) for _ in range(4)]
    glue.reset_counters()

    async def all_events() -> list[TriggerEvent]:
        triggers = [
            GlueJobRunTrigger(
                job_name=JOB, run_id=run_id, poll_interval=0.05, secret_arguments=LISTED, forward_logs=True
            )
            for run_id in run_ids
        ]
        return await asyncio.gather(*(first_event(t) for t in triggers))

    events = asyncio.run(all_events())
    assert [event.payload["run"]["ErrorMessage"] for event in events] == [MASKED_MESSAGE] * 4
    assert glue.calls()["GetJob"] == 1


def test_a_run_without_glue_text_reads_no_job_defaults(glue: LocalGlue) -> None:
    """A run that succeeds without ErrorMessage or StateDetail costs no GetJob: the defaults are read lazily."""
    glue.create_job(JOB, default_arguments={"--db-password": DEFAULT_SECRET})
    run_id = start(glue)
    glue.reset_counters()
    event = asyncio.run(first_event(trigger(run_id)))
    assert event.payload["resolution"] == "succeeded"
    assert "GetJob" not in glue.calls()


def test_a_failed_getjob_neither_fails_nor_shows_the_secret(glue: LocalGlue, logs: list[dict[str, Any]]) -> None:
    """GetJob refused: the wait still ends with the verdict, and the warning quoting AWS's text is masked."""
    failing_job(glue)
    run_id = start(glue)
    glue.inject_fault("GetJob", "AccessDeniedException", message=f"not allowed for {DEFAULT_SECRET}")
    event = asyncio.run(first_event(trigger(run_id)))
    assert event.payload["resolution"] == "failed"
    assert_hidden(repr(event.payload))  # the local Glue merges the defaults into the run, as the fallback uses
    text = logged(logs)
    assert "Could not read the DefaultArguments of Glue job" in text
    assert f"not allowed for {MASK}" in text
    assert_hidden(text)


def test_an_aws_error_text_raised_from_the_trigger_is_masked(
    glue: LocalGlue, stepper: PollStepper, logs: list[dict[str, Any]]
) -> None:
    """An unexpected GetJobRun error quoting a secret is raised masked; the shared poller logs its code only."""
    failing_job(glue)
    run_id = glue.client().start_job_run(
        JobName=JOB, Arguments={"--local-glue-duration": "600", "--source-spec": LISTED_SECRET}
    )["JobRunId"]

    async def wait() -> TriggerEvent:
        waiting = asyncio.create_task(first_event(trigger(run_id)))
        await stepper.until_asleep(1)  # the first read showed the run's arguments
        glue.inject_fault("GetJobRun", "InvalidInputException", message=f"bad RunId near {LISTED_SECRET}")
        stepper.step()
        return await waiting

    with pytest.raises(GlueInvalidInputError) as info:
        asyncio.run(wait())
    assert f"bad RunId near {MASK}" in str(info.value)
    assert_hidden(str(info.value))
    assert_hidden(str(info.value.__cause__))
    assert_hidden(logged(logs))


def test_worker_wait_log_exception_and_xcom_never_show_a_job_default_secret(
    glue: LocalGlue, logs: list[dict[str, Any]]
) -> None:
    """On the worker, the wait's log, the operator's exception and its XCom summary show Glue's text masked."""
    failing_job(glue)
    ti = FakeTI()
    with pytest.raises(GlueJobRunFailedError) as info:
        operator().execute(task_context(ti))  # type: ignore[arg-type]
    assert MASKED_MESSAGE in str(info.value)
    assert_hidden(str(info.value))
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == MASKED_MESSAGE
    assert_hidden(repr(ti.xcom(SUMMARY_XCOM_KEY)))
    assert_hidden(logged(logs))


def test_the_worker_reads_the_job_defaults_once_for_masking_and_log_forwarding(glue: LocalGlue) -> None:
    """An operator forwarding logs on the worker reads the job's DefaultArguments once, for both of their uses."""
    failing_job(glue)
    glue.reset_counters()
    with pytest.raises(GlueJobRunFailedError) as info:
        operator(forward_logs=True).execute(task_context(FakeTI()))  # type: ignore[arg-type]
    assert MASKED_MESSAGE in str(info.value)
    assert glue.calls()["GetJob"] == 1


def test_an_aws_error_text_raised_from_the_operator_is_masked(glue: LocalGlue) -> None:
    """A StartJobRun error quoting a secret the task sent leaves execute() masked, its botocore cause too."""
    failing_job(glue)
    glue.inject_fault("StartJobRun", "InvalidInputException", message=f"bad value {LISTED_SECRET}")
    op = GlueJobRunOperator(
        task_id="glue", job_name=JOB, arguments={"--source-spec": LISTED_SECRET}, secret_arguments=LISTED
    )
    with pytest.raises(GlueInvalidInputError) as info:
        op.execute(task_context(FakeTI()))  # type: ignore[arg-type]
    assert f"bad value {MASK}" in str(info.value)
    assert_hidden(str(info.value))
    assert_hidden(str(info.value.__cause__))


def test_sensor_exception_and_log_never_show_a_job_default_secret(glue: LocalGlue, logs: list[dict[str, Any]]) -> None:
    """The sensor's failure and its log lines show Glue's text masked; the job's defaults are read once."""
    failing_job(glue)
    run_id = start(glue)
    glue.reset_counters()
    sensor = GlueJobRunSensor(
        task_id="wait", job_name=JOB, run_id=run_id, poke_interval=0.01, timeout=30, secret_arguments=LISTED
    )
    with pytest.raises(GlueJobRunFailedError) as info:
        sensor.execute({"ti": FakeTI()})  # type: ignore[arg-type]
    assert MASKED_MESSAGE in str(info.value)
    assert_hidden(str(info.value))
    assert_hidden(logged(logs))
    assert glue.calls().get("GetJob") == 1
