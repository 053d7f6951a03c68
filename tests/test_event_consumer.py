"""The triggerer's SQS consumer of Glue's events, against the local Glue's moto server (which serves SQS too).

Events are crafted and sent with SQS SendMessage (the local Glue may emit its own later). Glue reads are counted by
the local Glue; SQS calls by the consumer's counters (the registry's), which is what benchmarks read too.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from support import SAFETY, PollStepper, aws_client

from airflow_glue_runs._internal.events import consumer as consumer_module
from airflow_glue_runs._internal.events import settings
from airflow_glue_runs._internal.events.consumer import HEARTBEAT_TAG_PREFIX, EventConsumer
from airflow_glue_runs._internal.events.registry import event_consumers
from airflow_glue_runs._internal.polling import poller
from airflow_glue_runs._internal.polling.shared_client import ClientKey
from airflow_glue_runs._internal.polling.watch import watch_run
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "events-etl"
KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)
POLL = 30.0
NET = 600.0  # the safety net: no regular poll happens while a test runs
LONG_RUN = {"--local-glue-duration": "3600"}


class Queue:
    """The test's SQS queue on the local Glue, configured as the triggerer's ``[glue_runs] event_queue_url``."""

    def __init__(self, glue: LocalGlue, name: str) -> None:
        self.sqs = aws_client(glue, "sqs")
        self.name = name
        self.url: str = self.sqs.create_queue(QueueName=name)["QueueUrl"]

    def send(self, *bodies: str) -> None:
        """Send ``bodies`` in one SendMessageBatch (so a receive is likely to take them together)."""
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
        answer = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
        assert not answer.get("Failed")

    def left(self) -> int:
        """Return how many messages wait in the queue (visible or in flight)."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def delete(self) -> None:
        self.sqs.delete_queue(QueueUrl=self.url)

    def recreate(self) -> None:
        assert self.sqs.create_queue(QueueName=self.name)["QueueUrl"] == self.url


GLUE_OPERATIONS = frozenset({"GetJob", "GetJobRun", "GetJobRuns", "StartJobRun", "BatchStopJobRun"})


def glue_calls(glue: LocalGlue) -> dict[str, int]:
    """Return the Glue calls the local Glue answered (it counts SQS, SNS and EventBridge calls too)."""
    return {name: count for name, count in glue.calls().items() if name in GLUE_OPERATIONS}


def event(run_id: str, job: str = JOB, source: str = "aws.glue", state: str = "SUCCEEDED") -> str:
    """A "Glue Job State Change" event body as EventBridge delivers it."""
    detail = {"jobName": job, "jobRunId": run_id, "state": state, "severity": "INFO", "message": "Job run succeeded"}
    body = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Glue Job State Change", "source": source}
    return json.dumps({**body, "account": "123456789012", "region": "us-east-1", "resources": [], "detail": detail})


@pytest.fixture
def queue(glue: LocalGlue, monkeypatch: pytest.MonkeyPatch) -> Iterator[Queue]:
    """A fresh queue set as ``event_queue_url`` with a long safety net; receives poll 1 s (not SQS's 20 s)."""
    made = Queue(glue, f"glue-events-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", made.url)
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL", str(NET))
    monkeypatch.setattr(consumer_module, "WAIT_TIME_SECONDS", 1)
    yield made
    if made.url in made.sqs.list_queues().get("QueueUrls", []):
        made.delete()


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> PollStepper:
    """Replace the consumer's back-off sleep so the test decides when it retries."""
    stepper = PollStepper()
    monkeypatch.setattr(consumer_module, "_sleep", stepper.sleep)
    return stepper


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (checked between steps of the loop; SAFETY guards a hang)."""
    async with asyncio.timeout(SAFETY):
        while not condition():  # noqa: ASYNC110 - bounded wait on the consumer's and the poller's progress
            await asyncio.sleep(0.01)


def the_consumer() -> EventConsumer:
    (consumer,) = event_consumers().consumers.values()
    return consumer


def job_poller() -> poller.JobPoller:
    return poller.poller_registry().pollers[(KEY, JOB)]


def start_runs(glue: LocalGlue, count: int) -> list[str]:
    client = glue.client()
    return [client.start_job_run(JobName=JOB, Arguments=LONG_RUN)["JobRunId"] for _ in range(count)]


async def settled(glue: LocalGlue) -> EventConsumer:
    """Wait until the consumer is healthy and the pollers read their runs once; then zero the Glue counters."""
    await until(lambda: bool(event_consumers().consumers) and the_consumer().healthy)
    await until(lambda: all(p.history and p.interval >= NET for p in poller.poller_registry().pollers.values()))
    glue.reset_counters()
    return the_consumer()


def trigger_task(run_id: str, **kwargs: Any) -> asyncio.Task[Any]:
    """Run one GlueJobRunTrigger until its event, as the triggerer would."""

    async def wait() -> Any:
        trigger = GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=POLL, **kwargs)
        events = trigger.run()
        try:
            return await anext(events)
        finally:
            await events.aclose()
            await trigger.cleanup()

    return asyncio.create_task(wait())


@pytest_asyncio.fixture
async def closing() -> AsyncIterator[None]:
    """Close the loop's consumers at the end (as a loop that ends would)."""
    yield
    await event_consumers().aclose_all()


