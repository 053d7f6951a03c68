"""Tests of the local Glue: moto's server with scripted runs, BatchStopJobRun, faults, counters and its CLI."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from support import FakeClock

from airflow_glue_runs.local_glue import FAULT_KINDS, JOB_RUN_STATES, LocalGlue, LocalGlueControl

NO_RETRIES = Config(retries={"total_max_attempts": 1})
FINAL = {"STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"}


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def glue(clock: FakeClock) -> Iterator[LocalGlue]:
    with LocalGlue(clock=clock) as local_glue:
        yield local_glue


@pytest.fixture(autouse=True)
def _clean(glue: LocalGlue) -> None:
    glue.reset()


@pytest.fixture
def client(glue: LocalGlue) -> Any:
    return glue.client(config=NO_RETRIES)


def get_run(client: Any, job: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = client.get_job_run(JobName=job, RunId=run_id)["JobRun"]
    return run


def states(client: Any, clock: FakeClock, job: str, run_id: str, steps: list[float]) -> list[str]:
    """Advance the clock by each step and read the run's state after each."""
    seen = []
    for step in steps:
        clock.advance(step)
        seen.append(get_run(client, job, run_id)["JobRunState"])
    return seen


def test_binds_loopback_on_a_free_port(glue: LocalGlue) -> None:
    """The server listens on 127.0.0.1 on an OS-picked port and the Airflow connection points there."""
    url = urlsplit(glue.endpoint_url)
    assert url.hostname == "127.0.0.1"
    assert url.port not in (None, 0)
    conn = json.loads(glue.airflow_connection())
    assert conn == {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"region_name": "us-east-1", "endpoint_url": glue.endpoint_url},
    }


def test_instances_in_one_process_are_isolated(glue: LocalGlue, client: Any) -> None:
    """Two LocalGlue servers in one process keep separate jobs, and stopping one leaves the other intact."""
    glue.create_job("mine")
    with LocalGlue() as other:
        other.create_job("theirs")
        assert [job["Name"] for job in other.client().get_jobs()["Jobs"]] == ["theirs"]
        other.reset()
    assert [job["Name"] for job in client.get_jobs()["Jobs"]] == ["mine"]


def test_run_succeeds_by_default(glue: LocalGlue, client: Any) -> None:
    """Without a plan a run is SUCCEEDED at the first read, with the job's fields and Glue's defaults."""
    glue.create_job("plain")
    run_id = client.start_job_run(JobName="plain")["JobRunId"]
    run = get_run(client, "plain", run_id)
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["CompletedOn"] == run["StartedOn"] == run["LastModifiedOn"]
    assert (run["ExecutionTime"], run["Attempt"], run["LogGroupName"]) == (0, 0, "/aws-glue/jobs")
    assert "DPUSeconds" not in run  # a STANDARD run without Auto Scaling
    assert (run["GlueVersion"], run["Timeout"], run["WorkerType"], run["NumberOfWorkers"]) == (
        "4.0",
        2880,
        "G.1X",
        2,
    )
    assert run["JobRunQueuingEnabled"] is False
    assert run["ExecutionClass"] == "STANDARD"
    assert "ErrorMessage" not in run
    assert "StateDetail" not in run


@pytest.mark.parametrize(
    ("final_state", "queuing", "steps", "expected", "message"),
    [
        ("SUCCEEDED", False, [0, 1, 9], ["STARTING", "RUNNING", "SUCCEEDED"], None),
        ("FAILED", False, [0, 1, 9], ["STARTING", "RUNNING", "FAILED"], "o123.pyWriteDynamicFrame"),
        ("ERROR", False, [0, 1, 9], ["STARTING", "RUNNING", "ERROR"], "internal error"),
        ("TIMEOUT", False, [0, 1, 9], ["STARTING", "RUNNING", "TIMEOUT"], "timed out"),
        ("STOPPED", False, [0, 1, 9], ["STARTING", "RUNNING", "STOPPED"], "stopped"),
        ("EXPIRED", True, [0, 4, 1], ["WAITING", "WAITING", "EXPIRED"], "never started"),
    ],
)
def test_each_final_state(
    glue: LocalGlue,
    client: Any,
    clock: FakeClock,
    final_state: str,
    queuing: bool,
    steps: list[float],
    expected: list[str],
    message: str | None,
) -> None:
    """Each scripted final state is reached on time, with CompletedOn only once final and ErrorMessage if failed."""
    plan = {
        "--local-glue-duration": "10",
        "--local-glue-final-state": final_state,
        "--local-glue-queue-seconds": "5",
    }
    glue.create_job("scripted", default_arguments=plan)
    run_id = client.start_job_run(JobName="scripted", JobRunQueuingEnabled=queuing)["JobRunId"]
    for step, state in zip(steps, expected, strict=True):
        clock.advance(step)
        run = get_run(client, "scripted", run_id)
        assert run["JobRunState"] == state
        assert ("CompletedOn" in run) == (state in FINAL)
    assert run["CompletedOn"] == run["LastModifiedOn"]
    if message is None:
        assert "ErrorMessage" not in run
    else:
        assert message in run["ErrorMessage"]


