"""GlueJobRunSensor in real Airflow (``dag.test()``) against the local Glue, in poke, reschedule and deferrable modes.

``dag.test()`` runs the tasks in this process and the trigger inline. A helper thread ends the Glue run once the
sensor has read it a given number of times (an observable condition, counted by the local Glue), so each mode is
seen waiting before it succeeds.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.sdk import DAG
from support import register_and_test

from airflow_glue_runs.exceptions import GlueJobRunFailedError
from airflow_glue_runs.sensors import GlueJobRunSensor

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow

START = pendulum.datetime(2026, 1, 1, tz="UTC")
JOB = "sensor-dag-etl"
_dag_ids = itertools.count()


@pytest.fixture
def errors() -> list[BaseException]:
    return []


@pytest.fixture
def make_dag(airflow_db: Path, errors: list[BaseException]) -> Callable[..., DAG]:
    """Return a factory of DAGs with a unique id whose task failures land in ``errors``."""

    def record(context: Any) -> None:
        errors.append(context["exception"])

    def factory(**kwargs: Any) -> DAG:
        return DAG(
            f"glue_sensor_{next(_dag_ids)}",
            schedule=None,
            start_date=START,
            default_args={"on_failure_callback": record},
            **kwargs,
        )

    return factory


def run(dag: DAG) -> DagRun:
    """Register the DAG and run it with ``dag.test()`` at START."""
    return register_and_test(dag, START)


def task_state(dag_run: DagRun, task_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(
            select(TaskInstance.state).where(TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == task_id)
        )
    return str(state)


def reschedules(dag_run: DagRun, task_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        count = session.scalar(
            select(func.count(TaskReschedule.id))
            .join(TaskInstance, TaskInstance.id == TaskReschedule.ti_id)
            .where(TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == task_id)
        )
    return int(count or 0)


def xcom(dag_run: DagRun, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=dag_run.run_id, key=key, task_ids=task_id)).one_or_none()
        return XComModel.deserialize_value(row) if row is not None else None


@contextlib.contextmanager
def end_run_after_reads(glue: LocalGlue, run_id: str, reads: int, state: str = "SUCCEEDED") -> Iterator[None]:
    """End the run once the local Glue has answered ``reads`` GetJobRun calls, from a helper thread."""
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            if glue.calls().get("GetJobRun", 0) >= reads:
                glue.set_run_state(JOB, run_id, state)
                return
            stop.wait(0.05)

    thread = threading.Thread(target=watch, name="end-glue-run", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def long_run(glue: LocalGlue) -> str:
    glue.create_job(JOB, max_concurrent_runs=5)
    run_id: str = glue.client().start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})["JobRunId"]
    glue.reset_counters()
    return run_id


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_worker_modes_wait_then_succeed(
    glue: LocalGlue, long_run: str, make_dag: Callable[..., DAG], errors: list[BaseException], mode: str
) -> None:
    """In poke and reschedule modes the templated run is read until it succeeds; the run id is the task's XCom."""
    with make_dag(params={"run_id": long_run}) as dag:
        GlueJobRunSensor(
            task_id="wait",
            job_name=JOB,
            run_id="{{ params.run_id }}",
            mode=mode,
            poke_interval=0.2,
            timeout=120,
            deferrable=False,
        )
    with end_run_after_reads(glue, long_run, reads=3):
        dag_run = run(dag)
    assert errors == []
    assert task_state(dag_run, "wait") == "success"
    assert xcom(dag_run, "wait") == long_run
    assert glue.calls()["GetJobRun"] >= 4
    if mode == "reschedule":
        assert reschedules(dag_run, "wait") >= 2


def test_deferrable_mode_waits_in_the_trigger(
    glue: LocalGlue, long_run: str, make_dag: Callable[..., DAG], errors: list[BaseException]
) -> None:
    """Deferrable mode checks once, waits in the (inline) trigger, and resumes with the run id."""
    with make_dag() as dag:
        GlueJobRunSensor(task_id="wait", job_name=JOB, deferrable=True, poll_interval=0.1, timeout=120)
    with end_run_after_reads(glue, long_run, reads=3):
        dag_run = run(dag)
    assert errors == []
    assert task_state(dag_run, "wait") == "success"
    assert xcom(dag_run, "wait") == long_run
    assert "BatchStopJobRun" not in glue.calls()


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_failed_run_fails_the_task_or_skips_it_with_soft_fail(
    glue: LocalGlue, long_run: str, make_dag: Callable[..., DAG], errors: list[BaseException], deferrable: bool
) -> None:
    """A run that ends FAILED fails the sensor with Glue's message; with soft_fail the task is skipped."""
    with make_dag() as dag:
        common: dict[str, Any] = {"job_name": JOB, "run_id": long_run, "deferrable": deferrable, "timeout": 120}
        GlueJobRunSensor(task_id="strict", poke_interval=0.1, **common)
        GlueJobRunSensor(task_id="lenient", poke_interval=0.1, soft_fail=True, **common)
    with end_run_after_reads(glue, long_run, reads=2, state="FAILED"):
        dag_run = run(dag)
    assert task_state(dag_run, "strict") == "failed"
    assert task_state(dag_run, "lenient") == "skipped"
    (error,) = errors
    assert isinstance(error, GlueJobRunFailedError)
    assert long_run in str(error)
