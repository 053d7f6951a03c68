"""The triggerer's shared log reader: CloudWatch Logs calls per cycle for many runs, counted by the local Glue."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from support import PollStepper

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs import reader as log_reader
from airflow_glue_runs._internal.glue_logs.reader import LogFollower
from airflow_glue_runs._internal.polling.shared_client import ClientKey
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)
JOBS = ("logs-a", "logs-b")


@pytest.fixture
def log_stepper(monkeypatch: pytest.MonkeyPatch) -> PollStepper:
    """Replace the log reader's sleep so the test decides when each cycle runs; no ingestion lag."""
    stepper = PollStepper()
    monkeypatch.setattr(log_reader, "_sleep", stepper.sleep)
    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    return stepper


def start_runs(glue: LocalGlue, count: int) -> dict[str, str]:
    """Start ``count`` long runs spread over JOBS, each printing one line naming itself; return run id -> line."""
    client = glue.client()
    lines = {}
    for i in range(count):
        line = f"hello from run number {i}"
        arguments = {"--local-glue-duration": "600", "--local-glue-log-lines": json.dumps([[0, "driver", line]])}
        lines[client.start_job_run(JobName=JOBS[i % 2], Arguments=arguments)["JobRunId"]] = line
    return lines


def start_triggers(runs: dict[str, str]) -> list[asyncio.Task[Any]]:
    async def wait(job_name: str, run_id: str) -> Any:
        trigger = GlueJobRunTrigger(job_name=job_name, run_id=run_id, poll_interval=30, forward_logs=True)
        async for event in trigger.run():
            return event
        return None

    jobs = {run_id: JOBS[i % 2] for i, run_id in enumerate(runs)}
    return [asyncio.create_task(wait(jobs[run_id], run_id)) for run_id in runs]


def followers() -> list[LogFollower]:
    return log_reader.log_readers().readers[KEY].followers


async def cycles_until_located(glue: LocalGlue, log_stepper: PollStepper, count: int) -> list[int]:
    """Step the reader until every follower knows its streams and one more cycle ran; return Logs calls per cycle."""
    calls = []
    cycle = 0
    while True:
        cycle += 1
        await log_stepper.until_asleep(cycle)
        calls.append(glue.calls().get("FilterLogEvents", 0))
        glue.reset_counters()
        located = len(followers()) == count and all(f.logs.location is not None for f in followers())
        if located and calls[-1]:
            return calls
        log_stepper.step()


