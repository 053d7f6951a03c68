"""The local Glue's "Glue Job State Change" events: sent to moto's EventBridge when a run ends, as Glue sends them.

Real boto3 SQS and EventBridge clients read them from a queue made by ``create_event_queue``. Most tests drive a
fake clock; the event emitter follows it, and catches up before every SQS request.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import SAFETY, FakeClock, aws_client

from airflow_glue_runs.local_glue import EVENT_PATTERN, LocalGlue, local_glue_process


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
def sqs(glue: LocalGlue) -> Any:
    return aws_client(glue, "sqs")


@pytest.fixture
def queue(glue: LocalGlue) -> str:
    return glue.create_event_queue()


def poll(condition: Callable[[], Any], what: str) -> Any:
    """Return the first truthy value of ``condition``, polled until SAFETY seconds have passed."""
    deadline = time.monotonic() + SAFETY
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return value


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive (and delete) every message the queue holds now; return their bodies in the order received."""
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def ends(sqs: Any, queue_url: str) -> list[tuple[str, str]]:
    """The (jobRunId, state) of every event the queue holds now."""
    return [(body["detail"]["jobRunId"], body["detail"]["state"]) for body in drain(sqs, queue_url)]


def start(glue: LocalGlue, job: str, **request: Any) -> str:
    run_id: str = glue.client().start_job_run(JobName=job, **request)["JobRunId"]
    return run_id


