"""A forwarded line belongs to its run, even from a Logs endpoint that ignores FilterLogEvents' stream filters.

Two runs of one job write into the same log groups. The Logs endpoint is the local Glue behind
:class:`~logs_filter_proxy.LogsFilterProxy`, which drops ``logStreamNames`` and ``logStreamNamePrefix`` from every
FilterLogEvents request (plain moto ignores the prefix the same way), so every answer holds both runs' streams.
Only run A is forwarded; no line of run B may reach its task log, and the drop is counted in a DEBUG line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from airflow_versions import capture_logs
from logs_filter_proxy import LogsFilterProxy
from support import first_event

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs.forwarding import worker_forwarder
from airflow_glue_runs.hooks import GlueJobRunHook
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "shared-groups"
SAFETY = 60
BATCHED_READS_LOGGER = "airflow_glue_runs._internal.glue_logs.batched_reads"
WORKER_LOGGER = "glue-foreign-streams-test-task"


def script(run: str, late: float) -> str:
    """Return the lines one run prints: driver, stderr, an executor, and a later driver line."""
    return json.dumps(
        [
            [0, "driver", f"driver line of run {run}"],
            [0, "driver/error", f"stderr line of run {run}"],
            [0, "g-1", f"executor line of run {run}"],
            [late, "driver", f"later driver line of run {run}"],
        ]
    )


def expected(mode: bool | str) -> list[str]:
    """Return run A's forwarded lines for ``mode``, sorted."""
    lines = [
        "[glue driver] driver line of run A",
        "[glue driver/error] stderr line of run A",
        "[glue driver] later driver line of run A",
    ]
    if mode == "all":
        lines.append("[glue g-1] executor line of run A")
    return sorted(lines)


@pytest.fixture
def proxy(glue: LocalGlue, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogsFilterProxy]:
    """Point ``aws_default`` at a proxy that strips FilterLogEvents' stream names and prefix; always stop it."""
    with LogsFilterProxy(glue.endpoint_url) as running:
        monkeypatch.setenv(
            "AIRFLOW_CONN_AWS_DEFAULT", glue.airflow_connection().replace(glue.endpoint_url, running.endpoint_url)
        )
        yield running


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Let DEBUG lines through, stdlib (caplog) and structlog (Airflow 3.1+ task and trigger loggers) alike."""
    caplog.set_level(logging.DEBUG, logger="airflow_glue_runs")
    wrapper_class = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield caplog
    finally:
        structlog.configure(wrapper_class=wrapper_class)


def start_runs(glue: LocalGlue, duration_a: float, late: float) -> tuple[str, str]:
    """Start run A (``duration_a`` seconds) and run B (long) of one job; both print the same kinds of lines."""
    glue.create_job(JOB, max_concurrent_runs=5)
    client = glue.client()
    a = {"--local-glue-duration": str(duration_a), "--local-glue-log-lines": script("A", late)}
    b = {"--local-glue-duration": "600", "--local-glue-log-lines": script("B", late)}
    run_a: str = client.start_job_run(JobName=JOB, Arguments=a)["JobRunId"]
    client.start_job_run(JobName=JOB, Arguments=b)
    return run_a, JOB


def texts(captured: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (level, text) of every captured structlog event."""
    out = []
    for entry in captured:
        args = entry.get("positional_args")
        out.append((str(entry.get("log_level")), entry["event"] % args if args else entry["event"]))
    return out


async def run_trigger(trigger: GlueJobRunTrigger) -> dict[str, Any]:
    payload: dict[str, Any] = (await first_event(trigger, SAFETY)).payload
    return payload


@pytest.mark.parametrize("mode", [True, "all"])
@pytest.mark.asyncio
async def test_triggerer_reader_forwards_no_line_of_another_run(
    glue: LocalGlue,
    proxy: LogsFilterProxy,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    mode: bool | str,
) -> None:
    """The triggerer's shared reader forwards exactly run A's lines; run B's events are dropped and counted at DEBUG."""
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 0.5)
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__LOG_CALLS_PER_SECOND", "100")
    run_a, job = start_runs(glue, 1.0, 0.5)
    trigger = GlueJobRunTrigger(job_name=job, run_id=run_a, poll_interval=0.05, forward_logs=mode)
    with capture_logs() as captured:
        payload = await run_trigger(trigger)
    logged = texts(captured)
    lines = sorted(text for _, text in logged if text.startswith("[glue "))
    assert lines == expected(mode)
    assert not [text for _, text in logged if "run B" in text]
    assert payload["resolution"] == "succeeded"
    assert proxy.stripped > 0  # the endpoint really answered unfiltered
    assert not [key for key in payload["log_position"]["streams"] if "driver" not in key and run_a not in key]
    batched = [r.getMessage() for r in debug_logs.records if r.name == BATCHED_READS_LOGGER]
    assert any("Dropped" in m and "ignored the read's logStreamNames" in m for m in batched)
    if mode == "all":  # the executor reads are per run: the run's own DEBUG note counts what they dropped
        notes = [text for level, text in logged if level == "debug" and "forwards only its own" in text]
        assert notes
        assert all(f"run {run_a} forwards only its own" in note for note in notes)


@pytest.mark.parametrize("mode", [True, "all"])
def test_worker_reader_forwards_no_line_of_another_run(
    glue: LocalGlue,
    proxy: LogsFilterProxy,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: bool | str,
) -> None:
    """The worker's reader (operator and sensor) forwards exactly run A's lines; the drop is a DEBUG line per read."""
    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    caplog.set_level(logging.DEBUG, logger=WORKER_LOGGER)
    run_a, job = start_runs(glue, 600, 0)
    hook = GlueJobRunHook(aws_conn_id="aws_default")
    forwarder = worker_forwarder(hook, job, run_a, mode, log=logging.getLogger(WORKER_LOGGER))
    assert forwarder is not None
    run = hook.get_job_run(job, run_a)
    forwarder.poll(run)
    forwarder.final_flush(run, sleep=lambda seconds: None)
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == WORKER_LOGGER]
    assert sorted(text for _, text in messages if text.startswith("[glue ")) == expected(mode)
    assert not [text for _, text in messages if "run B" in text]
    assert proxy.stripped > 0
    dropped = [text for level, text in messages if level == logging.DEBUG and text.startswith("Dropped ")]
    assert dropped
    assert forwarder.logs.foreign_events >= 3 * (2 if mode == "all" else 1)  # B's lines, read at least once each
    assert all(run_a in key.split(":", 1)[1] for key in forwarder.logs.position.to_json()["streams"])  # type: ignore[union-attr]
