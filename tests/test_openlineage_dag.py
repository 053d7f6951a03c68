"""OpenLineage in real Airflow (``dag.test()``) against the local Glue: the injected ``--conf`` and the task's facets.

The DAG of ``openlineage_dag.py`` runs in a fresh interpreter with the OpenLineage file transport configured
(the provider reads its settings once per process). The listener emits each event before the task runner goes
on (it waits for the process or thread it emits from), so the event file is complete when ``dag.test()``
returns: nothing here waits or polls for it. Each module fixture runs the DAG once and snapshots what the local
Glue saw; the tests read the snapshot.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from openlineage_dag import JOB_CONF, JOBS, RESULT_LINE, SECRET, USER_CONF

from airflow_glue_runs._internal.lineage.openlineage import conf_keys

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("openlineage_dag.py")
NAMESPACE = "glue-runs-test"
PARENT_KEYS = (
    "spark.openlineage.parentJobNamespace",
    "spark.openlineage.parentJobName",
    "spark.openlineage.parentRunId",
    "spark.openlineage.rootParentRunId",
    "spark.openlineage.rootParentJobName",
    "spark.openlineage.rootParentJobNamespace",
)
ERROR_MESSAGE = f"login failed for {SECRET}"
API_KEY = "ol-api-key-0123456789"
JOB_KEY = "job-level-key-9876543210"


@dataclasses.dataclass
class Outcome:
    """What one run of the DAG left behind: its state, the runs per job, Glue's call counts, the events."""

    dag_id: str
    state: str
    output: str
    runs: dict[str, list[dict[str, Any]]]
    calls: dict[str, int]
    events: list[dict[str, Any]]
    run_id: str = ""
    authorizations: set[str] = dataclasses.field(default_factory=set)

    def task_events(self, task_id: str, event_type: str) -> list[dict[str, Any]]:
        name = f"{self.dag_id}.{task_id}"
        return [e for e in self.events if e["job"]["name"] == name and e["eventType"] == event_type]

    def only_run(self, job: str) -> dict[str, Any]:
        assert len(self.runs[job]) == 1, self.runs[job]
        return self.runs[job][0]


def _create_jobs(glue: LocalGlue) -> None:
    for job in JOBS:
        plan = {"--conf": JOB_CONF}
        if job.endswith("_fail"):
            plan |= {"--local-glue-final-state": "FAILED", "--local-glue-error-message": ERROR_MESSAGE}
        if job.endswith("_ok"):
            plan["--enable-auto-scaling"] = "true"  # Glue reports DPUSeconds only for Auto Scaling and FLEX runs
        if job == "retried":
            plan["--local-glue-duration"] = "0.5"
        if job == "keyed":
            plan["--conf"] = f"{JOB_CONF} --conf spark.openlineage.transport.auth.apiKey={JOB_KEY}"
        locked = {"--conf": "spark.locked=1"} if job == "locked" else None
        glue.create_job(job, default_arguments=plan, non_overridable_arguments=locked)


