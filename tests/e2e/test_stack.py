"""End-to-end tests on one real Airflow 3 stack: api-server, scheduler, dag-processor, triggerer; LocalExecutor.

The stack (module fixture) reaches the module's local Glue over HTTP. The tests run one after another on it and
each uses Glue jobs of its own, so the local Glue's run counts belong to one test.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from airflow_stack import AirflowStack, wait_for
from airflow_versions import needs_airflow_3_1, needs_airflow_3_3
from scenarios import (
    LINK_NAME,
    RUN_ID_KEY,
    SUMMARY_KEY,
    TRIGGER_CLASSPATH,
    clear_stops_deferred_run,
    glue_run,
    job_run_ids,
    xcom_or_none,
)
from support import cli_json, load_demo
from watcher_checks import WATCHED_JOB, WATCHER_DAG, asset_id, dag_run_glue_ids, event_payloads, stored_position

from airflow_glue_runs._internal.console import console_url

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow


def test_provider_is_registered(stack: AirflowStack) -> None:
    """`airflow providers list` shows the provider and `providers links` its "Glue job run" extra link."""
    providers = cli_json(stack.cli("providers", "list", "-o", "json").stdout)
    ours = [p for p in providers if p["package_name"] == "airflow-glue-runs"]
    assert len(ours) == 1, providers
    assert ours[0]["version"]
    links = cli_json(stack.cli("providers", "links", "-o", "json").stdout)
    assert {"extra_link_class_name": "airflow_glue_runs.links.GlueJobRunLink"} in links
    rest = stack.api("GET", "/api/v2/providers", params={"limit": 100})["providers"]
    assert "airflow-glue-runs" in {p["package_name"] for p in rest}


def test_stack_listens_on_loopback_only(stack: AirflowStack) -> None:
    """No process of the stack listens beyond 127.0.0.1; the api-server listens on the port picked for it."""
    addresses = stack.listening_addresses()
    assert set(addresses) == {"api-server", "scheduler", "dag-processor", "triggerer"}
    assert ("127.0.0.1", stack.port) in addresses["api-server"]
    everything = {address for found in addresses.values() for address in found}
    assert {ip for ip, _ in everything} == {"127.0.0.1"}, addresses


def test_stack_runs_a_deferring_dag(report_stack_on_failure: AirflowStack) -> None:
    """The harness works: a task that defers to a core trigger resumes on a worker and the DAG run succeeds."""
    stack = report_stack_on_failure
    stack.wait_dag_parsed(["e2e_smoke"])
    run_id = stack.trigger("e2e_smoke")
    assert stack.wait_dag_run("e2e_smoke", run_id, timeout=120) == "success"
    assert stack.ti_states("e2e_smoke", run_id) == {("hello", -1): "success", ("defer_briefly", -1): "success"}
    assert stack.xcom("e2e_smoke", run_id, "defer_briefly", "return_value") == "resumed"


def test_scheduled_daily_example_succeeds(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """The scheduled run the daily example DAG gets when it is parsed succeeds with templated run arguments."""
    stack = report_stack_on_failure
    stack.wait_dag_parsed(["example_glue_daily"])
    runs = wait_for(
        lambda: stack.api("GET", "/api/v2/dags/example_glue_daily/dagRuns")["dag_runs"],
        timeout=60,
        what="the scheduled run of example_glue_daily",
    )
    assert len(runs) == 1
    run = runs[0]
    assert run["run_type"] == "scheduled"
    assert stack.wait_dag_run("example_glue_daily", run["dag_run_id"], timeout=120) == "success"
    summary = stack.xcom("example_glue_daily", run["dag_run_id"], "transform_day", SUMMARY_KEY)
    assert summary["state"] == "SUCCEEDED"
    assert summary["job_name"] == "demo-daily-etl"
    assert summary["arguments"]["--day"] == run["logical_date"][:10]
    assert summary["arguments"]["--run-tag"] == run["dag_run_id"]
    assert glue_run(stack_glue, "demo-daily-etl", summary["run_id"])["JobRunState"] == "SUCCEEDED"
    assert stack_glue.run_count("demo-daily-etl") == 1


def test_fanout_waits_in_the_triggerer(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """Each mapped run of the fan-out example defers to the triggerer, resumes, succeeds and serves its link."""
    stack = report_stack_on_failure
    dag_id = "example_glue_fanout"
    partitions = ["eu-west", "eu-north", "us-east", "us-west", "ap-south", "ap-east"]  # the DAG's default param
    stack.wait_dag_parsed([dag_id])
    run_id = stack.trigger(dag_id)
    held_by_triggerer: set[int] = set()

    def finished() -> str | None:
        for ti in stack.task_instances(dag_id, run_id):
            trigger = ti["trigger"] or {}
            ours = trigger.get("classpath") == TRIGGER_CLASSPATH
            if ti["state"] == "deferred" and ours and trigger.get("triggerer_id") is not None:
                held_by_triggerer.add(ti["map_index"])
        state = stack.dag_run(dag_id, run_id)["state"]
        return state if state in ("success", "failed") else None

    state = wait_for(
        finished, timeout=180, what="the fan-out DAG run", describe=lambda: stack.ti_states(dag_id, run_id)
    )
    assert state == "success", stack.ti_states(dag_id, run_id)
    assert held_by_triggerer == set(range(len(partitions))), "every mapped wait must be seen held by the triggerer"
    states = stack.ti_states(dag_id, run_id)
    assert set(states.values()) == {"success"}
    assert len(states) == len(partitions) + 2

    summaries = [
        stack.xcom(dag_id, run_id, "process_partition", SUMMARY_KEY, map_index=i) for i in range(len(partitions))
    ]
    assert sorted(s["arguments"]["--partition"] for s in summaries) == sorted(partitions)
    assert {s["state"] for s in summaries} == {"SUCCEEDED"}
    run_ids = [s["run_id"] for s in summaries]
    assert len(set(run_ids)) == len(partitions)
    assert job_run_ids(stack_glue, "demo-partition-etl") == set(run_ids)  # one run per partition, no more
    for map_index, summary in enumerate(summaries):
        assert stack.xcom(dag_id, run_id, "process_partition", "return_value", map_index=map_index) == summary["run_id"]
        assert summary["console_url"] == console_url(stack_glue.region_name, "demo-partition-etl", summary["run_id"])

    links = stack.extra_links(dag_id, run_id, "process_partition", map_index=3)
    assert links == {LINK_NAME: summaries[3]["console_url"]}
    result = stack.xcom(dag_id, run_id, "summarize", "return_value")
    assert result["runs"] == len(partitions)
    assert result["slowest_partition"] in partitions


def test_sensor_and_queuing_examples_end_as_expected(report_stack_on_failure: AirflowStack) -> None:
    """On the real scheduler (reschedule pokes, all_done, Glue's queue) the two examples end as the demo expects."""
    stack = report_stack_on_failure
    expected = load_demo().EXPECTED
    dag_ids = ["example_glue_sensor", "example_glue_queuing"]
    stack.wait_dag_parsed(dag_ids)
    run_ids = {dag_id: stack.trigger(dag_id) for dag_id in dag_ids}
    for dag_id, run_id in run_ids.items():
        expected_state, may_fail = expected[dag_id]
        assert stack.wait_dag_run(dag_id, run_id, timeout=180) == expected_state, stack.ti_states(dag_id, run_id)
        failed = {task_id for (task_id, _), state in stack.ti_states(dag_id, run_id).items() if state != "success"}
        assert failed == may_fail, stack.ti_states(dag_id, run_id)
    sensor_ti = next(
        ti
        for ti in stack.task_instances("example_glue_sensor", run_ids["example_glue_sensor"])
        if ti["task_id"] == "wait_for_run"
    )
    assert sensor_ti["try_number"] == 1  # reschedule pokes are not retries


@needs_airflow_3_1
def test_retry_reattaches_to_the_earlier_run(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """A worker killed mid-wait fails the try; the retry waits for the same Glue run and no second run starts."""
    stack = report_stack_on_failure
    dag_id, job = "e2e_glue_reattach", "e2e-reattach"
    stack_glue.create_job(job, default_arguments={"--local-glue-duration": "600"})
    stack.wait_dag_parsed([dag_id])
    run_id = stack.trigger(dag_id)

    def first_try_waiting() -> tuple[int, str] | None:
        (ti,) = stack.task_instances(dag_id, run_id)
        glue_run_id = xcom_or_none(stack, dag_id, run_id, "run", RUN_ID_KEY)
        if ti["state"] == "running" and ti["pid"] and glue_run_id:
            return int(ti["pid"]), str(glue_run_id)
        return None

    pid, glue_run_id = wait_for(
        first_try_waiting,
        timeout=90,
        what="the first try to wait on its run",
        describe=lambda: stack.ti_states(dag_id, run_id),
    )
    # Only ever kill a process of this stack: the task process must descend from its scheduler.
    scheduler_proc = stack.services["scheduler"].proc
    assert scheduler_proc is not None
    scheduler = psutil.Process(scheduler_proc.pid)
    assert pid in {p.pid for p in scheduler.children(recursive=True)}
    os.kill(pid, signal.SIGKILL)

    def second_try_running() -> dict[str, Any] | None:
        (ti,) = stack.task_instances(dag_id, run_id)
        return ti if ti["try_number"] == 2 and ti["state"] == "running" else None

    wait_for(
        second_try_running, timeout=120, what="the retry to run", describe=lambda: stack.task_instances(dag_id, run_id)
    )
    assert stack_glue.run_count(job) == 1
    assert glue_run(stack_glue, job, glue_run_id)["JobRunState"] == "RUNNING"
    stack_glue.set_run_state(job, glue_run_id, "SUCCEEDED")

    assert stack.wait_dag_run(dag_id, run_id, timeout=90) == "success"
    (ti,) = stack.task_instances(dag_id, run_id)
    assert ti["try_number"] == 2
    summary = stack.xcom(dag_id, run_id, "run", SUMMARY_KEY)
    assert summary["run_id"] == glue_run_id
    assert summary["state"] == "SUCCEEDED"
    assert stack_glue.run_count(job) == 1


@needs_airflow_3_3
def test_clearing_a_deferred_task_stops_its_run(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """Clearing a task deferred on a long run stops that run in Glue; the cleared task then starts a fresh run."""
    clear_stops_deferred_run(report_stack_on_failure, stack_glue)


def test_new_triggerer_resolves_waits_of_a_killed_one(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """SIGKILL the triggerer while mapped runs wait; a new triggerer takes the waits over and each task succeeds."""
    stack = report_stack_on_failure
    dag_id, job = "example_glue_fanout", "e2e-long-partition"
    partitions = ["p0", "p1", "p2"]
    stack_glue.create_job(job, max_concurrent_runs=10, default_arguments={"--local-glue-duration": "600"})
    stack.wait_dag_parsed([dag_id])
    old_triggerer = stack.alive_triggerer_ids()
    assert len(old_triggerer) == 1
    run_id = stack.trigger(dag_id, {"job_name": job, "partitions": partitions})

    def all_held_by(triggerer_ids: set[int]) -> dict[int, str] | None:
        tis = [ti for ti in stack.task_instances(dag_id, run_id) if ti["task_id"] == "process_partition"]
        held = [
            ti for ti in tis if ti["state"] == "deferred" and (ti["trigger"] or {}).get("triggerer_id") in triggerer_ids
        ]
        if len(tis) != len(partitions) or len(held) != len(partitions):
            return None
        return {
            i: str(stack.xcom(dag_id, run_id, "process_partition", RUN_ID_KEY, map_index=i))
            for i in range(len(partitions))
        }

    glue_runs = wait_for(
        lambda: all_held_by(old_triggerer),
        timeout=120,
        what="every mapped wait in the triggerer",
        describe=lambda: stack.ti_states(dag_id, run_id),
    )
    stack.kill_service("triggerer", signal.SIGKILL)
    # Two runs end while no triggerer runs; the third after the new one has taken the waits over.
    stack_glue.set_run_state(job, glue_runs[0], "SUCCEEDED")
    stack_glue.set_run_state(job, glue_runs[1], "SUCCEEDED")
    stack.start_service("triggerer")
    new_triggerer = wait_for(
        lambda: stack.alive_triggerer_ids() - old_triggerer, timeout=60, what="the new triggerer to heartbeat"
    )

    def third_held_by_new() -> bool:
        ti = next(t for t in stack.task_instances(dag_id, run_id) if t["map_index"] == 2)
        return ti["state"] == "deferred" and (ti["trigger"] or {}).get("triggerer_id") in new_triggerer

    wait_for(
        third_held_by_new,
        timeout=60,
        what="the new triggerer to take over",
        describe=lambda: stack.ti_states(dag_id, run_id),
    )
    stack_glue.set_run_state(job, glue_runs[2], "SUCCEEDED")

    assert stack.wait_dag_run(dag_id, run_id, timeout=120) == "success", stack.ti_states(dag_id, run_id)
    tis = [ti for ti in stack.task_instances(dag_id, run_id) if ti["task_id"] == "process_partition"]
    assert [(ti["state"], ti["try_number"]) for ti in tis] == [("success", 1)] * 3
    for map_index, glue_run_id in glue_runs.items():
        summary = stack.xcom(dag_id, run_id, "process_partition", SUMMARY_KEY, map_index=map_index)
        assert summary["run_id"] == glue_run_id
        assert summary["state"] == "SUCCEEDED"
        assert summary["arguments"]["--partition"] == partitions[map_index]
    assert stack_glue.run_count(job) == len(partitions)


def start_watched_run(glue: LocalGlue) -> str:
    """Start a run of the watched job as anyone may: a plain boto3 client, no Airflow."""
    return str(glue.client().start_job_run(JobName=WATCHED_JOB, Arguments={"--source": "boto3"})["JobRunId"])


def test_asset_watcher_starts_a_dag_per_succeeded_run(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """A real triggerer's GlueJobRunEndedTrigger: a boto3-started run that succeeds runs the DAG; a failed one not."""
    stack = report_stack_on_failure
    stack.wait_dag_parsed([WATCHER_DAG])
    wait_for(
        lambda: f"Watching Glue job {WATCHED_JOB} for runs ending SUCCEEDED" in stack.log_text("triggerer"),
        timeout=60,
        what="the watcher to start in the triggerer",
    )
    asset = asset_id(stack)
    succeeded, failed = start_watched_run(stack_glue), start_watched_run(stack_glue)
    wait_for(
        lambda: {succeeded, failed} <= stack_glue.first_reads(WATCHED_JOB).keys(),
        timeout=60,
        what="the watcher to see both runs in progress",  # nothing else reads this job
    )
    stack_glue.set_run_state(WATCHED_JOB, failed, "FAILED")
    stack_glue.set_run_state(WATCHED_JOB, succeeded, "SUCCEEDED")

    ids = wait_for(lambda: dag_run_glue_ids(stack), timeout=90, what="a finished run of the watcher DAG")
    assert ids == [succeeded]
    # The failed run ended first, so it was judged by the time the succeeded one fired: no event for it.
    (payload,) = event_payloads(stack, asset)
    assert (payload["job_name"], payload["run_id"], payload["state"]) == (WATCHED_JOB, succeeded, "SUCCEEDED")
    assert "arguments" not in payload
    assert payload["completed_on"]


@needs_airflow_3_3
def test_asset_watcher_restart_neither_repeats_nor_misses(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """Triggerer killed; runs end, or start and end, meanwhile: after a restart each fires once, none again."""
    stack = report_stack_on_failure
    stack.wait_dag_parsed([WATCHER_DAG])
    asset = asset_id(stack)
    fired_before = [p["run_id"] for p in event_payloads(stack, asset)]
    in_progress = start_watched_run(stack_glue)

    def position_has(active: set[str], recent: set[str]) -> dict[str, Any] | None:
        position = stored_position(stack, asset)
        ok = position is not None and set(position["active"]) == active and recent <= position["recent"].keys()
        return position if ok else None

    # The stored position holds the new run in progress (and the runs judged so far): a restart starts from there.
    wait_for(
        lambda: position_has({in_progress}, set()),
        timeout=60,
        what="the position with the run in progress to be stored",
        describe=lambda: stored_position(stack, asset),
    )
    old_triggerer = stack.alive_triggerer_ids()
    stack.kill_service("triggerer", signal.SIGKILL)
    stack_glue.set_run_state(WATCHED_JOB, in_progress, "SUCCEEDED")
    while_down = start_watched_run(stack_glue)  # starts and ends while no triggerer runs
    stack_glue.set_run_state(WATCHED_JOB, while_down, "SUCCEEDED")
    stack.start_service("triggerer")
    wait_for(lambda: stack.alive_triggerer_ids() - old_triggerer, timeout=60, what="the new triggerer to heartbeat")

    # Saved 5 s after the events of a poll were handed over: once stored, every event of that poll is recorded.
    wait_for(
        lambda: position_has(set(), {in_progress, while_down}),
        timeout=90,
        what="the position after the restart to be stored",
        describe=lambda: stored_position(stack, asset),
    )
    fired = [p["run_id"] for p in event_payloads(stack, asset)]
    assert fired[: len(fired_before)] == fired_before
    assert sorted(fired[len(fired_before) :]) == sorted([in_progress, while_down])  # one event each, none again
    assert "from the stored position" in stack.log_text("triggerer")

    # Airflow 3.3.2 starts one DAG run for the first of two events recorded together and leaves the second to the
    # DAG run of the asset's next event (apache/airflow#56749): a last run gives it one.
    last = start_watched_run(stack_glue)
    stack_glue.set_run_state(WATCHED_JOB, last, "SUCCEEDED")

    def dag_runs_done() -> list[str] | None:
        ids = dag_run_glue_ids(stack)
        return ids if ids is not None and last in ids else None

    ids = wait_for(dag_runs_done, timeout=90, what="the watcher DAG's runs", describe=lambda: dag_run_glue_ids(stack))
    assert sorted(ids) == sorted([*fired, last])  # every run that succeeded ran the DAG once
    assert [p["run_id"] for p in event_payloads(stack, asset)] == [*fired, last]
