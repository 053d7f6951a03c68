"""Secret values that Glue repeats in its ErrorMessage or StateDetail are masked by the provider itself.

Airflow's secrets masker redacts task logs in a deployment, but not XCom values or exception texts everywhere,
and nothing under ``dag.test()``; these tests look at what the provider builds, before any Airflow masking.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent
from airflow_versions import TaskDeferred, log_messages
from operator_fakes import FakeTI, task_context
from support import first_event

from airflow_glue_runs._internal.masking import MASK, Redactor, redact
from airflow_glue_runs._internal.run.waiting import (
    Resolution,
    RunWatch,
    WaitResult,
    raise_for_result,
)
from airflow_glue_runs.exceptions import GlueJobRunFailedError, GlueJobRunQueueTimeoutError
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.operators import SUMMARY_XCOM_KEY, GlueJobRunOperator
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "masked-etl"
SECRET = "hunter2-secret"
GLUE_MESSAGE = f"Login failed for jdbc:postgresql://db:5432/sales?user=etl&password={SECRET}; giving up"
MASKED_MESSAGE = f"Login failed for jdbc:postgresql://db:5432/sales?user=etl&password={MASK}; giving up"


def test_redact_replaces_every_occurrence_longest_first() -> None:
    """Each occurrence is replaced, and a secret containing another secret is hidden whole, not in pieces."""
    text = "token=abcdef-123456 and again abcdef-123456, prefix abcdef"
    assert redact(text, ["abcdef", "abcdef-123456"]) == "token=*** and again ***, prefix ***"


def test_redact_ignores_short_and_empty_values_as_airflow_does() -> None:
    """Values under 5 characters (Airflow's min_length_masked_secret default) and empty values are left alone."""
    assert redact("user 1234 failed at step 1", ["1234", "", "1"]) == "user 1234 failed at step 1"
    assert redact("key 12345 refused", ["12345"]) == f"key {MASK} refused"


def test_redact_takes_values_literally() -> None:
    """Regex metacharacters in a secret match themselves only."""
    assert redact("p=a.b*c+d and p=axbbbcd", ["a.b*c+d"]) == f"p={MASK} and p=axbbbcd"


def test_redactor_without_values_changes_nothing() -> None:
    """A Redactor with no usable values is falsy and returns texts and None unchanged."""
    redactor = Redactor(["abc"])
    assert not redactor
    assert redactor(GLUE_MESSAGE) == GLUE_MESSAGE
    assert redactor.optional(None) is None


def failing_job(glue: LocalGlue, message: str = GLUE_MESSAGE, **defaults: str) -> None:
    glue.create_job(
        JOB,
        default_arguments={
            "--local-glue-duration": "0.1",
            "--local-glue-final-state": "FAILED",
            "--local-glue-error-message": message,
            **defaults,
        },
    )


def operator(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("arguments", {"--db-password": SECRET, "--day": "2026-01-01"})
    return GlueJobRunOperator(task_id="glue", job_name=JOB, **kwargs)


def logged(captured: list[dict[str, Any]]) -> str:
    return "\n".join(log_messages(captured))


def test_worker_failure_masks_the_secret_in_exception_and_summary(glue: LocalGlue) -> None:
    """On the worker, a secret quoted by Glue's ErrorMessage is *** in the exception and the XCom summary."""
    failing_job(glue)
    ti = FakeTI()
    with pytest.raises(GlueJobRunFailedError) as info:
        operator().execute(task_context(ti))  # type: ignore[arg-type]
    assert SECRET not in str(info.value)
    assert MASKED_MESSAGE in str(info.value)
    assert info.value.run is not None
    assert info.value.run.error_message == MASKED_MESSAGE
    summary = ti.xcom(SUMMARY_XCOM_KEY)
    assert summary["error_message"] == MASKED_MESSAGE
    assert SECRET not in repr(summary)


def test_listed_secret_and_job_default_secret_are_masked(glue: LocalGlue) -> None:
    """A value listed in secret_arguments and a secret-named job default the task never sent are both masked."""
    failing_job(
        glue, message="bad token tok-9f8e7d and bad key sk-job-default-42", **{"--api-password": "sk-job-default-42"}
    )
    ti = FakeTI()
    op = operator(arguments={"--token-value": "tok-9f8e7d"}, secret_arguments=["--token-value"])
    with pytest.raises(GlueJobRunFailedError) as info:
        op.execute(task_context(ti))  # type: ignore[arg-type]
    assert f"bad token {MASK} and bad key {MASK}" in str(info.value)
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == f"bad token {MASK} and bad key {MASK}"


def test_worker_log_lines_mask_glue_text(glue: LocalGlue, logs: list[dict[str, Any]]) -> None:
    """The operator's log lines built from Glue's StateDetail show the secret as ***."""
    op = operator()
    watch = RunWatch(job_name=JOB, run_id="jr_1")
    run = JobRun(id="jr_1", state=JobRunState.WAITING, state_detail=f"waiting: connection {SECRET} busy")
    assert op._worker_wait(watch).observe(run) is None
    text = logged(logs)
    assert f"waiting: connection {MASK} busy" in text
    assert SECRET not in text


def test_deferred_operator_no_longer_asks_the_trigger_to_withhold_glue_text(glue: LocalGlue) -> None:
    """The trigger of a task with secret arguments carries no withhold flag: it masks Glue's text itself."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "600"}, max_concurrent_runs=2)
    with pytest.raises(TaskDeferred) as info:
        operator(deferrable=True).execute(task_context())  # type: ignore[arg-type]
    trigger = info.value.trigger
    assert isinstance(trigger, GlueJobRunTrigger)
    assert "withhold_glue_text" not in trigger.serialize()[1]


async def _first_event(trigger: GlueJobRunTrigger) -> TriggerEvent:
    event: TriggerEvent = await first_event(trigger, 30)
    return event


def test_deferred_failure_masks_the_secret_and_resume_reads_nothing(
    glue: LocalGlue, logs: list[dict[str, Any]]
) -> None:
    """The trigger's log and event carry Glue's text masked; on resume the task reads nothing more and masks too."""
    failing_job(glue)
    run_id = glue.client().start_job_run(JobName=JOB, Arguments={"--db-password": SECRET})["JobRunId"]
    trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05)
    event = asyncio.run(_first_event(trigger))
    assert SECRET not in repr(event.payload)
    assert SECRET not in logged(logs)
    assert MASKED_MESSAGE in event.payload["message"]
    assert event.payload["run"]["ErrorMessage"] == MASKED_MESSAGE
    glue.reset_counters()
    ti = FakeTI()
    with pytest.raises(GlueJobRunFailedError) as info:
        operator().execute_complete(task_context(ti), event.payload)  # type: ignore[arg-type]
    assert glue.calls() == {}  # no read of the run or the job on resume
    assert MASKED_MESSAGE in str(info.value)
    assert SECRET not in str(info.value)
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == MASKED_MESSAGE


def test_resume_masks_glue_text_an_event_carries(glue: LocalGlue) -> None:
    """An event that carries Glue's text in clear (a trigger of an earlier version) is masked on resume too."""
    run = JobRun(id="jr_abc", job_name=JOB, state=JobRunState.FAILED, error_message=GLUE_MESSAGE)
    event = WaitResult(
        resolution=Resolution.FAILED, job_name=JOB, run_id="jr_abc", message=f"ended FAILED: {GLUE_MESSAGE}", run=run
    ).to_json()
    ti = FakeTI()
    with pytest.raises(GlueJobRunFailedError) as info:
        operator().execute_complete(task_context(ti), event)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"ended FAILED: {MASKED_MESSAGE}")
    assert ti.xcom(SUMMARY_XCOM_KEY)["error_message"] == MASKED_MESSAGE
    assert glue.calls() == {}


def test_a_masked_queue_detail_raises_masked(glue: LocalGlue) -> None:
    """A queue-timeout verdict's StateDetail is masked in the message, the run and the exception."""
    verdict = WaitResult(
        resolution=Resolution.QUEUE_TIMEOUT,
        job_name=JOB,
        run_id="jr_q",
        message=f"stayed WAITING for 5 s. StateDetail: slot held by {SECRET}.",
        run=JobRun(id="jr_q", state=JobRunState.WAITING, state_detail=f"slot held by {SECRET}"),
    )
    result = verdict.redacted(Redactor([SECRET]))
    assert result.message == f"stayed WAITING for 5 s. StateDetail: slot held by {MASK}."
    assert result.run is not None
    assert result.run.state_detail == f"slot held by {MASK}"
    with pytest.raises(GlueJobRunQueueTimeoutError, match=r"slot held by \*\*\*"):
        raise_for_result(result)


def test_operator_follows_airflows_min_length_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator skips the same short values as Airflow's masker: [logging] min_length_masked_secret."""
    op = operator(arguments={"--db-password": "abc"})
    assert op._redactor()("pw abc") == "pw abc"
    monkeypatch.setenv("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", "3")
    assert op._redactor()("pw abc") == f"pw {MASK}"
