"""GlueJobRunTrigger with forward_logs: lines in the trigger's log, position in the event, restarts, secrets."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from airflow_versions import log_messages
from support import first_event

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import REBUILT_AFTER, GlueJobRunTrigger

JOB = "trigger-logs"
SAFETY = 60
SCRIPT = [[0, "driver", "early token=hunter2"], [1.0, "driver", "later"], [1.4, "driver", "after the end"]]


@pytest.fixture(autouse=True)
def _short_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 0.5)


def forwarded(captured: list[dict[str, Any]]) -> list[str]:
    return [text for text in log_messages(captured) if text.startswith("[glue ")]


def start(glue: LocalGlue) -> str:
    glue.create_job(JOB, max_concurrent_runs=5)
    arguments = {"--local-glue-duration": "1.2", "--local-glue-log-lines": json.dumps(SCRIPT), "--api-token": "hunter2"}
    run_id: str = glue.client().start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"]
    return run_id


async def event_of(trigger: GlueJobRunTrigger) -> dict[str, Any]:
    payload: dict[str, Any] = (await first_event(trigger, SAFETY)).payload
    return payload


@pytest.mark.asyncio
async def test_lines_logged_once_masked_and_position_in_the_event(glue: LocalGlue, logs: list[dict[str, Any]]) -> None:
    """Every line once, the late one too, secrets masked; a trigger resumed from the event's position repeats none."""
    run_id = start(glue)
    trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05, forward_logs=True)
    payload = await event_of(trigger)
    assert forwarded(logs) == ["[glue driver] early token=***", "[glue driver] later", "[glue driver] after the end"]
    assert payload["resolution"] == "succeeded"
    position = payload["log_position"]
    assert position["streams"]
    assert "hunter2" not in json.dumps(payload)
    assert "hunter2" not in repr(trigger)
    logs.clear()
    again = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05, forward_logs=True, log_position=position)
    await event_of(again)
    assert forwarded(logs) == []


@pytest.mark.asyncio
async def test_rebuilt_trigger_forwards_only_lines_from_its_own_start(
    glue: LocalGlue, logs: list[dict[str, Any]]
) -> None:
    """A trigger started long after the deferral (a triggerer restart) forwards no line from before its start."""
    run_id = start(glue)
    trigger = GlueJobRunTrigger(
        job_name=JOB, run_id=run_id, poll_interval=0.05, forward_logs=True, deferred_at=time.time() - REBUILT_AFTER - 1
    )
    await event_of(trigger)
    assert forwarded(logs) == ["[glue driver] later", "[glue driver] after the end"]


@pytest.mark.asyncio
async def test_no_logs_call_without_forward_logs(glue: LocalGlue) -> None:
    """forward_logs=False (the default) never calls CloudWatch Logs nor reads the job."""
    run_id = start(glue)
    glue.reset_counters()
    await event_of(GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.05))
    assert set(glue.calls()) <= {"GetJobRun", "GetJobRuns"}