def get_run(glue: LocalGlue, job: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = glue.client().get_job_run(JobName=job, RunId=run_id)["JobRun"]
    return run


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_ended_run_yields_one_event_with_glue_shape(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """A failed run gives one event: Glue's source, detail-type and detail, its ErrorMessage as message, its end."""
    t0 = clock()
    arguments = {"--local-glue-duration": "10", "--local-glue-final-state": "FAILED"}
    glue.create_job("nightly", default_arguments={**arguments, "--local-glue-error-message": "No such table: sales"})
    run_id = start(glue, "nightly")
    clock.advance(5)
    assert drain(sqs, queue) == []  # RUNNING: no event
    clock.advance(5)
    [body] = drain(sqs, queue)
    run = get_run(glue, "nightly", run_id)
    assert run["JobRunState"] == "FAILED"
    assert body["detail"] == {
        "jobName": "nightly",
        "severity": "ERROR",
        "state": "FAILED",
        "jobRunId": run_id,
        "message": run["ErrorMessage"],
    }
    assert run["ErrorMessage"] == "No such table: sales"
    assert (body["source"], body["detail-type"], body["resources"]) == ("aws.glue", "Glue Job State Change", [])
    assert (body["region"], body["version"], body["time"]) == ("us-east-1", "0", iso(t0 + 10))
    clock.advance(60)
    assert drain(sqs, queue) == []
    assert glue.event_counts() == {"emitted": 1, "dropped": 0, "duplicated": 0, "delayed": 0, "failed": 0}


def test_a_succeeded_run_says_so(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """A run that succeeds at once gives an INFO event "Job run succeeded" (GetJobRun shows no ErrorMessage)."""
    glue.create_job("plain")
    run_id = start(glue, "plain")
    [body] = drain(sqs, queue)
    assert body["detail"] == {
        "jobName": "plain",
        "severity": "INFO",
        "state": "SUCCEEDED",
        "jobRunId": run_id,
        "message": "Job run succeeded",
    }
    assert "ErrorMessage" not in get_run(glue, "plain", run_id)


def test_the_event_arrives_during_a_long_poll_without_another_request(
    glue: LocalGlue, clock: FakeClock, queue: str
) -> None:
    """A ReceiveMessage already waiting gets the event when the run ends by the clock; no other request is made."""
    glue.create_job("waited", default_arguments={"--local-glue-duration": "30"})
    run_id = start(glue, "waited")
    sqs = aws_client(glue, "sqs")
    glue.reset_counters()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(sqs.receive_message, QueueUrl=queue, WaitTimeSeconds=20)
        # The counter moves under the lock with the request's own catch-up: past it, only the emitter can deliver.
        poll(lambda: glue.calls().get("ReceiveMessage") == 1, "the long poll to start")
        clock.advance(30)
        answer = waiting.result(timeout=SAFETY)
    [message] = answer["Messages"]
    assert json.loads(message["Body"])["detail"]["jobRunId"] == run_id
    assert glue.calls() == {"ReceiveMessage": 1}


def test_a_stopped_run_emits_stopped_once_and_not_its_plan_end(
    glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str
) -> None:
    """BatchStopJobRun moves the end: STOPPED is sent when the stop completes, the overtaken plan end never."""
    t0 = clock()
    glue.create_job("stoppable", default_arguments={"--local-glue-duration": "10", "--local-glue-stop-seconds": "2"})
    run_id = start(glue, "stoppable")
    clock.advance(3)
    glue.client().batch_stop_job_run(JobName="stoppable", JobRunIds=[run_id])
    clock.advance(1)
    assert drain(sqs, queue) == []  # STOPPING
    clock.advance(1)
    [body] = drain(sqs, queue)
    assert body["detail"] == {
        "jobName": "stoppable",
        "severity": "INFO",
        "state": "STOPPED",
        "jobRunId": run_id,
        "message": "Job run stopped",
    }
    assert body["time"] == iso(t0 + 5)
    clock.advance(60)  # past the plan's end
    assert drain(sqs, queue) == []
    assert glue.event_counts()["emitted"] == 1


def test_a_timed_out_run_emits_timeout(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """A run past its timeout gives a TIMEOUT event (severity WARN) at the timeout, with GetJobRun's ErrorMessage."""
    t0 = clock()
    glue.create_job("slow", default_arguments={"--local-glue-duration": "100", "--local-glue-timeout-seconds": "20"})
    run_id = start(glue, "slow")
    clock.advance(20)
    [body] = drain(sqs, queue)
    run = get_run(glue, "slow", run_id)
    assert (run["JobRunState"], body["detail"]["state"], body["detail"]["severity"]) == ("TIMEOUT", "TIMEOUT", "WARN")
    assert body["detail"]["message"] == run["ErrorMessage"]
    assert body["time"] == iso(t0 + 20)


def test_no_event_for_waiting_running_error_or_expired(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """Runs that wait, run, end in ERROR or EXPIRE send nothing: Glue documents no event for those states."""
    glue.create_job("busy", default_arguments={"--local-glue-duration": "1000"})
    glue.create_job("broken", default_arguments={"--local-glue-final-state": "ERROR"})
    expiring = {"--local-glue-final-state": "EXPIRED", "--local-glue-queue-seconds": "5"}
    glue.create_job("never", default_arguments=expiring)
    running = start(glue, "busy")
    waiting = start(glue, "busy", JobRunQueuingEnabled=True)
    errored, expired = start(glue, "broken"), start(glue, "never", JobRunQueuingEnabled=True)
    clock.advance(10)
    runs = [("busy", running), ("busy", waiting), ("broken", errored), ("never", expired)]
    states = {run_id: get_run(glue, job, run_id)["JobRunState"] for job, run_id in runs}
    assert states == {running: "RUNNING", waiting: "WAITING", errored: "ERROR", expired: "EXPIRED"}
    assert drain(sqs, queue) == []
    assert glue.event_counts()["emitted"] == 0


def test_queued_runs_emit_their_ends_once_they_got_a_slot(
    glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str
) -> None:
    """WAITING runs admitted when a forced end or a plan end frees the slot send their real, later ends."""
    t0 = clock()
    glue.create_job("serial", default_arguments={"--local-glue-duration": "10"})
    first = start(glue, "serial")
    second, third = (start(glue, "serial", JobRunQueuingEnabled=True) for _ in range(2))
    clock.advance(2)
    glue.set_run_state("serial", first, "FAILED", error_message="killed by the test")
    assert ends(sqs, queue) == [(first, "FAILED")]
    clock.advance(50)  # nothing read the queued runs: each end gave the next one the slot at once
    bodies = [(body["detail"]["jobRunId"], body["detail"]["state"], body["time"]) for body in drain(sqs, queue)]
    assert bodies == [(second, "SUCCEEDED", iso(t0 + 12)), (third, "SUCCEEDED", iso(t0 + 22))]


def test_drop_next_and_drop_rate_drop_events(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """drop_next drops that many events, then drop_rate=1.0 drops the rest of one job's only."""
    glue.create_job("a")
    glue.create_job("b")
    glue.set_event_faults(drop_next=1)
    dropped, kept = start(glue, "a"), start(glue, "a")
    assert ends(sqs, queue) == [(kept, "SUCCEEDED")]
    glue.set_event_faults(drop_rate=1.0, job_name="a")
    start(glue, "a")
    other = start(glue, "b")
    assert ends(sqs, queue) == [(other, "SUCCEEDED")]
    assert dropped != kept
    assert glue.event_counts() == {"emitted": 2, "dropped": 2, "duplicated": 0, "delayed": 0, "failed": 0}


def test_a_drop_rate_with_a_seed_drops_the_same_events_each_time(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """drop_rate=0.5 with a seed drops some events, and the same ones (by order) again with the same seed."""
    glue.create_job("many", max_concurrent_runs=20)
    kept_order = []
    for _ in range(2):
        glue.set_event_faults(drop_rate=0.5, seed=7)
        runs = [start(glue, "many") for _ in range(20)]
        kept = {run_id for run_id, _ in ends(sqs, queue)}
        kept_order.append([run_id in kept for run_id in runs])
    assert kept_order[0] == kept_order[1]
    assert 0 < sum(kept_order[0]) < 20


def test_duplicate_sends_an_event_twice(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """duplicate_next=1 sends the next event twice (two messages, same detail); the one after once."""
    glue.create_job("twice")
    glue.set_event_faults(duplicate_next=1)
    first, second = start(glue, "twice"), start(glue, "twice")
    bodies = drain(sqs, queue)
    assert [body["detail"]["jobRunId"] for body in bodies] == [first, first, second]
    assert bodies[0]["detail"] == bodies[1]["detail"]
    assert glue.event_counts() == {"emitted": 3, "dropped": 0, "duplicated": 1, "delayed": 0, "failed": 0}


def test_delay_holds_an_event_back_by_the_clock(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """delay_seconds=30 sends the event 30 s (by the local Glue's clock) after the run's end; its time is the end."""
    t0 = clock()
    glue.create_job("late", default_arguments={"--local-glue-duration": "5"})
    glue.set_event_faults(delay_seconds=30)
    run_id = start(glue, "late")
    clock.advance(34)
    assert drain(sqs, queue) == []
    assert glue.event_counts()["delayed"] == 1
    clock.advance(1)
    [body] = drain(sqs, queue)
    assert (body["detail"]["jobRunId"], body["time"]) == (run_id, iso(t0 + 5))
    assert glue.event_counts()["emitted"] == 1


def test_jitter_delays_each_copy_within_its_bound(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """jitter_seconds delays each event by 0 to that much more: all are sent once the bound has passed."""
    glue.create_job("jittery", max_concurrent_runs=10, default_arguments={"--local-glue-duration": "1"})
    glue.set_event_faults(delay_seconds=5, jitter_seconds=10, seed=3)
    runs = {start(glue, "jittery") for _ in range(10)}
    clock.advance(5.5)
    early = {run_id for run_id, _ in ends(sqs, queue)}
    assert early == set()
    clock.advance(11)
    assert {run_id for run_id, _ in ends(sqs, queue)} == runs
    assert glue.event_counts()["delayed"] == 10


@pytest.mark.parametrize(
    ("switches", "problem"),
    [
        ({"drop_next": -1}, "drop_next must be a non-negative integer"),
        ({"drop_next": 1.5}, "drop_next must be a non-negative integer"),
        ({"duplicate_next": True}, "duplicate_next must be a non-negative integer"),
        ({"drop_rate": 1.5}, "drop_rate must be a fraction from 0.0 to 1.0"),
        ({"duplicate_rate": "half"}, "duplicate_rate must be a fraction from 0.0 to 1.0"),
        ({"delay_seconds": -1}, "delay_seconds must be a non-negative, finite number of seconds"),
        ({"jitter_seconds": float("inf")}, "jitter_seconds must be a non-negative, finite number of seconds"),
        ({"job_name": ""}, "job_name must be a job's name or None"),
        ({"seed": 1.0}, "seed must be an integer"),
    ],
)
def test_bad_switches_raise_a_clear_error(glue: LocalGlue, switches: dict[str, Any], problem: str) -> None:
    """A bad switch raises ValueError naming it and the allowed values, and the switches in force stay."""
    glue.set_event_faults(drop_next=5)
    with pytest.raises(ValueError, match=problem):
        glue.set_event_faults(**switches)
    glue.create_job("kept")
    start(glue, "kept")
    assert glue.event_counts()["dropped"] == 1


def test_bad_queue_name_raises_before_any_call(glue: LocalGlue) -> None:
    """create_event_queue refuses a name SQS or EventBridge would refuse, before any AWS call."""
    glue.reset_counters()
    with pytest.raises(ValueError, match=re.escape("name must be 1 to 64 letters, digits, '-' or '_'; got 'a.fifo'")):
        glue.create_event_queue("a.fifo")
    assert glue.calls() == {}


def test_several_queues_each_get_every_event(glue: LocalGlue, sqs: Any) -> None:
    """Each queue made by create_event_queue has its own rule, so each gets a copy: one queue per triggerer."""
    queues = [glue.create_event_queue(f"triggerer-{n}") for n in range(3)]
    assert glue.create_event_queue("triggerer-0") == queues[0]  # again: nothing changes
    events = aws_client(glue, "events")
    rule = events.describe_rule(Name="triggerer-1")
    assert json.loads(rule["EventPattern"]) == EVENT_PATTERN
    glue.create_job("fan")
    run_id = start(glue, "fan")
    assert [ends(sqs, url) for url in queues] == [[(run_id, "SUCCEEDED")]] * 3
    assert glue.event_counts()["emitted"] == 1


def test_a_target_moto_cannot_deliver_to_is_counted_and_harmless(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """A rule with an SNS target (moto answers NotImplementedError) fails the put: counted, and the runs go on."""
    events, sns = aws_client(glue, "events"), aws_client(glue, "sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    events.put_rule(Name="to-sns", EventPattern=json.dumps(EVENT_PATTERN))
    events.put_targets(Rule="to-sns", Targets=[{"Id": "sns", "Arn": topic}])
    glue.create_job("noisy")
    run_id = start(glue, "noisy")
    assert get_run(glue, "noisy", run_id)["JobRunState"] == "SUCCEEDED"
    assert glue.event_counts()["failed"] == 1


def test_reset_forgets_queues_rules_and_pending_events(glue: LocalGlue, clock: FakeClock, sqs: Any, queue: str) -> None:
    """reset() deletes the event queues and rules and drops events still held back; switches go off."""
    glue.create_job("held", default_arguments={"--local-glue-duration": "1"})
    glue.set_event_faults(delay_seconds=10)
    start(glue, "held")
    clock.advance(2)
    glue.reset()
    with pytest.raises(ClientError, match=r"NonExistentQueue|QueueDoesNotExist"):
        sqs.receive_message(QueueUrl=queue)
    assert aws_client(glue, "events").list_rules()["Rules"] == []
    queue = glue.create_event_queue()
    clock.advance(20)
    assert drain(sqs, queue) == []
    glue.create_job("after")
    run_id = start(glue, "after")
    assert ends(sqs, queue) == [(run_id, "SUCCEEDED")]  # no delay any more
    assert glue.event_counts()["emitted"] == 1


def test_events_stay_in_their_local_glue_account(glue: LocalGlue, sqs: Any, queue: str) -> None:
    """Two local Glues in one process: each one's SQS, EventBridge and S3 calls reach its own account only."""
    with LocalGlue() as other:
        other_queue = other.create_event_queue()
        assert aws_client(other, "sqs").list_queues()["QueueUrls"] == [other_queue]
        assert sqs.list_queues()["QueueUrls"] == [queue]
        other.create_job("theirs")
        theirs = start(other, "theirs")
        glue.create_job("mine")
        mine = start(glue, "mine")
        assert ends(aws_client(other, "sqs"), other_queue) == [(theirs, "SUCCEEDED")]
        other.upload_script("their-bucket", "job.py", "print('hi')")
        assert "their-bucket" not in [b["Name"] for b in aws_client(glue, "s3").list_buckets()["Buckets"]]
    assert ends(sqs, queue) == [(mine, "SUCCEEDED")]


def test_a_real_python_shell_run_emits_when_its_process_exits(
    glue: LocalGlue, tmp_path: Path, sqs: Any, queue: str
) -> None:
    """A real script's failure is sent when the process exits, to a consumer already long-polling."""
    script = tmp_path / "fails.py"
    script.write_text("raise ValueError('bad input')\n")
    glue.create_job("shell", command="pythonshell", script_location=script.as_uri())
    run_id = start(glue, "shell")
    answer = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
    detail = json.loads(answer["Messages"][0]["Body"])["detail"]
    run = get_run(glue, "shell", run_id)
    assert (detail["jobRunId"], detail["state"], detail["severity"]) == (run_id, "FAILED", "ERROR")
    assert detail["message"] == run["ErrorMessage"] == "ValueError: bad input"


def test_stop_leaves_no_emitter_thread_behind() -> None:
    """Stopping a local Glue with runs still to end stops its event emitter's thread."""
    before = set(threading.enumerate())
    with LocalGlue() as local_glue:
        local_glue.create_job("long", default_arguments={"--local-glue-duration": "3600"})
        start(local_glue, "long")
        emitters = [t for t in threading.enumerate() if t.name == "local-glue-events" and t not in before]
        assert len(emitters) == 1
    assert not emitters[0].is_alive()


def test_the_cli_server_emits_and_its_control_makes_queues() -> None:
    """The command-line local Glue sends events by default; LocalGlueControl makes the queue and counts events."""
    with local_glue_process() as control:
        queue = control.create_event_queue("cli-events")
        control.create_job("cli")
        run_id = control.client().start_job_run(JobName="cli")["JobRunId"]
        sqs = aws_client(control, "sqs")
        answer = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
        assert json.loads(answer["Messages"][0]["Body"])["detail"]["jobRunId"] == run_id
        with pytest.raises(ValueError, match="drop_rate must be a fraction"):
            control.set_event_faults(drop_rate=2)
        assert control.event_counts()["emitted"] == 1
