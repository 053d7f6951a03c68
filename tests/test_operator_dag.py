"""GlueJobRunOperator in real Airflow (``dag.test()``) against the local Glue: context, outcomes, no duplicate runs.

Each test registers its DAG in the session's metadata database and runs it with ``dag.test()``, which runs the
tasks in this process, the trigger inline, and retries with ``retry_delay=0`` at once. Exceptions are caught by
an ``on_failure_callback``; XComs and rendered fields are read back from the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
import pytest
from airflow.sdk import DAG, task
from airflow_versions import needs_airflow_3_3
from support import register_and_test

from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.start.arguments import MASK
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT, STATE_KEY
from airflow_glue_runs.exceptions import (
    GlueJobRunExpiredError,
    GlueJobRunFailedError,
    GlueJobRunParameterError,
    GlueJobRunQueueTimeoutError,
    GlueJobRunStoppedError,
    GlueJobRunTimeoutError,
)
from airflow_glue_runs.operators import LINK_XCOM_KEY, RUN_ID_XCOM_KEY, SUMMARY_XCOM_KEY, GlueJobRunOperator

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow

START = pendulum.datetime(2026, 1, 1, tz="UTC")
_dag_ids = itertools.count()


class Failures:
    """Exceptions of failed task tries, caught by ``on_failure_callback`` / ``on_retry_callback``."""

    def __init__(self) -> None:
        self.by_task: dict[str, list[BaseException]] = {}

    def __call__(self, context: Any) -> None:
        self.by_task.setdefault(context["ti"].task_id, []).append(context["exception"])

    def only(self, task_id: str) -> BaseException:
        errors = self.by_task[task_id]
        assert len(errors) == 1, errors
        return errors[0]


@pytest.fixture
def failures() -> Failures:
    return Failures()


@pytest.fixture
def make_dag(airflow_db: Path, failures: Failures) -> Callable[..., DAG]:
    """Return a factory of DAGs with a unique id whose task failures are recorded in ``failures``."""

    def factory(**kwargs: Any) -> DAG:
        kwargs.setdefault("schedule", None)
        kwargs.setdefault("start_date", START)
        default_args = {"on_failure_callback": failures, "on_retry_callback": failures, **kwargs.pop("args", {})}
        return DAG(f"glue_runs_{next(_dag_ids)}", default_args=default_args, **kwargs)

    return factory


def run(dag: DAG) -> DagRun:
    """Register the DAG and run it with ``dag.test()`` at START."""
    return register_and_test(dag, START)


def clear_and_rerun(dag: DAG, dag_run: DagRun) -> DagRun:
    """Clear every task of the run as a user would, then drive the run to its end the way ``dag.test()`` does."""
    from airflow import settings
    from airflow.models.dagrun import DagRun as DagRunModel
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    session = settings.Session()
    tis = session.scalars(select(TaskInstance).where(TaskInstance.run_id == dag_run.run_id)).all()
    clear_task_instances(list(tis), session)
    session.commit()
    dr = session.scalar(select(DagRunModel).where(DagRunModel.run_id == dag_run.run_id))
    assert dr is not None
    dr.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    dr.state = DagRunState.RUNNING
    session.commit()
    while dr.state == DagRunState.RUNNING:
        session.expire_all()
        schedulable, _ = dr.update_state(session=session)
        for ti in schedulable:
            ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        for ti in dr.get_task_instances(state=[TaskInstanceState.SCHEDULED], session=session):
            _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
    return dr


def xcom(dag_run: DagRun, task_id: str, key: str, map_index: int = -1) -> Any:
    """Read one XCom of a task instance back from the metadata database."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=dag_run.run_id, key=key, task_ids=task_id, map_indexes=map_index)
        row = session.scalars(query).one_or_none()
        return XComModel.deserialize_value(row) if row is not None else None


def task_instance(dag_run: DagRun, task_id: str, map_index: int = -1) -> Any:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.run_id == dag_run.run_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index == map_index,
            )
        )
        assert ti is not None
        session.expunge(ti)
        return ti


def rendered(dag_run: DagRun, task_id: str) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    fields = RenderedTaskInstanceFields.get_templated_fields(task_instance(dag_run, task_id))
    assert fields is not None
    return fields


