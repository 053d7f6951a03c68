"""End-to-end tests on the topology platform teams run: PostgreSQL and two triggerers (LocalExecutor, Airflow 3.3).

The module starts its own PostgreSQL server (127.0.0.1, a free port, a temporary data folder) and one Airflow stack
on it with two triggerers: ``triggerer-1`` with a small ``--capacity`` and ``triggerer-2`` with the default. The
first starts with the stack and the second once the first is full, so both hold some of the deferred runs whatever
the timing. The tests run in order on that stack: the second triggerer is the only one left after the first test.
The last two restart both triggerers with Glue's events on (an SQS queue of the local Glue each, then one shared
queue), which the tests before them run without.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from airflow_stack import E2E_DAGS, ROOT, AirflowStack, running_stack, wait_for
from event_checks import FIRED, SHARED_QUEUE_WARNING, end_seen_after, events_env, heartbeat_tags
from postgres_server import PostgresServer
from scenarios import RUN_ID_KEY, SUMMARY_KEY, clear_stops_deferred_run, job_run_ids

from airflow_glue_runs._internal.compat import AIRFLOW_VERSION

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        AIRFLOW_VERSION < (3, 3), reason="the PostgreSQL + two-triggerer suite runs on one matrix row: Airflow 3.3"
    ),
]

FANOUT = "example_glue_fanout"
FIRST, SECOND = "triggerer-1", "triggerer-2"
RUNS = 12
FIRST_CAPACITY = 6
EVENTS = "e2e_glue_events"
EVENT_RUNS = 8  # triggerer-1 holds FIRST_CAPACITY of them, triggerer-2 the rest
SAFETY_SLOW = 600  # s: with poll_interval 300, only an event explains an end seen within seconds
SAFETY_FAST = 20  # s: the shared queue's safety net, short to keep the test quick
EVENT_LAG_BOUND = 2.0  # s from a run's CompletedOn to its trigger's event: the "within a second", and slack


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """Start the module's PostgreSQL server; always stop it and delete its data."""
    server = PostgresServer(log_path=tmp_path_factory.mktemp("postgres") / "postgres.log")
    try:
        yield server.start()
    except BaseException:
        print(f"----- postgres, last lines of {server.log_path} -----\n{server.log_tail()}")
        raise
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack(
    postgres: PostgresServer, stack_glue: LocalGlue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    """Start the module's stack on PostgreSQL, ``triggerer-1`` running and ``triggerer-2`` defined; always stop it."""
    dag_files = [ROOT / "example_dags" / f"{FANOUT}.py", E2E_DAGS / "e2e_glue_clear.py", E2E_DAGS / f"{EVENTS}.py"]
    with running_stack(
        tmp_path_factory.mktemp("airflow-stack-pg"),
        dag_files,
        stack_glue,
        database_url=postgres.url,
        triggerers={FIRST: ["--capacity", str(FIRST_CAPACITY)], SECOND: []},
        start_triggerers=[FIRST],
    ) as stack:
        yield stack


def partition_tis(stack: AirflowStack, run_id: str, dag_id: str = FANOUT) -> dict[int, dict[str, Any]]:
    """Return the mapped ``process_partition`` task instances of a run of ``dag_id`` by map index."""
    tis = stack.task_instances(dag_id, run_id)
    return {ti["map_index"]: ti for ti in tis if ti["task_id"] == "process_partition"}


def holder(ti: dict[str, Any]) -> int | None:
    """Return the job id of the triggerer holding a deferred task's trigger (None: not deferred or unassigned)."""
    if ti["state"] != "deferred":
        return None
    triggerer_id = (ti["trigger"] or {}).get("triggerer_id")
    return int(triggerer_id) if triggerer_id is not None else None


def trigger_view(stack: AirflowStack, run_id: str, dag_id: str = FANOUT) -> dict[int, tuple[str, int | None]]:
    """Return ``{map_index: (state, triggerer id)}``, for waits and failure messages."""
    return {i: (ti["state"], holder(ti)) for i, ti in partition_tis(stack, run_id, dag_id).items()}


def fired_events(stack: AirflowStack, run_id: str, map_index: int) -> int:
    """Return how many events the triggers of a mapped task's first try fired, in either triggerer."""
    lines = stack.trigger_log_lines(FANOUT, run_id, "process_partition", try_number=1, map_index=map_index)
    return sum(FIRED in line for line in lines)


def start_calls(glue: LocalGlue) -> int:
    """Return how many StartJobRun calls the local Glue answered since its counters were reset."""
    return glue.calls().get("StartJobRun", 0)


def test_postgres_and_stack_listen_on_loopback_only(stack: AirflowStack, postgres: PostgresServer) -> None:
    """PostgreSQL listens on 127.0.0.1 at its port only and holds the stack's metadata; no process listens beyond."""
    assert postgres.listening_addresses() == {("127.0.0.1", postgres.port)}
    with contextlib.closing(postgres.connect()) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM job WHERE job_type = 'TriggererJob'")
        assert cursor.fetchone()[0] >= 1  # the running triggerer heartbeats into this database
    addresses = stack.listening_addresses()
    assert set(addresses) == {"api-server", "scheduler", "dag-processor", FIRST}
    everything = {address for found in addresses.values() for address in found}
    assert {ip for ip, _ in everything} == {"127.0.0.1"}, addresses


def test_two_triggerers_share_waits_and_survive_a_kill(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """12 waits spread over two triggerers; one SIGKILLed mid-wait: the other takes over, one event and run each."""
    stack = report_stack_on_failure
    job = "e2e-pg-partition"
    partitions = [f"p{i:02d}" for i in range(RUNS)]
    stack_glue.create_job(job, max_concurrent_runs=RUNS, default_arguments={"--local-glue-duration": "600"})
    stack_glue.reset_counters()
    stack.wait_dag_parsed([FANOUT])
    (first,) = wait_for(stack.alive_triggerer_ids, timeout=60, what="triggerer-1 to heartbeat")
    run_id = stack.trigger(FANOUT, {"job_name": job, "partitions": partitions})

    def first_full() -> bool:
        view = trigger_view(stack, run_id).values()
        holders = [triggerer for state, triggerer in view if state == "deferred"]
        # Deferred, and held by triggerer-1 up to its capacity; the rest wait for a triggerer.
        return len(holders) == RUNS and holders.count(first) == FIRST_CAPACITY and None in holders

    wait_for(
        first_full,
        timeout=180,
        what=f"every run deferred, {FIRST_CAPACITY} held by triggerer-1 (its capacity), the rest unassigned",
        describe=lambda: trigger_view(stack, run_id),
    )
    stack.start_service(SECOND)
    (second,) = wait_for(lambda: stack.alive_triggerer_ids() - {first}, timeout=90, what="triggerer-2 to heartbeat")

    def all_held() -> dict[int, int] | None:
        held = {i: triggerer for i, (_, triggerer) in trigger_view(stack, run_id).items()}
        return held if len(held) == RUNS and set(held.values()) == {first, second} else None

    held = wait_for(
        all_held,
        timeout=60,
        what="every run held by one of the two triggerers",
        describe=lambda: trigger_view(stack, run_id),
    )
    on_first = sorted(i for i, triggerer in held.items() if triggerer == first)
    on_second = sorted(i for i, triggerer in held.items() if triggerer == second)
    assert len(on_first) == FIRST_CAPACITY
    assert len(on_second) == RUNS - FIRST_CAPACITY
    glue_runs = {i: str(stack.xcom(FANOUT, run_id, "process_partition", RUN_ID_KEY, map_index=i)) for i in held}
    assert len(set(glue_runs.values())) == RUNS
    assert stack_glue.run_count(job) == RUNS

    stack.kill_service(FIRST, signal.SIGKILL)
    assert not stack.services[FIRST].running
    # One run of each triggerer ends while triggerer-1's waits have no live triggerer; the rest after the takeover.
    ended_early = {on_first[0], on_second[0]}
    for i in ended_early:
        stack_glue.set_run_state(job, glue_runs[i], "SUCCEEDED")

    def taken_over() -> bool:
        view = trigger_view(stack, run_id)
        return all(view[i] == ("deferred", second) for i in on_first if i not in ended_early)

    wait_for(
        taken_over,
        timeout=90,
        what="triggerer-2 to take over triggerer-1's waits",
        describe=lambda: trigger_view(stack, run_id),
    )
    for i in sorted(set(held) - ended_early):
        stack_glue.set_run_state(job, glue_runs[i], "SUCCEEDED")

    assert stack.wait_dag_run(FANOUT, run_id, timeout=180) == "success", stack.ti_states(FANOUT, run_id)
    tis = partition_tis(stack, run_id)
    assert {i: (ti["state"], ti["try_number"]) for i, ti in tis.items()} == {i: ("success", 1) for i in range(RUNS)}
    for i, glue_run_id in glue_runs.items():
        summary = stack.xcom(FANOUT, run_id, "process_partition", SUMMARY_KEY, map_index=i)
        assert (summary["run_id"], summary["state"]) == (glue_run_id, "SUCCEEDED")
        assert summary["arguments"]["--partition"] == partitions[i]
    assert stack_glue.run_count(job) == RUNS
    assert start_calls(stack_glue) == RUNS
    assert job_run_ids(stack_glue, job) == set(glue_runs.values())

    # Every wait fired exactly one event, wherever it ran; triggerer-1's waits ran again in triggerer-2.
    folder = stack.home / "logs" / f"dag_id={FANOUT}" / f"run_id={run_id}" / "task_id=process_partition"
    for i in range(RUNS):
        assert fired_events(stack, run_id, i) == 1, i
        trigger_logs = {path.name for path in (folder / f"map_index={i}").glob("attempt=1.log.trigger.*.log")}
        ran_in = {second} | ({first} if i in on_first else set())
        assert trigger_logs == {f"attempt=1.log.trigger.{t}.log" for t in ran_in}, i


def test_scheduler_killed_mid_wait(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """A scheduler SIGKILLed and restarted while runs wait: waits go on, each task succeeds once with one run."""
    stack = report_stack_on_failure
    job = "e2e-pg-scheduler"
    partitions = ["a", "b", "c"]
    stack_glue.create_job(job, max_concurrent_runs=len(partitions), default_arguments={"--local-glue-duration": "600"})
    stack_glue.reset_counters()
    stack.wait_dag_parsed([FANOUT])
    run_id = stack.trigger(FANOUT, {"job_name": job, "partitions": partitions})

    def all_held() -> bool:
        view = trigger_view(stack, run_id)
        return len(view) == len(partitions) and None not in {triggerer for _, triggerer in view.values()}

    wait_for(all_held, timeout=120, what="every run held by a triggerer", describe=lambda: trigger_view(stack, run_id))
    glue_runs = {i: str(stack.xcom(FANOUT, run_id, "process_partition", RUN_ID_KEY, map_index=i)) for i in range(3)}

    stack.kill_service("scheduler", signal.SIGKILL)
    # A run ends with no scheduler: the triggerer still records the event (the task waits, scheduled, for one).
    stack_glue.set_run_state(job, glue_runs[0], "SUCCEEDED")
    wait_for(
        lambda: trigger_view(stack, run_id)[0][0] == "scheduled",
        timeout=60,
        what="the event of the ended run to be recorded",
        describe=lambda: trigger_view(stack, run_id),
    )
    stack.start_service("scheduler")
    stack.wait_healthy()
    for i in (1, 2):
        stack_glue.set_run_state(job, glue_runs[i], "SUCCEEDED")

    assert stack.wait_dag_run(FANOUT, run_id, timeout=180) == "success", stack.ti_states(FANOUT, run_id)
    tis = partition_tis(stack, run_id)
    assert [(ti["state"], ti["try_number"]) for ti in tis.values()] == [("success", 1)] * len(partitions)
    for i, glue_run_id in glue_runs.items():
        assert stack.xcom(FANOUT, run_id, "process_partition", SUMMARY_KEY, map_index=i)["run_id"] == glue_run_id
    assert stack_glue.run_count(job) == len(partitions)
    assert start_calls(stack_glue) == len(partitions)


def test_clearing_a_deferred_task_stops_its_run(report_stack_on_failure: AirflowStack, stack_glue: LocalGlue) -> None:
    """On PostgreSQL too, a Clear of a deferred task stops its Glue run (on_kill) and a fresh run succeeds."""
    clear_stops_deferred_run(report_stack_on_failure, stack_glue)


def spread_event_waits(
    stack: AirflowStack, glue: LocalGlue, job: str, envs: dict[str, dict[str, str]], poll_interval: int
) -> tuple[str, dict[int, int], dict[int, str]]:
    """Restart both triggerers with ``envs`` and defer ``EVENT_RUNS`` waits on runs of ``job`` over the two.

    Triggerer-1 starts alone and fills up to its capacity; triggerer-2 starts then and takes the rest. Return the
    DAG run id, the holder of each wait and each wait's Glue run id once every trigger has read its run (so the run
    is watched when it ends).
    """
    glue.create_job(job, max_concurrent_runs=EVENT_RUNS, default_arguments={"--local-glue-duration": "600"})
    stack.wait_dag_parsed([EVENTS])
    before = stack.alive_triggerer_ids()
    for name in (FIRST, SECOND):
        if stack.services[name].running:
            stack.kill_service(name, signal.SIGTERM)
    stack.start_service(FIRST, env=envs[FIRST])
    (first,) = wait_for(lambda: stack.alive_triggerer_ids() - before, timeout=60, what="triggerer-1 to heartbeat")
    conf = {"job_name": job, "partitions": [f"p{i}" for i in range(EVENT_RUNS)], "poll_interval": poll_interval}
    run_id = stack.trigger(EVENTS, conf)

    def view() -> dict[int, tuple[str, int | None]]:
        return trigger_view(stack, run_id, EVENTS)

    def first_full() -> bool:
        holders = [triggerer for state, triggerer in view().values() if state == "deferred"]
        return len(holders) == EVENT_RUNS and holders.count(first) == FIRST_CAPACITY and None in holders

    wait_for(first_full, timeout=180, what="triggerer-1 to fill up", describe=view)
    stack.start_service(SECOND, env=envs[SECOND])
    (second,) = wait_for(
        lambda: stack.alive_triggerer_ids() - before - {first}, timeout=60, what="triggerer-2 to heartbeat"
    )

    def all_held() -> dict[int, int] | None:
        held = {i: triggerer for i, (_, triggerer) in view().items()}
        return held if len(held) == EVENT_RUNS and set(held.values()) == {first, second} else None

    held = wait_for(all_held, timeout=60, what="every wait held by a triggerer", describe=view)
    glue_runs = {i: str(stack.xcom(EVENTS, run_id, "process_partition", RUN_ID_KEY, map_index=i)) for i in held}
    for i, glue_run_id in glue_runs.items():

        def read(i: int = i, seen: str = f"Glue job run {glue_run_id} of job {job} is ") -> bool:
            lines = stack.trigger_log_lines(EVENTS, run_id, "process_partition", try_number=1, map_index=i)
            return any(seen in line for line in lines)  # the trigger's line after its first read

        wait_for(read, timeout=60, what=f"the trigger of wait {i} to read its run")
    return run_id, held, glue_runs


def end_runs_and_measure(
    stack: AirflowStack, glue: LocalGlue, job: str, run_id: str, glue_runs: dict[int, str]
) -> dict[int, float]:
    """End every run SUCCEEDED; once the DAG run succeeds, return each wait's seconds from CompletedOn to its event."""
    for glue_run_id in glue_runs.values():
        glue.set_run_state(job, glue_run_id, "SUCCEEDED")
    assert stack.wait_dag_run(EVENTS, run_id, timeout=180) == "success", stack.ti_states(EVENTS, run_id)
    tis = partition_tis(stack, run_id, EVENTS)
    assert {i: (ti["state"], ti["try_number"]) for i, ti in tis.items()} == {i: ("success", 1) for i in glue_runs}
    for i, glue_run_id in glue_runs.items():
        summary = stack.xcom(EVENTS, run_id, "process_partition", SUMMARY_KEY, map_index=i)
        assert (summary["run_id"], summary["state"]) == (glue_run_id, "SUCCEEDED")
    assert glue.run_count(job) == EVENT_RUNS
    where = {"dag_id": EVENTS, "run_id": run_id, "job": job}
    return {i: end_seen_after(stack, glue, map_index=i, glue_run_id=r, **where) for i, r in glue_runs.items()}


def lags_by_triggerer(lags: dict[int, float], held: dict[int, int]) -> dict[int, list[float]]:
    """Return the lags sorted, by the job id of the triggerer that held the wait (for the report)."""
    return {t: sorted(round(lags[i], 3) for i in lags if held[i] == t) for t in sorted(set(held.values()))}


def test_a_queue_per_triggerer_sees_every_end_within_a_second(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """A queue per triggerer: each run's end fires its trigger within 2 s, where polls would take 300 s or more."""
    stack = report_stack_on_failure
    job = "e2e-pg-events"
    queues = {name: stack_glue.create_event_queue(f"e2e-{name}") for name in (FIRST, SECOND)}
    envs = {name: events_env(queue, SAFETY_SLOW) for name, queue in queues.items()}
    run_id, held, glue_runs = spread_event_waits(stack, stack_glue, job, envs, poll_interval=300)
    for name, queue in queues.items():
        # A consumer tags its queue after its first ReceiveMessage: from then on it long-polls that queue.
        wait_for(lambda q=queue: len(heartbeat_tags(stack_glue, q)) == 1, timeout=60, what=f"{name}'s consumer")

    lags = end_runs_and_measure(stack, stack_glue, job, run_id, glue_runs)

    figures = lags_by_triggerer(lags, held)
    print(f"queue per triggerer: seconds from CompletedOn to 'Trigger fired event', by triggerer: {figures}")
    assert max(lags.values()) < EVENT_LAG_BOUND, figures
    for i in glue_runs:
        lines = stack.trigger_log_lines(EVENTS, run_id, "process_partition", try_number=1, map_index=i)
        assert any(f"every {SAFETY_SLOW} s as a safety net" in line for line in lines), i  # events on for it
    for name, queue in queues.items():
        log = stack.log_text(name)
        assert f"Consuming Glue job run events from SQS queue {queue}" in log, name
        assert "Not using Glue job run events" not in log, name  # no consumer fault, no fall-back to poll_interval
        assert SHARED_QUEUE_WARNING not in log, name


def test_a_shared_queue_still_completes_every_wait(
    report_stack_on_failure: AirflowStack, stack_glue: LocalGlue
) -> None:
    """Both triggerers on one queue: one warns it is shared; every wait completes, a missed event by the safety net."""
    stack = report_stack_on_failure
    job = "e2e-pg-shared-queue"
    queue = stack_glue.create_event_queue("e2e-shared")
    env = events_env(queue, SAFETY_FAST)
    # A poll_interval below the safety net: while the queue answers, a run is read every SAFETY_FAST s.
    run_id, held, glue_runs = spread_event_waits(stack, stack_glue, job, {FIRST: env, SECOND: env}, poll_interval=10)
    wait_for(lambda: len(heartbeat_tags(stack_glue, queue)) == 2, timeout=60, what="both consumers on the queue")
    wait_for(
        lambda: any(SHARED_QUEUE_WARNING in stack.log_text(name) for name in (FIRST, SECOND)),
        timeout=30,
        what="a consumer to warn that its queue is shared",
    )

    lags = end_runs_and_measure(stack, stack_glue, job, run_id, glue_runs)

    figures = lags_by_triggerer(lags, held)
    print(f"shared queue: seconds from CompletedOn to 'Trigger fired event', by triggerer: {figures}")
    assert max(lags.values()) < SAFETY_FAST + EVENT_LAG_BOUND, figures
    for name in (FIRST, SECOND):
        assert "Not using Glue job run events" not in stack.log_text(name), name