@pytest.mark.asyncio
async def test_without_a_queue_no_sqs_client_is_built(glue: LocalGlue, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset event_queue_url: no consumer, no SQS client (so no SQS call), and runs are read every poll_interval."""
    monkeypatch.delenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", raising=False)
    built: list[ClientKey] = []
    monkeypatch.setattr(consumer_module, "_build_sqs_client", built.append)
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    async with watch_run(KEY, JOB, run_id, POLL, wakeable=True) as watcher:
        await watcher.next()
        assert job_poller().interval == POLL
        assert event_consumers().consumers == {}
    assert built == []
    assert event_consumers().totals().receive_calls == 0


@pytest.mark.asyncio
async def test_a_hinted_run_is_read_once_soon_then_at_the_safety_interval(
    glue: LocalGlue, queue: Queue, stepper: PollStepper, closing: None
) -> None:
    """While events flow the poller sleeps the safety net, not poll_interval; an event for a watched run wakes it
    for one read within FIRST_READ_DELAY, and then it sleeps the safety net again: no other reads."""
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    async with watch_run(KEY, JOB, run_id, POLL, wakeable=True) as watcher:
        await until(lambda: bool(stepper.delays) and stepper.delays[-1] > POLL)  # back on the safety net
        consumer = the_consumer()
        assert consumer.healthy
        await watcher.next()
        glue.reset_counters()
        sleeps = len(stepper.delays)
        queue.send(event(run_id))
        await until(lambda: len(stepper.delays) > sleeps)
        assert stepper.delays[-1] <= poller.FIRST_READ_DELAY
        stepper.step()
        await stepper.until_asleep(sleeps + 2)
        assert glue_calls(glue) == {"GetJobRun": 1}
        assert stepper.delays[-1] > NET - 60  # the next regular read is the safety net's
        assert (await watcher.next()).run.id == run_id  # type: ignore[union-attr]
        await until(lambda: consumer.stats.deleted == 1)
        assert (consumer.stats.hints, consumer.stats.messages) == (1, 1)
        assert queue.left() == 0


@pytest.mark.asyncio
async def test_an_event_ends_a_wait_with_one_read(glue: LocalGlue, queue: Queue, closing: None) -> None:
    """A trigger whose run ended resolves on the event's hint with one GetJobRun, not at its next poll."""
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    task = trigger_task(run_id)
    await settled(glue)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    glue.reset_counters()
    queue.send(event(run_id))
    async with asyncio.timeout(SAFETY):
        fired = await task
    assert fired.payload["resolution"] == "succeeded"
    assert glue_calls(glue) == {"GetJobRun": 1}


@pytest.mark.asyncio
async def test_wrong_messages_cost_at_most_a_read_and_change_no_verdict(
    glue: LocalGlue, queue: Queue, closing: None
) -> None:
    """Duplicated, forged (the run has not ended), other-job, other-source and garbage messages cost at most one
    read per hint and leave the wait going; every message is deleted; the real end is then judged as usual."""
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    task = trigger_task(run_id)
    consumer = await settled(glue)
    forged = event(run_id, state="FAILED")
    polls, finished = job_poller().polls, len(job_poller().history)
    queue.send(forged, forged, event("jr_other", job="another-job"), event(run_id, source="evil.app"), "garbage {")
    await until(lambda: consumer.stats.deleted == 5)
    # Every hinted read asked for has been made, and every poll that started has ended (its read is counted).
    await until(
        lambda: (
            not job_poller().schedule.fresh
            and job_poller().polls - polls == len(job_poller().history) - finished
            and job_poller().polls > polls
        )
    )
    assert glue_calls(glue).get("GetJobRun", 0) in (1, 2)  # one read per batch of hints that named the run
    assert (consumer.stats.hints, consumer.stats.unwatched) == (2, 1)
    assert (consumer.stats.foreign, consumer.stats.malformed) == (1, 1)
    assert not task.done()
    assert consumer.healthy
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    queue.send(event(run_id))
    async with asyncio.timeout(SAFETY):
        assert (await task).payload["resolution"] == "succeeded"


@pytest.mark.asyncio
async def test_a_missing_queue_falls_back_to_poll_interval_logs_once_and_recovers(
    glue: LocalGlue, queue: Queue, backoff: PollStepper, logs: list[dict[str, Any]], closing: None
) -> None:
    """Deleting the queue makes the pollers poll at poll_interval at once, logged once by the AWS error code
    however many retries fail; once the queue is back the consumer says so and the safety net returns."""
    from airflow_versions import log_messages

    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    async with watch_run(KEY, JOB, run_id, POLL, wakeable=True):
        consumer = await settled(glue)
        queue.delete()
        await backoff.until_asleep(1)
        assert not consumer.healthy
        assert job_poller().interval == POLL
        backoff.step()
        await backoff.until_asleep(2)  # a second failure
        assert backoff.delays[1] > backoff.delays[0]
        warnings = [m for m in log_messages(logs, "warning") if "Not using Glue job run events" in m]
        assert len(warnings) == 1
        assert "QueueDoesNotExist" in warnings[0] or "NonExistentQueue" in warnings[0]
        queue.recreate()
        backoff.step()
        await until(lambda: consumer.healthy)
        assert job_poller().interval == NET
        assert consumer.stats.faults == 2
        assert any("flow again" in m for m in log_messages(logs, "info"))


@pytest.mark.asyncio
async def test_access_denied_on_receive_falls_back_to_poll_interval(
    glue: LocalGlue,
    queue: Queue,
    backoff: PollStepper,
    logs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    closing: None,
) -> None:
    """An AccessDenied answer to ReceiveMessage (injected at botocore's before-call boundary) is a consumer fault:
    logged once by its code, the pollers use poll_interval, and no trigger notices beyond its timing."""
    from airflow_versions import log_messages

    denials = {"left": 3}
    real_build = consumer_module._build_sqs_client

    def deny(**_: Any) -> Any:
        if denials["left"] <= 0:
            return None
        denials["left"] -= 1
        return _FakeHttp(400), {"Error": {"Code": "AccessDenied", "Message": "User is not authorized (x)"}}

    def build_denied(key: ClientKey) -> Any:
        client = real_build(key)
        client.meta.events.register("before-call.sqs.ReceiveMessage", deny)
        return client

    monkeypatch.setattr(consumer_module, "_build_sqs_client", build_denied)
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    task = trigger_task(run_id)
    await backoff.until_asleep(1)
    consumer = the_consumer()
    assert (consumer.healthy, consumer.fault) == (False, "AccessDenied")
    await until(lambda: poller.poller_registry().pollers != {} and job_poller().interval == POLL)
    for retry in (2, 3):
        backoff.step()
        await backoff.until_asleep(retry)
    backoff.step()
    await until(lambda: consumer.healthy)
    warnings = [m for m in log_messages(logs, "warning") if "AccessDenied" in m]
    assert len(warnings) == 1
    assert "not authorized" not in " ".join(log_messages(logs))  # the AWS text is not logged
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    queue.send(event(run_id))
    async with asyncio.timeout(SAFETY):
        assert (await task).payload["resolution"] == "succeeded"


class _FakeHttp:
    """The HTTP half of a botocore ``before-call`` short-circuit answer."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}


@pytest.mark.asyncio
async def test_the_queue_deadline_is_read_on_time_under_a_long_safety_net(
    glue: LocalGlue, queue: Queue, closing: None
) -> None:
    """A WAITING run with max_queue_wait ends with queue_timeout at its deadline (no event says so), not at the
    600 s safety net: the trigger asks the poller for a read then."""
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    glue.set_run_state(JOB, run_id, "WAITING")
    task = trigger_task(run_id, max_queue_wait=2)
    await until(lambda: bool(event_consumers().consumers) and the_consumer().healthy)
    async with asyncio.timeout(SAFETY):
        fired = await task
    assert fired.payload["resolution"] == "queue_timeout"
    assert glue_calls(glue)["GetJobRun"] == 2  # the first read, and the one at the deadline
    assert the_consumer().healthy


@pytest.mark.asyncio
async def test_one_consumer_serves_every_trigger_of_a_connection_and_closes_after_the_last(
    glue: LocalGlue, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Triggers of one connection share one consumer (one SQS client); log forwarders keep poll_interval; after
    the last trigger leaves, the consumer closes (idle grace) and its counters stay readable from the registry."""
    registry = event_consumers()
    registry.idle_seconds = 0.0
    built: list[ClientKey] = []
    real_build = consumer_module._build_sqs_client

    def counting_build(key: ClientKey) -> Any:
        built.append(key)
        return real_build(key)

    monkeypatch.setattr(consumer_module, "_build_sqs_client", counting_build)
    glue.create_job(JOB, max_concurrent_runs=10)
    first, second, third = start_runs(glue, 3)
    tasks = [trigger_task(first), trigger_task(second), trigger_task(third, forward_logs=True)]
    await until(lambda: bool(registry.consumers) and the_consumer().subscribers == 3 and the_consumer().healthy)
    await until(lambda: bool(job_poller().history))  # the first poll is over
    assert job_poller().interval == POLL  # the log forwarder needs a read every poll_interval
    for run_id in (first, second, third):
        glue.set_run_state(JOB, run_id, "SUCCEEDED")
    queue.send(event(first), event(second), event(third))
    async with asyncio.timeout(SAFETY):
        results = await asyncio.gather(*tasks)
    assert [r.payload["resolution"] for r in results] == ["succeeded"] * 3
    await until(lambda: registry.consumers == {} and all(c.task is None for c in registry.closed))
    assert built == [KEY]
    (closed,) = registry.closed
    assert closed._client is None  # its SQS client is closed
    totals = registry.totals()
    assert (totals.hints, totals.deleted) == (3, 3)
    assert totals.receive_calls >= 1


@pytest.mark.asyncio
async def test_an_sns_notification_envelope_is_understood(glue: LocalGlue, queue: Queue, closing: None) -> None:
    """Through SNS without raw delivery (the event wrapped in a Notification envelope) the hint still arrives."""
    sns = aws_client(glue, "sns")
    topic = sns.create_topic(Name=f"glue-events-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_arn = queue.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    task = trigger_task(run_id)
    consumer = await settled(glue)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    sns.publish(TopicArn=topic, Message=event(run_id))
    async with asyncio.timeout(SAFETY):
        assert (await task).payload["resolution"] == "succeeded"
    assert consumer.stats.hints == 1
    assert glue_calls(glue) == {"GetJobRun": 1}
    sns.delete_topic(TopicArn=topic)


@pytest.mark.asyncio
async def test_a_shared_queue_is_reported_once(
    glue: LocalGlue, queue: Queue, logs: list[dict[str, Any]], closing: None
) -> None:
    """The consumer says at start which queue it consumes and that it must be this triggerer's own; seeing another
    consumer's fresh heartbeat tag on the queue, it warns once; its own heartbeat is on the queue."""
    from airflow_versions import log_messages

    queue.sqs.tag_queue(QueueUrl=queue.url, Tags={HEARTBEAT_TAG_PREFIX + "other-host:4242": str(int(time.time()))})
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    async with watch_run(KEY, JOB, run_id, POLL, wakeable=True):
        consumer = await settled(glue)
        await until(lambda: consumer.stats.heartbeats >= 1)
    messages = log_messages(logs)
    assert any(queue.url in m and "this triggerer's own" in m for m in messages)
    shared = [m for m in log_messages(logs, "warning") if "consumed by another triggerer" in m]
    assert len(shared) == 1
    assert "other-host:4242" in shared[0]
    tags = queue.sqs.list_queue_tags(QueueUrl=queue.url)["Tags"]
    assert consumer._tag in tags
    assert consumer.shared_queue_seen


@pytest.mark.asyncio
async def test_a_bad_queue_url_polls_as_without_events(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch, logs: list[dict[str, Any]]
) -> None:
    """A value that is no queue URL logs one error naming the option; the trigger waits by polling as before."""
    from airflow_versions import log_messages

    monkeypatch.setattr(settings, "_reported", set())
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", "arn:aws:sqs:us-east-1:123456789012:q")
    glue.create_job(JOB, max_concurrent_runs=10)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]  # ends at its first read
    async with asyncio.timeout(SAFETY):
        fired = await trigger_task(run_id)
    assert fired.payload["resolution"] == "succeeded"
    assert event_consumers().consumers == {}
    errors = [m for m in log_messages(logs, "error") if "[glue_runs] event_queue_url" in m]
    assert len(errors) == 1
