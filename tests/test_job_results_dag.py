"""Job results in real Airflow (``dag.test()``): a deferred task reads its run's result when it resumes.

A thread stands in for the Glue job (the local Glue runs no scripts): it waits until the task's run exists, writes
the result to the URI in the run's arguments, then ends the run. The run lasts until then, so the task defers and
the trigger runs inline. ``dag.test()`` of Airflow 3.3.2 resumes the task with the trigger's event only, dropping
the defer kwargs that carry the URI (the triggerer merges them), so the task reads the URI from its run.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.sdk import DAG
from support import SAFETY, register_and_test, s3_client

from airflow_glue_runs.glue_job_result import RESULT_URI_ARGUMENT
from airflow_glue_runs.operators import JOB_RESULT_XCOM_KEY, GlueJobRunOperator

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow

START = pendulum.datetime(2026, 1, 1, tz="UTC")
JOB = "count-rows"
BUCKET = "glue-temp"
RESULT = {"rows": 4242, "files": ["a.csv", "b.csv"]}


def stand_in_job(glue: LocalGlue, done: list[str]) -> None:
    """Wait (polling the local Glue, bounded by SAFETY) for the task's run, write its result, then end it."""
    client = glue.client()
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        runs = client.get_job_runs(JobName=JOB)["JobRuns"]
        running = [run for run in runs if run["JobRunState"] == "RUNNING"]
        if running:
            run = running[0]
            bucket, key = run["Arguments"][RESULT_URI_ARGUMENT].removeprefix("s3://").split("/", 1)
            s3_client(glue).put_object(Bucket=bucket, Key=key, Body=json.dumps(RESULT).encode())
            glue.set_run_state(JOB, run["Id"], "SUCCEEDED")
            done.append(run["Id"])
            return
        time.sleep(0.05)  # polling for the run to exist: the condition is checked, never assumed


def xcom(run_id: str, task_id: str, key: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, map_indexes=-1)).one()
        return XComModel.deserialize_value(row)


def test_a_deferred_task_returns_the_job_result_in_real_airflow(airflow_db: Path, glue: LocalGlue) -> None:
    """Deferred in dag.test(): the resumed task reads the result at its run's URI and returns it; XCom
    glue_job_result holds it; one StartJobRun, one GetObject."""
    s3_client(glue).create_bucket(Bucket=BUCKET)
    glue.create_job(JOB, default_arguments={"--TempDir": f"s3://{BUCKET}/tmp", "--local-glue-duration": "600"})
    with DAG("glue_runs_job_result", schedule=None, start_date=START) as dag:
        GlueJobRunOperator(
            task_id="count",
            job_name=JOB,
            deferrable=True,
            poll_interval=0.1,
            job_result="required",
            return_job_result=True,
        )
    done: list[str] = []
    job = threading.Thread(target=stand_in_job, args=(glue, done), daemon=True)
    job.start()
    dag_run = register_and_test(dag, START)
    job.join(SAFETY)
    assert dag_run.state == "success"
    assert len(done) == 1
    assert xcom(dag_run.run_id, "count", "return_value") == RESULT
    assert xcom(dag_run.run_id, "count", JOB_RESULT_XCOM_KEY) == RESULT
    assert glue.calls()["StartJobRun"] == 1
    assert glue.calls()["GetObject"] == 1