async def stop(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert log_reader.log_readers().readers == {}


@pytest.mark.asyncio
async def test_200_runs_of_2_jobs_cost_4_calls_a_cycle_and_each_trigger_gets_its_lines(
    glue: LocalGlue, stepper: PollStepper, log_stepper: PollStepper
) -> None:
    """200 runs in one log group: FilterLogEvents per cycle <= 2 groups x ceil(200/100); each follower its own line."""
    for job in JOBS:
        glue.create_job(job, max_concurrent_runs=1000)
    runs = start_runs(glue, 200)
    glue.reset_counters()
    tasks = start_triggers(runs)
    await stepper.until_asleep(1)  # the Glue poller read every run once: the triggers told the reader
    calls = await cycles_until_located(glue, log_stepper, 200)
    assert max(calls) <= 2 * math.ceil(200 / 100)
    assert calls[-1] == 4
    got = {f.logs.run_id: f.lines for f in followers()}
    assert got == {run_id: [f"[glue driver] {line}"] for run_id, line in runs.items()}
    (reader,) = log_reader.log_readers().readers.values()
    assert reader.history[-1].driver_calls == 4
    assert reader.history[-1].executor_calls == 0
    await stop(tasks)


@pytest.mark.asyncio
async def test_throttling_backs_the_whole_reader_off_with_one_warning(
    glue: LocalGlue, stepper: PollStepper, log_stepper: PollStepper
) -> None:
    """A throttled call ends the cycle and skips the next one; each follower gets one warning, no tight loop."""
    glue.create_job(JOBS[0], max_concurrent_runs=1000)
    glue.create_job(JOBS[1], max_concurrent_runs=1000)
    runs = start_runs(glue, 4)
    tasks = start_triggers(runs)
    await stepper.until_asleep(1)
    await cycles_until_located(glue, log_stepper, 4)
    glue.inject_fault("FilterLogEvents", "throttle", times=3)
    (reader,) = log_reader.log_readers().readers.values()
    done = len(reader.history)
    for cycle in range(3):
        log_stepper.step()
        await log_stepper.until_asleep(done + cycle + 1)
    assert [stats.skipped for stats in reader.history[done:]] == [False, True, False]
    assert glue.calls()["FilterLogEvents"] == 2  # one throttled, then (after a skipped cycle) one more throttled
    warnings = [note for f in followers() for _, note in f.notes if "backs off" in note]
    assert len(warnings) == 4
    await stop(tasks)


@pytest.mark.asyncio
async def test_access_denied_stops_forwarding_and_names_the_permission(
    glue: LocalGlue, stepper: PollStepper, log_stepper: PollStepper
) -> None:
    """AccessDenied disables forwarding for the runs read by that call, naming logs:FilterLogEvents once each."""
    for job in JOBS:
        glue.create_job(job, max_concurrent_runs=1000)
    runs = start_runs(glue, 3)
    glue.inject_fault("FilterLogEvents", "AccessDeniedException", times=100)
    tasks = start_triggers(runs)
    await stepper.until_asleep(1)
    await cycles_until_located(glue, log_stepper, 3)
    assert all(f.logs.disabled for f in followers())
    for follower in followers():
        assert [note for _, note in follower.notes if "logs:FilterLogEvents" in note] != []
    log_stepper.step()
    await log_stepper.until_asleep(len(log_reader.log_readers().readers[KEY].history) + 1)
    assert glue.calls().get("FilterLogEvents", 0) == 0  # no more reads for disabled runs
    await stop(tasks)


@pytest.mark.asyncio
async def test_token_bucket_caps_the_call_rate() -> None:
    """Two seconds' worth of calls go at once; then each call waits for its token (1/rate seconds)."""
    from airflow_glue_runs._internal.glue_logs.client import TokenBucket

    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await bucket.take()
    assert waits == []
    for _ in range(3):
        await bucket.take()
    assert waits == pytest.approx([0.5, 0.5, 0.5])
    assert now[0] == pytest.approx(1.5)  # 7 calls in 1.5 s: 4 at once, then 2 a second


@pytest.mark.asyncio
async def test_refused_stream_names_switch_the_group_to_one_prefix_read(
    glue: LocalGlue, stepper: PollStepper, log_stepper: PollStepper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When CloudWatch refuses names of streams not created yet (as AWS is reported to), one prefix read replaces them.

    The runs print nothing to /error, so their error streams never exist: that group costs the refused call plus
    one prefix read, the output group its usual calls, and every trigger still gets its lines.
    """
    from airflow_glue_runs.local_glue import _logs

    monkeypatch.setattr(_logs, "STRICT_STREAM_NAMES", True)
    for job in JOBS:
        glue.create_job(job, max_concurrent_runs=1000)
    runs = start_runs(glue, 150)
    tasks = start_triggers(runs)
    await stepper.until_asleep(1)
    calls = await cycles_until_located(glue, log_stepper, 150)
    assert max(calls) <= 2 + 2  # output: 2 chunks by name; error: 1 refused + 1 prefix read
    got = {f.logs.run_id: f.lines for f in followers()}
    assert got == {run_id: [f"[glue driver] {line}"] for run_id, line in runs.items()}
    assert not any(f.notes for f in followers())
    glue.reset_counters()
    log_stepper.step()
    await log_stepper.until_asleep(len(log_reader.log_readers().readers[KEY].history) + 1)
    assert glue.calls()["FilterLogEvents"] == 2 + 1  # the error group stays on one prefix read
    await stop(tasks)
