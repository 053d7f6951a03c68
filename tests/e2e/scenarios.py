"""What the SQLite and PostgreSQL end-to-end modules share: XCom keys, local-Glue readers and the Clear scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_stack import AirflowStack, StackError, wait_for

from airflow_glue_runs._internal.console import console_url

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

TRIGGER_CLASSPATH = "airflow_glue_runs.triggers.GlueJobRunTrigger"
SUMMARY_KEY = (
    "glue_job_run"  # airflow_glue_runs._internal.run.summary.SUMMARY_XCOM_KEY, spelled out: the DAG author's view
)
RUN_ID_KEY = "glue_job_run_id"
LINK_NAME = "Glue job run"


def glue_run(glue: LocalGlue, job_name: str, run_id: str) -> dict[str, Any]:
    """Read a run from the local Glue as a boto3 client sees it."""
    return dict(glue.client().get_job_run(JobName=job_name, RunId=run_id)["JobRun"])


def job_run_ids(glue: LocalGlue, job_name: str) -> set[str]:
    """Return the ids of every run of a job in the local Glue."""
    pages = glue.client().get_paginator("get_job_runs").paginate(JobName=job_name)
    return {run["Id"] for page in pages for run in page["JobRuns"]}


def xcom_or_none(stack: AirflowStack, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
    """Return an XCom value, or None while it does not exist."""
    try:
        return stack.xcom(dag_id, run_id, task_id, key, map_index=map_index)
    except StackError as error:
        if " 404:" in str(error):
            return None
        raise


def single_run_reads(glue: LocalGlue) -> int:
    """Return how many GetJobRun calls the local Glue has answered since its counters were reset.

    A poller reads a lone watched run with GetJobRun; asset watchers read their jobs with GetJobRuns pages only
    (GetJobRun just for runs in progress that the pages miss), so their polls do not count here.
    """
    return glue.calls().get("GetJobRun", 0)


def clear_stops_deferred_run(stack: AirflowStack, glue: LocalGlue) -> None:
    """Defer ``e2e_glue_clear`` on a long run, Clear it: the run is stopped (on_kill), a fresh run succeeds."""
    dag_id, job = "e2e_glue_clear", "e2e-clear"
    # Two slots: the fresh run of the cleared task may start while the stopped one is still STOPPING.
    glue.create_job(job, max_concurrent_runs=2, default_arguments={"--local-glue-duration": "600"})
    stack.wait_dag_parsed([dag_id])
    run_id = stack.trigger(dag_id)

    def deferred_in_triggerer() -> str | None:
        (ti,) = stack.task_instances(dag_id, run_id)
        trigger = ti["trigger"] or {}
        if ti["state"] == "deferred" and trigger.get("triggerer_id") is not None:
            return str(stack.xcom(dag_id, run_id, "run", RUN_ID_KEY))
        return None

    first_run = wait_for(
        deferred_in_triggerer,
        timeout=90,
        what="the task to defer",
        describe=lambda: stack.task_instances(dag_id, run_id),
    )
    # The trigger is polling once the local Glue answers a GetJobRun after the deferral: no other run is waited on
    # meanwhile, and the asset watchers of the stack read pages (GetJobRuns).
    reads = single_run_reads(glue)
    wait_for(lambda: single_run_reads(glue) > reads, timeout=30, what="the trigger to read the run")
    links = stack.extra_links(dag_id, run_id, "run")
    assert links == {LINK_NAME: console_url(glue.region_name, job, first_run)}, "link while deferred"

    stack.clear(dag_id, run_id, ["run"])

    wait_for(
        lambda: glue_run(glue, job, first_run)["JobRunState"] in ("STOPPING", "STOPPED"),
        timeout=60,
        what="the cleared task's run to be stopped",
        describe=lambda: glue_run(glue, job, first_run)["JobRunState"],
    )
    trigger_lines = stack.trigger_log_lines(dag_id, run_id, "run", try_number=1)
    assert any("Trigger cancelled by user action, invoking on_kill" in line for line in trigger_lines)  # Airflow's

    # The Clear starts a new generation of the task: a fresh run, not a reattach to the stopped one.
    second_run = wait_for(
        lambda: next(iter(job_run_ids(glue, job) - {first_run}), None), timeout=90, what="the fresh run"
    )
    glue.set_run_state(job, second_run, "SUCCEEDED")
    assert stack.wait_dag_run(dag_id, run_id, timeout=90) == "success"
    summary = stack.xcom(dag_id, run_id, "run", SUMMARY_KEY)
    assert summary["run_id"] == second_run
    assert summary["state"] == "SUCCEEDED"
    assert glue.run_count(job) == 2
    assert glue_run(glue, job, first_run)["JobRunState"] == "STOPPED"
