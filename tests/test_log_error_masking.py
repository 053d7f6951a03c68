"""CloudWatch error texts that Glue log forwarding surfaces are masked with the run's secret values.

The secret is a job DefaultArgument (``--db-password``), so only the merged arguments know it. The local Glue
answers FilterLogEvents (or GetJob) with an injected fault whose message quotes it; no log line, note or event
of the worker's reader or of the triggerer's reader may show it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from airflow_versions import capture_logs, log_messages
from support import first_event

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs.forwarding import worker_forwarder
from airflow_glue_runs.hooks import GlueJobRunHook
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "masked-errors"
SECRET = "pa55-in-job-defaults"
KNOWN = "known-up-front-secret"
SAFETY = 60
TASK_LOGGER = "glue-error-masking-test-task"
FAULTS = {
    "AccessDeniedException": "denied the read",
    "throttle": "backs off",
    "ResourceNotFoundException": "still looking",
    "InvalidInputException": "any more: InvalidInputException",
}
"""Injected fault -> a phrase of the warning it gives (AccessDenied, throttling, missing stream, any other error)."""


def message() -> str:
    return f"user is not allowed to read jdbc://db?password={SECRET} (injected)"


def start(glue: LocalGlue, duration: float) -> str:
    """Create the job with the secret in its DefaultArguments and start one run printing one line."""
    lines = json.dumps([[0, "driver", "hello"]])
    defaults = {"--db-password": SECRET, "--local-glue-log-lines": lines}
    glue.create_job(JOB, max_concurrent_runs=5, default_arguments=defaults)
    arguments = {"--local-glue-duration": str(duration)}
    run_id: str = glue.client().start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"]
    return run_id


def task_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == TASK_LOGGER]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_worker_reader_masks_cloudwatch_error_texts(
    glue: LocalGlue, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """The worker's warning for each kind of CloudWatch error quotes AWS's message with the job default masked."""
    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    caplog.set_level(logging.DEBUG, logger=TASK_LOGGER)
    run_id = start(glue, 600)
    hook = GlueJobRunHook(aws_conn_id="aws_default")
    forwarder = worker_forwarder(hook, JOB, run_id, True, log=logging.getLogger(TASK_LOGGER))
    assert forwarder is not None
    glue.inject_fault("FilterLogEvents", fault, times=1, message=message())
    forwarder.poll(hook.get_job_run(JOB, run_id))
    warnings = [line for line in task_log(caplog) if FAULTS[fault] in line]
    assert len(warnings) == 1
    assert "password=***" in warnings[0]
    assert not [line for line in task_log(caplog) if SECRET in line]


def test_worker_reader_masks_a_failed_getjob_text(glue: LocalGlue, caplog: pytest.LogCaptureFixture) -> None:
    """A failed GetJob (DefaultArguments) is logged with the secret values known up front masked."""
    caplog.set_level(logging.DEBUG, logger=TASK_LOGGER)
    run_id = start(glue, 600)
    hook = GlueJobRunHook(aws_conn_id="aws_default")
    forwarder = worker_forwarder(hook, JOB, run_id, True, log=logging.getLogger(TASK_LOGGER), secrets=(KNOWN,))
    assert forwarder is not None
    glue.inject_fault("GetJob", "InvalidInputException", times=10, message=f"bad job, token={KNOWN}")
    forwarder.poll(hook.get_job_run(JOB, run_id))
    warnings = [line for line in task_log(caplog) if "Could not read the DefaultArguments" in line]
    assert len(warnings) == 1
    assert "token=***" in warnings[0]
    assert not [line for line in task_log(caplog) if KNOWN in line]


async def trigger_event(trigger: GlueJobRunTrigger) -> dict[str, Any]:
    payload: dict[str, Any] = (await first_event(trigger, SAFETY)).payload
    return payload


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.asyncio
async def test_triggerer_reader_masks_cloudwatch_error_texts(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """The trigger's warning for each kind of CloudWatch error masks the job default; neither log nor event shows it."""
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 0.2)
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__LOG_CALLS_PER_SECOND", "100")
    run_id = start(glue, 0.5)
    glue.inject_fault("FilterLogEvents", fault, times=1, message=message())
    trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05, forward_logs=True)
    with capture_logs() as captured:
        payload = await trigger_event(trigger)
    logged = log_messages(captured)
    warnings = [text for text in logged if FAULTS[fault] in text]
    assert len(warnings) == 1
    assert "password=***" in warnings[0]
    assert not [text for text in logged if SECRET in text]
    assert SECRET not in json.dumps(payload)
    assert glue.calls()["FilterLogEvents"] >= 1


@pytest.mark.asyncio
async def test_triggerer_reader_masks_a_failed_getjob_text(glue: LocalGlue, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed GetJob (DefaultArguments) quoting a secret run argument is noted in the trigger's log masked."""
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 0.2)
    glue.create_job(JOB, max_concurrent_runs=5)
    arguments = {"--local-glue-duration": "0.5", "--api-token": KNOWN}
    run_id = glue.client().start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"]
    glue.inject_fault("GetJob", "InvalidInputException", times=10, message=f"bad job, token={KNOWN}")
    trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05, forward_logs=True)
    with capture_logs() as captured:
        payload = await trigger_event(trigger)
    logged = log_messages(captured)
    # The task's note quotes GetJob's text, masked; the triggerer's own line (shared by all tasks) names the code only.
    warnings = [text for text in logged if "DefaultArguments" in text and "bad job" in text]
    assert len(warnings) == 1
    assert "token=***" in warnings[0]
    assert not [text for text in logged if KNOWN in text]
    assert KNOWN not in json.dumps(payload)
