"""Glue log forwarding in real Airflow (``dag.test()``): on the worker and deferred, for the operator and sensor.

Under ``dag.test()`` the task's and the trigger's log lines go to stdout, where these tests read them back.
CloudWatch Logs calls are counted at the local Glue.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.sdk import DAG
from support import register_and_test

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs.exceptions import GlueJobRunFailedError
from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow

START = pendulum.datetime(2026, 1, 1, tz="UTC")
_dag_ids = itertools.count()
BIG = "\n".join(f"big row {i:05d} " + "z" * 40 for i in range(1000))  # ~56 KB: two 32 KiB events, a split line
SCRIPT = [
    [0, "driver", "first line\nsecond line"],
    [0.3, "driver", BIG],
    [0.6, "driver/error", "an error line"],
    [0.6, "g-exec1", "executor says hi"],
    [0.9, "driver", "secret is hunter2"],
    [1.6, "driver", "written after the end"],
]
DRIVER = [
    "first line",
    "second line",
    *(f"big row {i:05d} " + "z" * 40 for i in range(1000)),
    "secret is ***",
    "written after the end",
]


@pytest.fixture(autouse=True)
def _short_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_forwarding, "FINAL_FLUSH_GRACE", 1.0)


@pytest.fixture
def job(glue: LocalGlue) -> str:
    defaults = {"--local-glue-duration": "1.2", "--local-glue-log-lines": json.dumps(SCRIPT)}
    glue.create_job("logs-job", default_arguments=defaults, max_concurrent_runs=5)
    return "logs-job"


def forwarded(output: str) -> dict[str, list[str]]:
    """Return the forwarded lines of the captured output by stream label, in order."""
    lines: dict[str, list[str]] = {}
    for label, text in re.findall(r"\[glue ([^\]]+)\] (.*?) +\[[\w.]+\] loc=", output):
        lines.setdefault(label, []).append(text)
    return lines


def run_dag(airflow_db: Path, operator: type, failures: list[BaseException], **kwargs: Any) -> None:
    dag = DAG(
        f"glue_logs_{next(_dag_ids)}",
        schedule=None,
        start_date=START,
        default_args={"on_failure_callback": lambda context: failures.append(context["exception"])},
    )
    with dag:
        operator(task_id="t", **kwargs)
    register_and_test(dag, START)


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_operator_forwards_every_line_once_in_order(
    glue: LocalGlue,
    airflow_db: Path,
    job: str,
    deferrable: bool,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Driver lines reach the task log exactly once, in order, the split line whole, the late line included.

    No ingestion lag: the run's lines are read over several polls while it runs, so window edges are crossed.
    """
    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    failures: list[BaseException] = []
    run_dag(
        airflow_db,
        GlueJobRunOperator,
        failures,
        job_name=job,
        arguments={"--db-password": "hunter2"},
        forward_logs=True,
        poll_interval=0.2,
        deferrable=deferrable,
    )
    assert failures == []
    lines = forwarded(capfd.readouterr().out)
    assert lines["driver"] == DRIVER
    assert lines["driver/error"] == ["an error line"]
    assert "g-exec1" not in lines
    assert "hunter2" not in "".join(lines["driver"])


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_all_adds_executor_lines(
    glue: LocalGlue, airflow_db: Path, job: str, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    """forward_logs='all' adds the executor streams, each line once."""
    failures: list[BaseException] = []
    run_dag(
        airflow_db,
        GlueJobRunOperator,
        failures,
        job_name=job,
        forward_logs="all",
        poll_interval=0.2,
        deferrable=deferrable,
    )
    assert failures == []
    lines = forwarded(capfd.readouterr().out)
    assert lines["g-exec1"] == ["executor says hi"]
    assert lines["driver"][-1] == "written after the end"
    assert len(lines["driver"]) == len(DRIVER)


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_false_makes_no_cloudwatch_call(glue: LocalGlue, airflow_db: Path, job: str, deferrable: bool) -> None:
    """The default forward_logs=False never calls CloudWatch Logs."""
    failures: list[BaseException] = []
    run_dag(airflow_db, GlueJobRunOperator, failures, job_name=job, poll_interval=0.2, deferrable=deferrable)
    assert failures == []
    assert "FilterLogEvents" not in glue.calls()


@pytest.mark.parametrize("fault", ["AccessDeniedException", "throttle"])
@pytest.mark.parametrize("final_state", ["SUCCEEDED", "FAILED"])
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_log_errors_never_change_the_outcome(
    glue: LocalGlue,
    airflow_db: Path,
    job: str,
    fault: str,
    final_state: str,
    deferrable: bool,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """AccessDenied or throttling on every Logs call: success stays success, failure is the run's failure."""
    glue.inject_fault("FilterLogEvents", fault, times=1000, message="not authorized to perform logs:FilterLogEvents")
    failures: list[BaseException] = []
    run_dag(
        airflow_db,
        GlueJobRunOperator,
        failures,
        job_name=job,
        arguments={"--local-glue-final-state": final_state},
        forward_logs=True,
        poll_interval=0.2,
        deferrable=deferrable,
    )
    out = capfd.readouterr().out
    if final_state == "SUCCEEDED":
        assert failures == []
    else:
        assert len(failures) == 1
        assert isinstance(failures[0], GlueJobRunFailedError)
    assert glue.calls().get("FilterLogEvents", 0) >= 1
    if fault == "AccessDeniedException":
        assert out.count("Add the permission logs:FilterLogEvents") == 1
    else:
        assert out.count("backs off (ThrottlingException") == 1
    assert glue.run_count(job) == 1


@pytest.mark.parametrize(
    ("deferrable", "mode"),
    [(False, "poke"), (False, "reschedule"), (True, "poke")],
    ids=["poke", "reschedule", "deferred"],
)
def test_sensor_forwards_lines_once(
    glue: LocalGlue,
    airflow_db: Path,
    job: str,
    deferrable: bool,
    mode: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sensor forwards the watched run's lines once (across reschedules too), masking sensitive values."""
    monkeypatch.setattr(log_forwarding, "INGEST_LAG", 0.0)
    run_id = glue.client().start_job_run(JobName=job, Arguments={"--db-password": "hunter2"})["JobRunId"]
    failures: list[BaseException] = []
    run_dag(
        airflow_db,
        GlueJobRunSensor,
        failures,
        job_name=job,
        run_id=run_id,
        forward_logs=True,
        poke_interval=0.2,
        deferrable=deferrable,
        mode=mode,
    )
    assert failures == []
    assert forwarded(capfd.readouterr().out)["driver"] == DRIVER
