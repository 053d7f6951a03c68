"""The example DAGs: each imports cleanly, and each runs to the result the demo expects against the local Glue.

The Glue jobs (``DEMO_JOBS``) and the expected outcomes (``EXPECTED``) come from ``scripts/demo.py``, so the
demo and these tests cannot drift apart. DAG runs use ``airflow dags test`` (tasks run in one process, triggers
inline) in the session's Airflow home, as ``make demo`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow_versions import dag_bag
from support import load_demo

from airflow_glue_runs._internal.console import console_url

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SUMMARY_XCOM_KEY = "glue_job_run"
LOGICAL_DATE = "2026-01-01"


demo = load_demo()
EXPECTED: dict[str, tuple[str, set[str]]] = demo.EXPECTED
DEMO_JOBS: dict[str, dict[str, Any]] = demo.DEMO_JOBS


@pytest.fixture(scope="module")
def example_bag() -> Any:
    """Parse example_dags/ once, as the DAG processor would (every file, not only those that look like DAGs)."""
    return dag_bag(EXAMPLE_DAGS)


def test_every_example_dag_imports_without_errors(example_bag: Any) -> None:
    """Parsing example_dags/ gives no import errors, one DAG per file, and exactly the DAGs the demo knows.

    The demo runs the DAGs of EXPECTED; those of PARSED_ONLY (an asset-scheduled DAG) are parsed only, and tested
    where their logic runs (tests/test_asset_watcher.py).
    """
    assert example_bag.import_errors == {}
    assert not set(EXPECTED) & set(demo.PARSED_ONLY)
    assert set(example_bag.dag_ids) == set(EXPECTED) | set(demo.PARSED_ONLY)
    files = sorted(path.name for path in EXAMPLE_DAGS.glob("*.py"))
    assert sorted(Path(dag.fileloc).name for dag in example_bag.dags.values()) == files
    for dag_id, (_, may_fail) in EXPECTED.items():
        assert may_fail <= set(example_bag.dags[dag_id].task_ids), f"{dag_id}: EXPECTED names unknown tasks"


def _dags_test(dag_id: str, env: dict[str, str], log_path: Path) -> int:
    with log_path.open("wb") as log:
        proc = subprocess.run(
            [AIRFLOW, "dags", "test", dag_id, LOGICAL_DATE],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    return proc.returncode


def _results(dag_id: str) -> tuple[str | None, dict[tuple[str, int], tuple[str | None, dict[str, Any] | None]]]:
    """Return the state of the DAG's latest run and ``{(task_id, map_index): (state, run summary)}`` of its tasks."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if dag_run is None:
            return None, {}
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run.run_id)
        ).all()
        summaries = {
            (x.task_id, x.map_index): XComModel.deserialize_value(x)
            for x in session.scalars(
                XComModel.get_many(run_id=dag_run.run_id, key=SUMMARY_XCOM_KEY, dag_ids=dag_id, task_ids=None)
            )
        }
        tasks = {(ti.task_id, ti.map_index): (ti.state, summaries.get((ti.task_id, ti.map_index))) for ti in tis}
        return dag_run.state, tasks


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_example_dag_runs_to_its_expected_result(
    dag_id: str, example_bag: Any, glue: LocalGlue, airflow_db: Path, tmp_path: Path
) -> None:
    """``airflow dags test`` ends the example DAG as the demo expects, with one Glue run per run task, no more."""
    demo.prepare_local_glue(glue)
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS)}  # the glue fixture set the connection
    log_path = tmp_path / f"{dag_id}.log"
    code = _dags_test(dag_id, env, log_path)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])

    expected_state, may_fail = EXPECTED[dag_id]
    state, tasks = _results(dag_id)
    assert state == expected_state, f"exit code {code}; tasks {tasks}\n{tail}"
    failed = {task_id for (task_id, _), (ti_state, _) in tasks.items() if ti_state not in ("success", "skipped")}
    assert failed == may_fail, f"{tasks}\n{tail}"
    skipped = {task_id for (task_id, _), (ti_state, _) in tasks.items() if ti_state == "skipped"}
    assert skipped == demo.SKIPPED.get(dag_id, set()), f"{tasks}\n{tail}"

    summaries = {key: summary for key, (_, summary) in tasks.items() if summary}
    assert summaries, f"no Glue run summary was pushed\n{tail}"
    run_ids: dict[str, set[str]] = {}
    for (task_id, map_index), summary in summaries.items():
        job = summary["job_name"]
        run_ids.setdefault(job, set()).add(summary["run_id"])
        assert summary["console_url"] == console_url(glue.region_name, job, summary["run_id"])
        now = glue.client().get_job_run(JobName=job, RunId=summary["run_id"])["JobRun"]["JobRunState"]
        where = f"{task_id}[{map_index}]: Glue says {now}, summary {json.dumps(summary)}"
        if task_id in may_fail:
            assert now in ("STOPPING", "STOPPED"), where  # a failed wait stops its run
        elif task_id in demo.LEFT_RUNNING.get(dag_id, set()):
            assert summary["state"] == "RUNNING", where  # the task succeeded with its run RUNNING
            assert now in ("STOPPING", "STOPPED"), where  # and a later task stopped it
        else:
            assert now == "SUCCEEDED", where
            if getattr(example_bag.dags[dag_id].get_task(task_id), "wait_for_completion", True):
                assert summary["state"] == "SUCCEEDED", where
    for job, ids in run_ids.items():
        assert glue.run_count(job) == len(ids), f"{job}: runs in Glue beyond those the tasks reported"
    if dag_id == "example_glue_job_result":  # the Python shell job really ran and counted the CSV's 5 rows
        assert summaries[("count_rows", -1)]["job_result"]["rows"] == 5, f"{summaries}\n{tail}"


@pytest.mark.slow
def test_the_amazon_example_runs_twice_without_recreating_the_job(
    glue: LocalGlue, airflow_db: Path, tmp_path: Path
) -> None:
    """The Amazon provider's example steps, run twice: one CreateJob, two runs, the script uploaded by its own task."""
    dag_id = "example_glue_amazon_migration"
    demo.prepare_local_glue(glue)
    glue.reset_counters()
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS)}
    for day, logical_date in enumerate(("2026-02-01", "2026-02-02"), start=1):
        log_path = tmp_path / f"{dag_id}-{day}.log"
        with log_path.open("wb") as log:
            subprocess.run(
                [AIRFLOW, "dags", "test", dag_id, logical_date],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        state, tasks = _results(dag_id)
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        assert state == "success", f"run {day}: {tasks}\n{tail}"
        calls = glue.calls()
        assert calls.get("CreateJob", 0) == 1, f"run {day}: {calls}"
        assert (calls["StartJobRun"], calls["PutObject"]) == (day, day), f"run {day}: {calls}"
    assert glue.run_count("demo-amazon-migration-etl") == 2