def _run_dag(
    glue: LocalGlue,
    home: Path,
    tmp: Path,
    dag_id: str,
    jobs: tuple[str, ...],
    *,
    block: bool = False,
    transport: dict[str, Any] | None = None,
) -> Outcome:
    glue.reset()
    _create_jobs(glue)
    glue.reset_counters()
    events_file = tmp / "events.jsonl"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONN_AWS_DEFAULT": glue.airflow_connection(),
        "AWS_DEFAULT_REGION": glue.region_name,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            transport or {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        "AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO": "True",
        # The listener waits this long for each event's emission before giving up on it (default 10 s): a slow
        # machine must not lose an event, since the tests read them once dag.test() has returned.
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "120",
    }
    argv = [sys.executable, str(SCRIPT), dag_id, ",".join(jobs), *(["--block-openlineage"] if block else [])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    client = glue.client()
    runs = {job: client.get_job_runs(JobName=job)["JobRuns"] for job in jobs}
    events = [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
    line = next(line for line in done.stdout.splitlines() if line.startswith(RESULT_LINE))
    result = json.loads(line.removeprefix(RESULT_LINE))
    return Outcome(dag_id, result["state"], output, runs, glue.calls(), events, run_id=result["run_id"])


@pytest.fixture(scope="module")
def lineage(
    local_glue_server: LocalGlue, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """Run every task of the DAG once with OpenLineage enabled (file transport)."""
    tmp = tmp_path_factory.mktemp("openlineage")
    yield _run_dag(local_glue_server, airflow_db, tmp, "glue_runs_openlineage", JOBS[:-1])
    local_glue_server.reset()


@pytest.fixture(scope="module")
def blocked(
    local_glue_server: LocalGlue, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """Run two tasks of the DAG with the OpenLineage provider unimportable (injection still asked for)."""
    tmp = tmp_path_factory.mktemp("openlineage-blocked")
    yield _run_dag(
        local_glue_server, airflow_db, tmp, "glue_runs_openlineage_blocked", ("worker_ok", "off"), block=True
    )
    local_glue_server.reset()


def _conf(run: dict[str, Any]) -> dict[str, str]:
    """Return the run's ``--conf`` as a dict (the tests' own parsing, independent of the provider's)."""
    pairs = [part.strip().partition("=") for part in run["Arguments"]["--conf"].split(" --conf ")]
    return {key: value for key, _, value in pairs}


def _summary(outcome: Outcome, task_id: str) -> dict[str, Any]:
    """Read a task's run summary XCom back from the session's metadata database."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=outcome.run_id, key="glue_job_run", task_ids=task_id))
        (summary,) = [XComModel.deserialize_value(row) for row in rows]
    return dict(summary)


def _facets(event: dict[str, Any]) -> dict[str, Any]:
    facets: dict[str, Any] = event["run"]["facets"]
    return facets


# -- injection -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["worker_ok", "deferred_ok", "worker_fail", "deferred_fail"])
def test_parent_keys_equal_the_start_event_and_merge_with_job_and_user_conf(lineage: Outcome, task_id: str) -> None:
    """The sent --conf holds the job's and the user's properties (the user's win) and the START event's parent."""
    run = lineage.only_run(task_id)
    conf = _conf(run)
    start = lineage.task_events(task_id, "START")[0]
    assert conf["spark.openlineage.parentJobNamespace"] == start["job"]["namespace"] == NAMESPACE
    assert conf["spark.openlineage.parentJobName"] == start["job"]["name"] == f"{lineage.dag_id}.{task_id}"
    assert conf["spark.openlineage.parentRunId"] == start["run"]["runId"]
    root = start["run"]["facets"]["parent"]["root"]
    assert conf["spark.openlineage.rootParentRunId"] == root["run"]["runId"]
    assert conf["spark.openlineage.rootParentJobName"] == root["job"]["name"] == lineage.dag_id
    assert conf["spark.openlineage.rootParentJobNamespace"] == NAMESPACE
    assert conf["spark.extraListeners"] == "io.openlineage.spark.agent.OpenLineageSparkListener"
    assert conf["spark.shared"] == "user"
    assert conf["spark.user.only"] == "1"
    keys = conf_keys(run["Arguments"]["--conf"])
    assert len(keys) == len(set(keys)) == 3 + len(PARENT_KEYS)


def test_one_get_job_per_injecting_task(lineage: Outcome) -> None:
    """The tasks that inject read the job (GetJob) to merge --conf, once each; the task with injection off does not.

    Three more reads mask Glue's ErrorMessage of the failed run with the job's defaults: the worker_fail operator's
    (its own task), the deferred_fail trigger's (in the triggerer) and the sensor's on worker_fail's run.
    """
    once = ("worker_ok", "deferred_ok", "worker_fail", "deferred_fail", "locked", "keyed")
    masking = ("worker_fail", "deferred_fail", "sensor_worker_fail")
    assert lineage.calls["GetJob"] == len(once) + 2 + len(masking)  # "retried" ran two tries


def test_injection_off_sends_the_user_arguments_unchanged(lineage: Outcome) -> None:
    """With openlineage_inject_parent_job_info=False, the run's --conf is the user's, exactly as given."""
    run = lineage.only_run("off")
    assert run["Arguments"]["--conf"] == USER_CONF
    assert run["Arguments"]["--db-password"] == SECRET


def test_non_overridable_conf_is_left_alone_with_a_warning(lineage: Outcome) -> None:
    """A job whose --conf is non-overridable gets no injected properties, and the task log says why."""
    run = lineage.only_run("locked")
    assert run["Arguments"]["--conf"] == "spark.locked=1"
    assert "NonOverridableArguments" in lineage.output
    assert lineage.task_events("locked", "COMPLETE")


def test_a_retry_that_reattaches_starts_nothing_and_keeps_the_first_parent(lineage: Outcome) -> None:
    """The retry of a try that died after StartJobRun reattaches: one run, whose parent is the first try's."""
    run = lineage.only_run("retried")
    starts = lineage.task_events("retried", "START")
    first_try, second_try = starts[0]["run"]["runId"], starts[-1]["run"]["runId"]
    assert first_try != second_try
    assert _conf(run)["spark.openlineage.parentRunId"] == first_try
    assert lineage.task_events("retried", "COMPLETE")


def test_a_secret_in_the_job_conf_is_masked_when_the_run_repeats_it(lineage: Outcome) -> None:
    """A job --conf holding an API key is repeated in the run's --conf (merge), and masked in XCom and logs."""
    conf = _conf(lineage.only_run("keyed"))
    assert conf["spark.openlineage.transport.auth.apiKey"] == JOB_KEY
    assert conf["spark.openlineage.parentJobName"] == f"{lineage.dag_id}.keyed"
    assert _summary(lineage, "keyed")["arguments"]["--conf"] == "***"
    assert JOB_KEY not in lineage.output
    assert "secret properties spark.openlineage.transport.auth.apiKey" in lineage.output


# -- facets ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["worker_ok", "deferred_ok"])
def test_complete_event_carries_the_run(lineage: Outcome, task_id: str) -> None:
    """The COMPLETE event of a succeeded task names the Glue run and carries its summary."""
    run = lineage.only_run(task_id)
    (complete,) = lineage.task_events(task_id, "COMPLETE")
    facets = _facets(complete)
    assert facets["externalQuery"]["externalQueryId"] == run["Id"]
    assert facets["externalQuery"]["source"] == "glue://us-east-1"
    summary = facets["glueJobRun"]
    assert summary["jobName"] == task_id
    assert summary["runId"] == run["Id"]
    assert summary["state"] == "SUCCEEDED"
    assert summary["attempt"] == run["Attempt"]
    assert summary["executionTime"] == run["ExecutionTime"]
    assert summary["workerType"] == "G.1X"
    assert summary["numberOfWorkers"] == 2
    assert summary["glueVersion"] == "4.0"
    assert summary["executionClass"] == "STANDARD"
    assert "dpuSeconds" in summary
    assert "glueErrorMessage" not in facets


@pytest.mark.parametrize("task_id", ["worker_fail", "deferred_fail"])
def test_fail_event_carries_the_run_and_glue_error_masked(lineage: Outcome, task_id: str) -> None:
    """The FAIL event of a failed task names the run, says FAILED, and carries Glue's ErrorMessage, secret masked."""
    run = lineage.only_run(task_id)
    (fail,) = lineage.task_events(task_id, "FAIL")
    facets = _facets(fail)
    assert facets["externalQuery"]["externalQueryId"] == run["Id"]
    assert facets["glueJobRun"]["state"] == "FAILED"
    assert facets["glueErrorMessage"]["message"] == "login failed for ***"
    assert SECRET not in json.dumps([facets[name] for name in ("externalQuery", "glueJobRun", "glueErrorMessage")])


def test_sensor_events_carry_the_run_it_waited_on(lineage: Outcome) -> None:
    """The sensor's COMPLETE and FAIL events name the run it waited on, with its summary."""
    (complete,) = lineage.task_events("sensor_worker_ok", "COMPLETE")
    assert _facets(complete)["externalQuery"]["externalQueryId"] == lineage.only_run("worker_ok")["Id"]
    assert _facets(complete)["glueJobRun"]["state"] == "SUCCEEDED"
    (fail,) = lineage.task_events("sensor_worker_fail", "FAIL")
    assert _facets(fail)["externalQuery"]["externalQueryId"] == lineage.only_run("worker_fail")["Id"]
    assert _facets(fail)["glueErrorMessage"]["message"] == "login failed for ***"


# -- transport injection --------------------------------------------------------------------------------------


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OpenLineage HTTP endpoint that accepts every event and keeps it with its Authorization header."""

    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def transported(
    local_glue_server: LocalGlue, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """Run the transport-injecting task with the listener's HTTP transport (an API key) pointed at a local server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    transport = {
        "type": "http",
        "url": f"http://127.0.0.1:{server.server_port}",
        "endpoint": "api/v1/lineage",
        "auth": {"type": "api_key", "apiKey": API_KEY},
    }
    try:
        tmp = tmp_path_factory.mktemp("openlineage-transport")
        outcome = _run_dag(
            local_glue_server, airflow_db, tmp, "glue_runs_openlineage_http", ("transport",), transport=transport
        )
        outcome.events = [event for _, event in _Collector.received]
        outcome.authorizations = {auth for auth, _ in _Collector.received}
        yield outcome
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        local_glue_server.reset()


def test_transport_injection_masks_the_api_key(transported: Outcome) -> None:
    """The injected transport reaches Glue's --conf, while Airflow's XCom masks --conf and a warning is logged."""
    assert transported.authorizations == {f"Bearer {API_KEY}"}
    conf = _conf(transported.only_run("transport"))
    assert conf["spark.openlineage.transport.type"] == "http"
    assert conf["spark.openlineage.transport.endpoint"] == "api/v1/lineage"
    assert conf["spark.openlineage.transport.auth.apiKey"] == f"Bearer {API_KEY}"
    assert conf["spark.openlineage.parentJobName"] == f"{transported.dag_id}.transport"
    summary = _summary(transported, "transport")
    assert summary["arguments"]["--conf"] == "***"
    assert API_KEY not in json.dumps(summary)
    assert "Prefer configuring spark.openlineage.transport" in transported.output
    assert API_KEY not in transported.output  # the task log
    (complete,) = transported.task_events("transport", "COMPLETE")
    assert _facets(complete)["externalQuery"]["externalQueryId"] == transported.only_run("transport")["Id"]


# -- without the OpenLineage provider --------------------------------------------------------------------------


def test_without_the_provider_nothing_breaks_and_nothing_is_injected(blocked: Outcome) -> None:
    """With the OpenLineage provider unimportable, tasks succeed, send the user's arguments and make no GetJob."""
    assert blocked.state == "success", blocked.output[-3000:]
    for job in ("worker_ok", "off"):
        assert blocked.only_run(job)["Arguments"]["--conf"] == USER_CONF
    assert "GetJob" not in blocked.calls
    assert blocked.events == []
    assert "OpenLineage provider's Glue helpers cannot be imported" in blocked.output