def sent_arguments(glue: LocalGlue, job: str, run_id: str) -> dict[str, str]:
    arguments: dict[str, str] = glue.client().get_job_run(JobName=job, RunId=run_id)["JobRun"]["Arguments"]
    return arguments


def state_of(glue: LocalGlue, job: str, run_id: str) -> str:
    state: str = glue.client().get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]
    return state


def glue_op(task_id: str, job: str = "job", **kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("poll_interval", 0.1)
    kwargs.setdefault("deferrable", False)
    return GlueJobRunOperator(task_id=task_id, job_name=job, **kwargs)


# -- arguments from the DAG context ----------------------------------------------------------------------------


def test_arguments_rendered_from_the_context(glue: LocalGlue, make_dag: Callable[..., DAG]) -> None:
    """Jinja (ds, params, an XCom pull of shorthand text) renders the arguments; secrets show masked in the UI."""
    glue.create_job("job", max_concurrent_runs=5)
    with make_dag(params={"source": "s3://raw/events", "pw": "hunter2-secret"}) as dag:

        @task
        def upstream() -> str:
            return '--from-xcom=yes,--list="a,b"'

        pulled = glue_op("pulled", arguments="{{ ti.xcom_pull(task_ids='upstream') }}")
        templated = glue_op(
            "templated",
            arguments={"--day": "{{ ds }}", "--source": "{{ params.source }}", "--db-password": "{{ params.pw }}"},
            number_of_workers="{{ 1 + 2 }}",
        )
        upstream() >> pulled >> templated
    dag_run = run(dag)
    assert dag_run.state == "success"

    pulled_id = xcom(dag_run, "pulled", RUN_ID_XCOM_KEY)
    assert {"--from-xcom": "yes", "--list": "a,b"}.items() <= sent_arguments(glue, "job", pulled_id).items()
    templated_id = xcom(dag_run, "templated", RUN_ID_XCOM_KEY)
    sent = sent_arguments(glue, "job", templated_id)
    assert sent["--day"] == "2026-01-01"
    assert sent["--source"] == "s3://raw/events"
    assert sent["--db-password"] == "hunter2-secret"
    assert glue.client().get_job_run(JobName="job", RunId=templated_id)["JobRun"]["NumberOfWorkers"] == 3
    # What Airflow stores shows the secret masked: rendered fields and the XCom summary.
    fields = rendered(dag_run, "templated")
    assert fields["arguments"] == {"--day": "2026-01-01", "--source": "s3://raw/events", "--db-password": MASK}
    assert xcom(dag_run, "templated", SUMMARY_XCOM_KEY)["arguments"]["--db-password"] == MASK


def test_native_rendering(glue: LocalGlue, make_dag: Callable[..., DAG]) -> None:
    """With render_template_as_native_obj, a templated dict and numbers arrive as such and are converted."""
    glue.create_job("job")
    params = {"args": {"--n": 3, "--flags": ["a", "b"], "--on": True}, "workers": 4}
    with make_dag(params=params, render_template_as_native_obj=True) as dag:
        glue_op("native", arguments="{{ params.args }}", number_of_workers="{{ params.workers }}")
    dag_run = run(dag)
    assert dag_run.state == "success"
    run_id = xcom(dag_run, "native", RUN_ID_XCOM_KEY)
    sent = sent_arguments(glue, "job", run_id)
    assert {"--n": "3", "--flags": '["a","b"]', "--on": "true"}.items() <= sent.items()
    assert glue.client().get_job_run(JobName="job", RunId=run_id)["JobRun"]["NumberOfWorkers"] == 4


def test_mapped_tasks_each_start_their_run(glue: LocalGlue, make_dag: Callable[..., DAG]) -> None:
    """partial().expand(arguments=...) starts one run per map index, each with its own arguments and marker."""
    glue.create_job("job", max_concurrent_runs=5)
    with make_dag() as dag:

        @task
        def partitions() -> list[Any]:
            return [{"--partition": "eu"}, "--partition=us", '{"--partition": "ap"}']

        GlueJobRunOperator.partial(task_id="mapped", job_name="job", poll_interval=0.1, deferrable=True).expand(
            arguments=partitions()
        )
    dag_run = run(dag)
    assert dag_run.state == "success"
    markers = set()
    for map_index, partition in enumerate(["eu", "us", "ap"]):
        summary = xcom(dag_run, "mapped", SUMMARY_XCOM_KEY, map_index)
        assert summary["state"] == "SUCCEEDED"
        assert summary["arguments"]["--partition"] == partition
        assert MARKER_ARGUMENT not in summary["arguments"]
        markers.add(sent_arguments(glue, "job", summary["run_id"])[MARKER_ARGUMENT])
    assert len(markers) == 3
    assert glue.run_count("job") == 3


# -- outcomes --------------------------------------------------------------------------------------------------

ENDINGS = [
    ("succeeded", "SUCCEEDED", None),
    ("failed", "FAILED", GlueJobRunFailedError),
    ("error", "ERROR", GlueJobRunFailedError),
    ("timeout", "TIMEOUT", GlueJobRunTimeoutError),
    ("stopped", "STOPPED", GlueJobRunStoppedError),
    ("expired", "EXPIRED", GlueJobRunExpiredError),
]


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_every_ending_has_its_exception_and_message(
    glue: LocalGlue,
    make_dag: Callable[..., DAG],
    failures: Failures,
    deferrable: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each final state and a queue timeout fail the task with their own type, naming job, run, state, reason, link."""
    glue.create_job("states", max_concurrent_runs=10, default_arguments={"--enable-auto-scaling": "true"})
    glue.create_job("busy", max_concurrent_runs=1)
    glue.client().start_job_run(JobName="busy", Arguments={"--local-glue-duration": "600"})
    pushes = _count_xcom_pushes(monkeypatch)
    with make_dag() as dag:
        for task_id, state, _ in ENDINGS:
            plan = {"--local-glue-duration": "0.3", "--local-glue-final-state": state}
            if state != "SUCCEEDED":
                plan["--local-glue-error-message"] = f"scripted {state.lower()} reason"
            glue_op(task_id, "states", arguments=plan, deferrable=deferrable, trigger_rule="all_done")
        glue_op(
            "queue_timeout",
            "busy",
            job_run_queuing_enabled=True,
            max_queue_wait=0.5,
            deferrable=deferrable,
            trigger_rule="all_done",
        )
    dag_run = run(dag)

    region = glue.region_name
    for task_id, state, error in ENDINGS:
        run_id = xcom(dag_run, task_id, RUN_ID_XCOM_KEY)
        summary = xcom(dag_run, task_id, SUMMARY_XCOM_KEY)
        assert summary["state"] == state
        assert summary["run_id"] == run_id
        assert xcom(dag_run, task_id, "_link_GlueJobRunLink") == console_url(region, "states", run_id)
        assert xcom(dag_run, task_id, LINK_XCOM_KEY) == {"region_name": region, "job_name": "states", "run_id": run_id}
        if error is None:
            assert task_instance(dag_run, task_id).state == "success"
            assert xcom(dag_run, task_id, "return_value") == run_id
            assert summary["execution_time"] is not None
            assert summary["dpu_seconds"] is not None
            continue
        assert task_instance(dag_run, task_id).state == "failed"
        exception = failures.only(task_id)
        assert type(exception) is error, exception
        message = str(exception)
        for part in (
            "states",
            run_id,
            state,
            f"scripted {state.lower()} reason",
            console_url(region, "states", run_id),
        ):
            assert part in message, (part, message)
        assert summary["error_message"] == f"scripted {state.lower()} reason"

    queued = failures.only("queue_timeout")
    assert type(queued) is GlueJobRunQueueTimeoutError
    queued_id = xcom(dag_run, "queue_timeout", RUN_ID_XCOM_KEY)
    for part in ("busy", queued_id, "WAITING", "max_queue_wait=0.5", console_url(region, "busy", queued_id)):
        assert part in str(queued), (part, str(queued))
    assert glue.client().get_job_run(JobName="busy", RunId=queued_id)["JobRun"]["JobRunState"] in (
        "STOPPING",
        "STOPPED",
    )
    assert glue.calls()["BatchStopJobRun"] == 1
    # Each key at most once per try, across deferral and resumption.
    assert ("succeeded", 1, SUMMARY_XCOM_KEY) in pushes
    assert ("queue_timeout", 1, RUN_ID_XCOM_KEY) in pushes
    assert set(pushes.values()) == {1}, pushes


def _count_xcom_pushes(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, int, str], int]:
    """Count the XCom pushes per (task, try, key) through the task instance's xcom_push."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    counts: dict[tuple[str, int, str], int] = {}
    original = RuntimeTaskInstance.xcom_push

    def counting(self: Any, key: str, value: Any) -> None:
        counts[(self.task_id, self.try_number, key)] = counts.get((self.task_id, self.try_number, key), 0) + 1
        original(self, key, value)

    monkeypatch.setattr(RuntimeTaskInstance, "xcom_push", counting)
    return counts


def test_bad_parameters_fail_before_any_request(
    glue: LocalGlue, make_dag: Callable[..., DAG], failures: Failures
) -> None:
    """Parameters that render to bad values fail their task with an error naming them; Glue gets no request."""
    cases = {
        "bad_worker_type": ({"worker_type": "{{ 'G.3X' }}"}, "worker_type"),
        "bad_timeout": ({"timeout": "{{ 7 * 1440 }}"}, "timeout"),
        "bad_shorthand": ({"arguments": "{{ '--a=b,c' }}"}, "arguments"),
        "bad_json": ({"arguments": '{"--a": {{ "oops" }}'}, "arguments"),
        "none_value": ({"arguments": {"--a": None}}, "arguments"),
        "bad_class": ({"execution_class": "fast"}, "execution_class"),
        "both_capacities": ({"max_capacity": 2.0, "number_of_workers": 2}, "max_capacity"),
        "empty_job": ({"job_name": "{{ '' }}"}, "job_name"),
    }
    with make_dag() as dag:
        for task_id, (kwargs, _) in cases.items():
            options = dict(kwargs)
            glue_op(task_id, options.pop("job_name", "job"), **options)
    dag_run = run(dag)
    assert dag_run.state == "failed"
    for task_id, (_, parameter) in cases.items():
        error = failures.only(task_id)
        assert isinstance(error, GlueJobRunParameterError), (task_id, error)
        assert error.parameter == parameter
        assert str(error).startswith(f"Invalid {parameter}: ")
    assert glue.calls() == {}


def test_execution_timeout_stops_the_run(glue: LocalGlue, make_dag: Callable[..., DAG], failures: Failures) -> None:
    """When the task hits execution_timeout on the worker, Airflow calls on_kill and the run is stopped."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    glue.create_job("job", default_arguments={"--local-glue-duration": "600"})
    with make_dag() as dag:
        glue_op("slow", execution_timeout=timedelta(seconds=2))
    dag_run = run(dag)
    assert isinstance(failures.only("slow"), AirflowTaskTimeout)
    run_id = xcom(dag_run, "slow", RUN_ID_XCOM_KEY)
    assert glue.calls()["BatchStopJobRun"] == 1
    assert state_of(glue, "job", run_id) in ("STOPPING", "STOPPED")


# -- no duplicate runs -----------------------------------------------------------------------------------------


def _die_after_start(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the first try die right after StartJobRun returned, before the run id reaches the state store."""
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    original = TaskStateStoreAccessor.set
    died: list[str] = []

    def set_once_then_die(self: Any, key: str, value: Any, **kwargs: Any) -> None:
        if key == STATE_KEY and value.get("run_id") and not died:
            died.append(value["run_id"])
            raise RuntimeError("worker killed right after StartJobRun")
        original(self, key, value, **kwargs)

    monkeypatch.setattr(TaskStateStoreAccessor, "set", set_once_then_die)
    return died


@needs_airflow_3_3  # it stops the try between the task state store's two writes
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_worker_death_after_start_reattaches(
    glue: LocalGlue, make_dag: Callable[..., DAG], monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    """A try that dies right after StartJobRun leaves no run id; the retry finds the run by its marker."""
    glue.create_job("job", default_arguments={"--local-glue-duration": "0.5"})
    died = _die_after_start(monkeypatch)
    with make_dag(args={"retries": 1, "retry_delay": timedelta(0)}) as dag:
        glue_op("glue", deferrable=deferrable)
    dag_run = run(dag)
    assert dag_run.state == "success"
    assert task_instance(dag_run, "glue").try_number == 2
    assert xcom(dag_run, "glue", "return_value") == died[0]
    assert glue.run_count("job") == 1
    assert glue.calls()["StartJobRun"] == 1


def test_retry_after_success_adopts_the_run(
    glue: LocalGlue, make_dag: Callable[..., DAG], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A try that fails after its run SUCCEEDED is retried without a new run: the retry adopts the success."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    glue.create_job("job")
    original = RuntimeTaskInstance.xcom_push
    failed: list[int] = []

    def summary_push_fails_once(self: Any, key: str, value: Any) -> None:
        if key == SUMMARY_XCOM_KEY and not failed:
            failed.append(self.try_number)
            raise RuntimeError("metadata database unavailable")
        original(self, key, value)

    monkeypatch.setattr(RuntimeTaskInstance, "xcom_push", summary_push_fails_once)
    with make_dag(args={"retries": 1, "retry_delay": timedelta(0)}) as dag:
        glue_op("glue")
    dag_run = run(dag)
    assert failed == [1]
    assert dag_run.state == "success"
    assert task_instance(dag_run, "glue").try_number == 2
    assert xcom(dag_run, "glue", SUMMARY_XCOM_KEY)["state"] == "SUCCEEDED"
    assert glue.run_count("job") == 1
    assert glue.calls()["StartJobRun"] == 1


def test_clear_starts_a_fresh_run(glue: LocalGlue, make_dag: Callable[..., DAG]) -> None:
    """A user's Clear of a succeeded task starts a new run instead of adopting the old success."""
    glue.create_job("job")
    with make_dag(args={"retries": 2}) as dag:
        glue_op("glue")
    first = run(dag)
    first_run_id = xcom(first, "glue", "return_value")
    again = clear_and_rerun(dag, first)
    assert again.state == "success"
    second_run_id = xcom(again, "glue", "return_value")
    assert second_run_id != first_run_id
    assert glue.run_count("job") == 2
    ti = task_instance(again, "glue")
    assert (ti.try_number, ti.max_tries) == (2, 3)


def test_lost_start_response_does_not_start_twice(glue: LocalGlue, make_dag: Callable[..., DAG]) -> None:
    """StartJobRun processed by Glue but its response lost: the task finds the run by its marker and adopts it."""
    glue.create_job("job")
    glue.inject_fault("StartJobRun", "drop_response")
    with make_dag() as dag:
        glue_op("glue")
    dag_run = run(dag)
    assert dag_run.state == "success"
    assert glue.run_count("job") == 1
    assert glue.calls()["StartJobRun"] == 1
    assert task_instance(dag_run, "glue").try_number == 1


def test_without_a_state_store_retry_and_clear_use_the_marker(
    glue: LocalGlue, make_dag: Callable[..., DAG], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a task state store (Airflow < 3.3), a retry reattaches by marker and a Clear still starts afresh."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    from airflow_glue_runs._internal.start.ledger import RunLedger

    monkeypatch.setattr(RunLedger, "from_context", classmethod(lambda cls, context: cls(None)))
    original = RuntimeTaskInstance.xcom_push
    died: list[str] = []

    def die_after_start(self: Any, key: str, value: Any) -> None:
        if key == RUN_ID_XCOM_KEY and not died:
            died.append(value)
            raise RuntimeError("worker killed right after StartJobRun")
        original(self, key, value)

    monkeypatch.setattr(RuntimeTaskInstance, "xcom_push", die_after_start)
    glue.create_job("job", default_arguments={"--local-glue-duration": "0.3"})
    with make_dag(args={"retries": 1, "retry_delay": timedelta(0)}) as dag:
        glue_op("glue")
    dag_run = run(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "glue", "return_value") == died[0]
    assert glue.run_count("job") == 1
    again = clear_and_rerun(dag, dag_run)
    assert again.state == "success"
    assert xcom(again, "glue", "return_value") != died[0]
    assert glue.run_count("job") == 2