def test_error_message_argument_and_execution_fields(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """A run argument overrides the job's plan; ExecutionTime follows time spent, a finished FLEX run's DPUSeconds
    the workers too."""
    glue.create_job("etl", default_arguments={"--local-glue-duration": "30"}, worker_type="G.2X", number_of_workers=5)
    run_id = client.start_job_run(
        JobName="etl",
        Arguments={"--local-glue-final-state": "FAILED", "--local-glue-error-message": "boom"},
        ExecutionClass="FLEX",
        ExecutionRoleSessionPolicy='{"Version": "2012-10-17"}',
        JobRunId="jr_previous",
        Timeout=60,
    )["JobRunId"]
    clock.advance(12.5)
    running = get_run(client, "etl", run_id)
    assert (running["JobRunState"], running["ExecutionTime"]) == ("RUNNING", 12)
    assert "DPUSeconds" not in running  # Glue reports it once the run is over
    clock.advance(20)
    run = get_run(client, "etl", run_id)
    assert (run["JobRunState"], run["ErrorMessage"], run["ExecutionTime"]) == ("FAILED", "boom", 30)
    assert run["DPUSeconds"] == 30 * 5 * 2.0
    assert (run["ExecutionClass"], run["PreviousRunId"], run["Timeout"]) == ("FLEX", "jr_previous", 60)
    assert run["ExecutionRoleSessionPolicy"] == '{"Version": "2012-10-17"}'
    assert run["Arguments"]["--local-glue-duration"] == "30"


def test_timeout_ends_a_run_longer_than_its_timeout(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """A run whose duration exceeds Timeout minutes ends TIMEOUT when the timeout passes."""
    glue.create_job("slow", default_arguments={"--local-glue-duration": "600"}, timeout=1)
    run_id = client.start_job_run(JobName="slow")["JobRunId"]
    assert states(client, clock, "slow", run_id, [59, 1]) == ["RUNNING", "TIMEOUT"]
    run = get_run(client, "slow", run_id)
    assert run["ExecutionTime"] == 60
    assert "timed out" in run["ErrorMessage"]


def test_waiting_with_state_detail_then_starting(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """A queued run is WAITING with a StateDetail for its queue time, then STARTING with the detail kept."""
    glue.create_job("queued", default_arguments={"--local-glue-queue-seconds": "5", "--local-glue-duration": "10"})
    run_id = client.start_job_run(JobName="queued", JobRunQueuingEnabled=True)["JobRunId"]
    waiting = get_run(client, "queued", run_id)
    assert waiting["JobRunState"] == "WAITING"
    assert "waiting for resources" in waiting["StateDetail"]
    clock.advance(5)
    starting = get_run(client, "queued", run_id)
    assert starting["JobRunState"] == "STARTING"
    assert starting["StateDetail"] == waiting["StateDetail"]
    assert starting["LastModifiedOn"] > starting["StartedOn"]
    assert "CompletedOn" not in starting


def test_queue_seconds_ignored_without_queuing(glue: LocalGlue, client: Any) -> None:
    """queue-seconds only applies to runs started with JobRunQueuingEnabled."""
    glue.create_job("unqueued", default_arguments={"--local-glue-queue-seconds": "5", "--local-glue-duration": "10"})
    run_id = client.start_job_run(JobName="unqueued")["JobRunId"]
    assert get_run(client, "unqueued", run_id)["JobRunState"] == "STARTING"


def test_queuing_waits_for_a_free_slot(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """With queuing, a run past MaxConcurrentRuns waits until a slot frees, then starts at that moment."""
    glue.create_job("busy", default_arguments={"--local-glue-duration": "10"}, max_concurrent_runs=1)
    first = client.start_job_run(JobName="busy")["JobRunId"]
    clock.advance(3)
    second = client.start_job_run(JobName="busy", JobRunQueuingEnabled=True)["JobRunId"]
    third = client.start_job_run(JobName="busy", JobRunQueuingEnabled=True)["JobRunId"]
    assert get_run(client, "busy", second)["JobRunState"] == "WAITING"
    clock.advance(7)
    assert [get_run(client, "busy", r)["JobRunState"] for r in (first, second, third)] == [
        "SUCCEEDED",
        "STARTING",
        "WAITING",
    ]
    assert get_run(client, "busy", second)["LastModifiedOn"] == get_run(client, "busy", first)["CompletedOn"]
    clock.advance(25)  # read only after both ended: the slots are still handed out at the right moments
    second_run, third_run = get_run(client, "busy", second), get_run(client, "busy", third)
    assert [second_run["JobRunState"], third_run["JobRunState"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert (third_run["CompletedOn"] - second_run["CompletedOn"]).total_seconds() == 10
    assert all("StateDetail" in r for r in (second_run, third_run))


def test_concurrent_runs_exceeded_without_queuing(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """Without queuing a start past MaxConcurrentRuns raises ConcurrentRunsExceededException until a slot frees."""
    glue.create_job("single", default_arguments={"--local-glue-duration": "10"})
    client.start_job_run(JobName="single")
    with pytest.raises(client.exceptions.ConcurrentRunsExceededException):
        client.start_job_run(JobName="single")
    clock.advance(10)
    assert client.start_job_run(JobName="single")["JobRunId"].startswith("jr_")
    assert glue.run_count("single") == 2


def test_batch_stop_job_run_stops_then_stopped(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """BatchStopJobRun puts a running run in STOPPING for stop-seconds, then STOPPED with CompletedOn."""
    glue.create_job("stoppable", default_arguments={"--local-glue-duration": "100", "--local-glue-stop-seconds": "2"})
    run_id = client.start_job_run(JobName="stoppable")["JobRunId"]
    clock.advance(5)
    answer = client.batch_stop_job_run(JobName="stoppable", JobRunIds=[run_id])
    assert answer["SuccessfulSubmissions"] == [{"JobName": "stoppable", "JobRunId": run_id}]
    assert answer["Errors"] == []
    stopping = get_run(client, "stoppable", run_id)
    assert stopping["JobRunState"] == "STOPPING"
    assert "CompletedOn" not in stopping
    assert states(client, clock, "stoppable", run_id, [1.9, 0.1]) == ["STOPPING", "STOPPED"]
    stopped = get_run(client, "stoppable", run_id)
    assert (stopped["CompletedOn"] - stopped["StartedOn"]).total_seconds() == 7
    assert stopped["ExecutionTime"] == 5


def test_batch_stop_reports_partial_failures(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """An unknown run id and a finished run are reported per run in Errors while the running run stops."""
    glue.create_job("mixed", max_concurrent_runs=3)
    finished = client.start_job_run(JobName="mixed")["JobRunId"]
    running = client.start_job_run(JobName="mixed", Arguments={"--local-glue-duration": "50"})["JobRunId"]
    answer = client.batch_stop_job_run(JobName="mixed", JobRunIds=[running, "jr_unknown", finished])
    assert answer["SuccessfulSubmissions"] == [{"JobName": "mixed", "JobRunId": running}]
    errors = {e["JobRunId"]: e["ErrorDetail"] for e in answer["Errors"]}
    assert errors["jr_unknown"]["ErrorCode"] == "EntityNotFoundException"
    assert errors[finished]["ErrorCode"] == "InvalidInputException"
    assert "already in a terminal state" in errors[finished]["ErrorMessage"]
    with pytest.raises(client.exceptions.EntityNotFoundException):
        client.batch_stop_job_run(JobName="no-such-job", JobRunIds=[running])


def test_set_run_state_forces_a_state_now(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """set_run_state ends a run at once with the given message; a forced STOPPING moves on to STOPPED."""
    glue.create_job("forced", default_arguments={"--local-glue-duration": "100"}, max_concurrent_runs=2)
    failing = client.start_job_run(JobName="forced")["JobRunId"]
    stopping = client.start_job_run(JobName="forced")["JobRunId"]
    clock.advance(2)
    glue.set_run_state("forced", failing, "FAILED", error_message="disk full")
    glue.set_run_state("forced", stopping, "STOPPING")
    run = get_run(client, "forced", failing)
    assert (run["JobRunState"], run["ErrorMessage"], run["ExecutionTime"]) == ("FAILED", "disk full", 2)
    assert states(client, clock, "forced", stopping, [0, 1]) == ["STOPPING", "STOPPED"]
    assert "ErrorMessage" not in get_run(client, "forced", stopping)  # a requested stop is no error
    clock.advance(200)
    assert get_run(client, "forced", failing)["JobRunState"] == "FAILED"


def test_leftover_moto_state_manager_transition_is_ignored(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """A moto state-manager transition left set for glue::job_run does not move a scripted run."""
    glue.create_job("managed", default_arguments={"--local-glue-duration": "10"})
    set_transition = {"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1}}
    moto_api(glue, "set-transition", set_transition)
    try:
        run_id = client.start_job_run(JobName="managed")["JobRunId"]
        assert states(client, clock, "managed", run_id, [0, 0, 1, 9]) == [
            "STARTING",
            "STARTING",
            "RUNNING",
            "SUCCEEDED",
        ]
    finally:
        moto_api(glue, "unset-transition", {"model_name": "glue::job_run"})


def moto_api(glue: LocalGlue, action: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{glue.endpoint_url}/moto-api/state-manager/{action}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


def test_bad_plan_is_invalid_input(glue: LocalGlue, client: Any) -> None:
    """A bad or unknown --local-glue-* argument makes StartJobRun fail with InvalidInputException naming it."""
    glue.create_job("typo")
    with pytest.raises(client.exceptions.InvalidInputException, match="--local-glue-final-state"):
        client.start_job_run(JobName="typo", Arguments={"--local-glue-final-state": "DONE"})
    with pytest.raises(client.exceptions.InvalidInputException, match="--local-glue-durration"):
        client.start_job_run(JobName="typo", Arguments={"--local-glue-durration": "1"})
    with pytest.raises(client.exceptions.EntityNotFoundException):
        client.start_job_run(JobName="no-such-job")
    assert glue.run_count("typo") == 0


def test_paginator_lists_more_than_200_runs(glue: LocalGlue, client: Any) -> None:
    """GetJobRuns pages (MaxResults/NextToken) through more than 200 runs with the boto3 paginator."""
    glue.create_job("many")
    started = {client.start_job_run(JobName="many")["JobRunId"] for _ in range(210)}
    pages = list(client.get_paginator("get_job_runs").paginate(JobName="many", PaginationConfig={"PageSize": 200}))
    listed = [run["Id"] for page in pages for run in page["JobRuns"]]
    assert len(pages) == 2
    assert len(listed) == 210
    assert set(listed) == started


def test_page_next_token_resumes_a_paginator(glue: LocalGlue, client: Any) -> None:
    """A GetJobRuns NextToken is opaque to botocore: used as a paginator StartingToken it resumes the listing."""
    glue.create_job("resumed")
    started = {client.start_job_run(JobName="resumed")["JobRunId"] for _ in range(7)}
    first = client.get_job_runs(JobName="resumed", MaxResults=3)
    pages = client.get_paginator("get_job_runs").paginate(
        JobName="resumed", PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 2}
    )
    rest = [run["Id"] for page in pages for run in page["JobRuns"]]
    assert len(rest) == 4
    assert {run["Id"] for run in first["JobRuns"]} | set(rest) == started


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("throttle", 400, "ThrottlingException"),
        ("server_error", 500, "InternalServiceException"),
        ("unavailable", 503, "ServiceUnavailable"),
        ("AccessDeniedException", 400, "AccessDeniedException"),
        ("EntityNotFoundException", 400, "EntityNotFoundException"),
        ("ConcurrentRunsExceededException", 400, "ConcurrentRunsExceededException"),
        ("InvalidInputException", 400, "InvalidInputException"),
        ("ResourceNumberLimitExceededException", 400, "ResourceNumberLimitExceededException"),
        ("InternalServiceException", 500, "InternalServiceException"),
        ("OperationTimeoutException", 400, "OperationTimeoutException"),
    ],
)
def test_http_faults_reach_the_client(glue: LocalGlue, client: Any, fault: str, status: int, code: str) -> None:
    """Each HTTP fault kind fails the next calls of its operation, `times` times, with its status and code."""
    glue.create_job("faulty")
    glue.inject_fault("GetJob", fault, times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            client.get_job(JobName="faulty")
        assert raised.value.response["Error"]["Code"] == code
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert client.get_job(JobName="faulty")["Job"]["Name"] == "faulty"
    assert glue.calls()["GetJob"] == 3


def test_fault_message_and_wildcard(glue: LocalGlue, client: Any) -> None:
    """A '*' fault hits whatever Glue operation comes next and carries the given message."""
    glue.inject_fault("*", "AccessDeniedException", message="not allowed here")
    with pytest.raises(ClientError, match="not allowed here") as raised:
        client.get_jobs()
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert client.get_jobs()["Jobs"] == []


def test_drop_closes_the_connection(glue: LocalGlue, client: Any) -> None:
    """A dropped call is a connection error for the client; the next call opens a new connection and works."""
    glue.create_job("dropped")
    client.get_job(JobName="dropped")
    glue.inject_fault("GetJob", "drop")
    with pytest.raises(ConnectionClosedError):
        client.get_job(JobName="dropped")
    assert client.get_job(JobName="dropped")["Job"]["Name"] == "dropped"
    assert glue.calls() == {"GetJob": 3}
    assert glue.connections() == 2


def test_retrying_client_rides_over_throttling(glue: LocalGlue) -> None:
    """A boto3 client with botocore retries gets through throttling faults, one request per attempt."""
    glue.create_job("retried")
    glue.inject_fault("GetJob", "throttle", times=1)
    retrying = glue.client(config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
    assert retrying.get_job(JobName="retried")["Job"]["Name"] == "retried"
    assert glue.calls() == {"GetJob": 2}


def test_counts_calls_and_keep_alive_connections(glue: LocalGlue, client: Any) -> None:
    """calls() counts requests per operation and connections() the distinct TCP connections (kept alive)."""
    glue.create_job("counted")
    glue.reset_counters()
    for _ in range(5):
        client.get_job(JobName="counted")
    other = glue.client(config=NO_RETRIES)
    other.get_job_runs(JobName="counted")
    assert glue.calls() == {"GetJob": 5, "GetJobRuns": 1}
    assert glue.connections() == 2
    glue.reset_counters()
    assert (glue.calls(), glue.connections()) == ({}, 0)


def test_control_inputs_are_validated(glue: LocalGlue) -> None:
    """Unknown fault kinds, operations and states raise ValueError naming the parameter and allowed values."""
    with pytest.raises(ValueError, match=r"fault must be one of throttle, server_error.*drop"):
        glue.inject_fault("GetJobRun", "explode")
    with pytest.raises(ValueError, match="operation must be one of"):
        glue.inject_fault("GetJobRunn", "throttle")
    with pytest.raises(ValueError, match="times must be a positive integer"):
        glue.inject_fault("GetJobRun", "throttle", times=0)
    glue.create_job("validated")
    with pytest.raises(ValueError, match="state must be one of STARTING, RUNNING"):
        glue.set_run_state("validated", "jr_x", "DONE")
    with pytest.raises(LookupError, match="jr_x"):
        glue.set_run_state("validated", "jr_x", "FAILED")
    with pytest.raises(LookupError, match="nope"):
        glue.run_count("nope")
    with pytest.raises(ValueError, match="worker_type must be one of"):
        glue.create_job("bad", worker_type="G.3X")
    assert set(FAULT_KINDS) >= {"throttle", "server_error", "unavailable", "drop"}
    assert len(JOB_RUN_STATES) == 10


def test_local_glue_control_over_http(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """LocalGlueControl drives the same server over HTTP: jobs, faults, counters, forced states and errors."""
    control = LocalGlueControl(glue.endpoint_url)
    control.create_job("remote", default_arguments={"--local-glue-duration": "10"})
    run_id = client.start_job_run(JobName="remote")["JobRunId"]
    control.set_run_state("remote", run_id, "ERROR")
    assert get_run(client, "remote", run_id)["JobRunState"] == "ERROR"
    control.inject_fault("GetJobRun", "throttle")
    with pytest.raises(ClientError, match="Rate exceeded"):
        get_run(client, "remote", run_id)
    assert control.calls() == {"StartJobRun": 1, "GetJobRun": 2}
    assert control.connections() == 1
    assert control.run_count("remote") == 1
    with pytest.raises(ValueError, match="fault must be one of"):
        control.inject_fault("GetJobRun", "explode")
    with pytest.raises(LookupError, match="no job 'gone'"):
        control.run_count("gone")
    control.reset_counters()
    assert control.calls() == {}
    control.reset()
    with pytest.raises(client.exceptions.EntityNotFoundException):
        client.get_job(JobName="remote")


@pytest.mark.asyncio
async def test_aiobotocore_client_works(glue: LocalGlue, clock: FakeClock) -> None:
    """An aiobotocore client starts and reads scripted runs on the local Glue."""
    glue.create_job("async", default_arguments={"--local-glue-duration": "4"})
    async with get_session().create_client(
        "glue",
        endpoint_url=glue.endpoint_url,
        region_name=glue.region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=AioConfig(retries={"total_max_attempts": 1}),
    ) as aclient:
        run_id = (await aclient.start_job_run(JobName="async"))["JobRunId"]
        assert (await aclient.get_job_run(JobName="async", RunId=run_id))["JobRun"]["JobRunState"] == "STARTING"
        clock.advance(4)
        assert (await aclient.get_job_run(JobName="async", RunId=run_id))["JobRun"]["JobRunState"] == "SUCCEEDED"
        stopped = await aclient.batch_stop_job_run(JobName="async", JobRunIds=[run_id])
        assert stopped["Errors"][0]["ErrorDetail"]["ErrorCode"] == "InvalidInputException"
    assert glue.connections() == 1


def test_stop_is_idempotent_and_forgets_everything(glue: LocalGlue) -> None:
    """stop() twice is fine, closes the port and kept-alive connections and forgets the jobs; start() serves again."""
    other = LocalGlue().start()
    other.create_job("forgotten")
    kept_alive = other.client(config=NO_RETRIES)
    assert kept_alive.get_job(JobName="forgotten")["Job"]["Name"] == "forgotten"
    old = urlsplit(other.endpoint_url)
    other.stop()
    other.stop()
    with pytest.raises(RuntimeError, match="not started"):
        other.calls()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((old.hostname, old.port), timeout=2).close()
    with other.start():
        assert other.client().get_jobs()["Jobs"] == []
        with pytest.raises(RuntimeError, match="already started"):
            other.start()


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    """The CLI writes its endpoint to --port-file, serves Glue calls and exits cleanly on SIGTERM."""
    port_file = tmp_path / "endpoint"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "airflow_glue_runs.local_glue", "--port-file", str(port_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        # The CLI writes the port file, then prints the endpoint: wait (bounded) for that line.
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], 30)
        assert readable, "the CLI printed no endpoint within 30 s"
        endpoint = process.stdout.readline().strip()
        assert port_file.read_text().strip() == endpoint
        assert urlsplit(endpoint).hostname == "127.0.0.1"
        control = LocalGlueControl(endpoint)
        control.create_job("cli")
        assert control.run_count("cli") == 0
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=15)
        assert process.returncode == 0
        assert stdout == ""
        assert not port_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_first_reads_record_when_a_client_first_saw_each_run(glue: LocalGlue) -> None:
    """first_reads() holds a run only after a GetJobRun or GetJobRuns answer included it, with that first time."""
    glue.create_job("fr", max_concurrent_runs=10)
    client = glue.client()
    first = client.start_job_run(JobName="fr", Arguments={"--local-glue-duration": "600"})["JobRunId"]
    second = client.start_job_run(JobName="fr", Arguments={"--local-glue-duration": "600"})["JobRunId"]
    assert glue.first_reads("fr") == {}
    client.get_job_run(JobName="fr", RunId=first)
    seen = glue.first_reads("fr")
    assert set(seen) == {first}
    client.get_job_runs(JobName="fr")
    again = glue.first_reads("fr")
    assert set(again) == {first, second}
    assert again[first] == seen[first]


def test_first_reads_count_only_the_runs_on_the_page_answered(glue: LocalGlue) -> None:
    """A GetJobRuns page marks only the runs it holds as read (moto 5.2.6 describes every run to build a page)."""
    glue.create_job("fr-page", max_concurrent_runs=10)
    client = glue.client()
    ids = [client.start_job_run(JobName="fr-page")["JobRunId"] for _ in range(3)]
    page = client.get_job_runs(JobName="fr-page", MaxResults=1)
    assert set(glue.first_reads("fr-page")) == {run["Id"] for run in page["JobRuns"]} == {ids[-1]}
    client.get_job_runs(JobName="fr-page", MaxResults=1, NextToken=page["NextToken"])
    assert set(glue.first_reads("fr-page")) == {ids[-1], ids[-2]}


def test_local_glue_process_serves_and_always_stops() -> None:
    """local_glue_process() runs the server in a child process for the block and nothing answers after it."""
    import urllib.error
    import urllib.request

    from airflow_glue_runs.local_glue import local_glue_process

    with local_glue_process() as control:
        control.create_job("child-job")
        control.client().start_job_run(JobName="child-job")
        assert control.run_count("child-job") == 1
        endpoint = control.endpoint_url
    assert endpoint.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint, timeout=5)


def test_get_job_runs_lists_newest_first_across_pages(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """GetJobRuns lists a job's runs newest first, as AWS documents, and the paginator keeps that order."""
    glue.create_job("order", max_concurrent_runs=10, default_arguments={"--local-glue-duration": "600"})
    started = []
    for _ in range(5):
        started.append(client.start_job_run(JobName="order")["JobRunId"])
        clock.advance(1)
    pages = client.get_paginator("get_job_runs").paginate(JobName="order", PaginationConfig={"PageSize": 2})
    listed = [run["Id"] for page in pages for run in page["JobRuns"]]
    assert listed == started[::-1]
    late = client.start_job_run(JobName="order")["JobRunId"]
    assert client.get_job_runs(JobName="order", MaxResults=1)["JobRuns"][0]["Id"] == late


def test_queue_slots_still_go_oldest_first(glue: LocalGlue, client: Any, clock: FakeClock) -> None:
    """Listing newest first does not change who gets a freed slot: the oldest queued run does."""
    glue.create_job("slots", max_concurrent_runs=1, default_arguments={"--local-glue-duration": "10"})
    client.start_job_run(JobName="slots")
    first = client.start_job_run(JobName="slots", JobRunQueuingEnabled=True)["JobRunId"]
    clock.advance(1)
    second = client.start_job_run(JobName="slots", JobRunQueuingEnabled=True)["JobRunId"]
    clock.advance(10)
    assert get_run(client, "slots", first)["JobRunState"] == "RUNNING"
    assert get_run(client, "slots", second)["JobRunState"] == "WAITING"


@pytest.mark.parametrize(
    ("options", "arguments", "reported"),
    [
        ({"ExecutionClass": "FLEX"}, {}, True),
        ({}, {"--enable-auto-scaling": "true"}, True),
        ({}, {}, False),
        ({"ExecutionClass": "STANDARD"}, {"--enable-auto-scaling": "false"}, False),
    ],
)
def test_fields_glue_fills_on_every_run(
    glue: LocalGlue, client: Any, clock: FakeClock, options: dict[str, str], arguments: dict[str, str], reported: bool
) -> None:
    """GetJobRun and GetJobRuns show the same realistic fields; DPUSeconds on finished FLEX or Auto Scaling runs."""
    glue.create_job("fields", glue_version="4.0", worker_type="G.2X", number_of_workers=3)
    run_id = client.start_job_run(JobName="fields", Arguments={"--local-glue-duration": "20", **arguments}, **options)[
        "JobRunId"
    ]
    clock.advance(30)
    run = get_run(client, "fields", run_id)
    assert client.get_job_runs(JobName="fields")["JobRuns"] == [run]
    assert (run["Attempt"], run["GlueVersion"], run["LogGroupName"]) == (0, "4.0", "/aws-glue/jobs")
    assert (run["WorkerType"], run["NumberOfWorkers"], run["MaxCapacity"]) == ("G.2X", 3, 6.0)
    assert run["ExecutionClass"] == options.get("ExecutionClass", "STANDARD")
    assert run.get("DPUSeconds") == (20 * 3 * 2.0 if reported else None)
