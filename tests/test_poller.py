"""The batched poller: Glue requests per poll for many watched runs of one job, counted by the local Glue."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, SSLError
from support import PollStepper

from airflow_glue_runs._internal.polling import poller, shared_client
from airflow_glue_runs._internal.polling.observations import PollFailed, PollSkipped, RunRead, Watcher
from airflow_glue_runs._internal.polling.shared_client import ClientKey
from airflow_glue_runs._internal.polling.watch import watch_run
from airflow_glue_runs.exceptions import ErrorKind, classify_error, translate_client_error
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "poller-etl"
SAFETY = 60  # seconds; only guards against a hang, never asserted on
KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)


def start_runs(glue: LocalGlue, count: int) -> list[str]:
    """Start ``count`` long runs of JOB (oldest first) with one boto3 client."""
    client = glue.client()
    arguments = {"--local-glue-duration": "600"}
    return [client.start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"] for _ in range(count)]


def server_pages(glue: LocalGlue) -> list[list[str]]:
    """Return the run ids of each GetJobRuns page in the order this server sends them."""
    pages = glue.client().get_paginator("get_job_runs").paginate(JobName=JOB, PaginationConfig={"PageSize": 200})
    return [[run["Id"] for run in page["JobRuns"]] for page in pages]


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert poller.poller_registry().pollers == {}


@contextlib.asynccontextmanager
async def watching(run_ids: list[str], poll_interval: float = 60, key: ClientKey = KEY) -> AsyncIterator[list[Watcher]]:
    """Watch runs of JOB through the poller directly (no trigger) for the block."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(watch_run(key, JOB, run_id, poll_interval)) for run_id in run_ids]


def watch_with_triggers(run_ids: list[str]) -> list[asyncio.Task[Any]]:
    """Start one GlueJobRunTrigger per run, as the triggerer would, each waiting for its event."""

    async def wait(run_id: str) -> Any:
        async for event in GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=60).run():
            return event
        return None

    return [asyncio.create_task(wait(run_id)) for run_id in run_ids]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("count", "calls_per_poll"),
    [(1, {"GetJobRun": 1}), (50, {"GetJobRuns": 1}), (450, {"GetJobRuns": 3})],
)
async def test_requests_per_poll_for_many_runs_of_one_job(
    glue: LocalGlue, stepper: PollStepper, count: int, calls_per_poll: dict[str, int]
) -> None:
    """N triggers on N recent runs of one job cost ceil(N/200) GetJobRuns pages per poll (GetJobRun for N=1)."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    run_ids = start_runs(glue, count)
    glue.reset_counters()
    tasks = watch_with_triggers(run_ids)
    for poll in (1, 2, 3):
        await stepper.until_asleep(poll)
        calls = glue.calls()
        assert calls == calls_per_poll
        assert sum(calls.values()) <= min(count, math.ceil(count / 200) + 1)
        glue.reset_counters()
        stepper.step()
    assert glue.connections() <= 10
    await cancel_all(tasks)


@pytest.mark.asyncio
async def test_runs_beyond_the_page_budget_are_read_with_get_job_run(glue: LocalGlue, stepper: PollStepper) -> None:
    """Watched runs missing from the budgeted pages are read with GetJobRun, then directly on every later poll."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    start_runs(glue, 450)
    first, _, third = server_pages(glue)
    watched = first[:40] + third[:10]  # 10 runs far from the first page, whichever order the server uses
    glue.reset_counters()
    tasks = watch_with_triggers(watched)
    await stepper.until_asleep(1)
    # Page 1 finds 40; page 2 (the one spare page) finds none, so paging stops; 10 GetJobRun.
    assert glue.calls() == {"GetJobRuns": 2, "GetJobRun": 10}
    (job_poller,) = poller.poller_registry().pollers.values()
    assert job_poller.old_runs == set(third[:10])
    for poll in (2, 3):
        glue.reset_counters()
        stepper.step()
        await stepper.until_asleep(poll)
        assert glue.calls() == {"GetJobRuns": 1, "GetJobRun": 10}
    await cancel_all(tasks)


@pytest.mark.asyncio
async def test_a_poll_never_makes_more_calls_than_watched_runs(glue: LocalGlue, stepper: PollStepper) -> None:
    """When a page shows none of the watched runs, the runs read least recently go first and none waits twice."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    start_runs(glue, 450)
    watched = server_pages(glue)[2][:5]
    glue.reset_counters()
    async with watching(watched) as watchers:
        await stepper.until_asleep(1)
        assert glue.calls() == {"GetJobRuns": 1, "GetJobRun": 4}
        unread = [w for w in watchers if w.pending == 0]
        assert len(unread) == 1
        glue.reset_counters()
        stepper.step()
        await stepper.until_asleep(2)
        assert glue.calls() == {"GetJobRun": 5}
        assert unread[0].pending == 1
        (job_poller,) = poller.poller_registry().pollers.values()
        assert [stats.deferred for stats in job_poller.history] == [1, 0]
        assert all(stats.calls <= 5 for stats in job_poller.history)


@pytest.mark.asyncio
async def test_many_runs_beyond_younger_unwatched_runs_are_found_on_the_pages(
    glue: LocalGlue, stepper: PollStepper
) -> None:
    """Fifty watched runs behind two pages of younger unwatched runs (triggers started oldest first) are read from
    the pages, not one by one: a page without watched runs stops the search only when few runs are missing."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    start_runs(glue, 450)
    watched = server_pages(glue)[2]  # the 50 runs of the last page, whichever order the server uses
    glue.reset_counters()
    async with watching(watched) as watchers:
        for poll in (1, 2):
            await stepper.until_asleep(poll)
            assert glue.calls() == {"GetJobRuns": 3}
            (job_poller,) = poller.poller_registry().pollers.values()
            assert job_poller.old_runs == set()
            glue.reset_counters()
            stepper.step()
        assert all(w.pending >= 2 for w in watchers)


@pytest.mark.asyncio
async def test_runs_taken_for_old_come_back_to_the_pages(glue: LocalGlue, stepper: PollStepper) -> None:
    """Runs that first reads took for old (read one by one) are read from the pages again once a full poll's pages
    show them: the poll reads on while its pages keep finding watched runs and enough are missing."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    start_runs(glue, 450)
    first, second, _ = server_pages(glue)
    glue.reset_counters()
    async with watching(second[:8]):
        await stepper.until_asleep(1)
        assert glue.calls() == {"GetJobRuns": 1, "GetJobRun": 7}  # few missing: the search stops at page 1
        async with watching(second[8:16]):
            await stepper.until_asleep(2)
            stepper.step()  # first reads of the 8 that joined
            await stepper.until_asleep(3)
            (job_poller,) = poller.poller_registry().pollers.values()
            assert job_poller.old_runs == set(second[:16])
            async with watching(first[:100]):
                await stepper.until_asleep(4)
                stepper.step()  # first reads of the 100 that joined: one page
                await stepper.until_asleep(5)
                glue.reset_counters()
                stepper.step()  # a full poll: page 1 shows the 100, page 2 the 16 taken for old
                await stepper.until_asleep(6)
                assert glue.calls() == {"GetJobRuns": 2}
                assert job_poller.old_runs == set()
                assert job_poller.last_poll.deferred == 0


@pytest.mark.asyncio
async def test_a_late_watcher_is_read_at_once_then_joins_the_cycle(glue: LocalGlue, stepper: PollStepper) -> None:
    """A watcher that joins later gets a first read of its run alone within FIRST_READ_DELAY, then joins the poll
    cycle; a shorter interval than the cycle's takes effect at once."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    early, late = start_runs(glue, 2)
    glue.reset_counters()
    async with watching([early], poll_interval=60) as (first,):
        await stepper.until_asleep(1)
        async with watching([late], poll_interval=5) as (second,):
            await stepper.until_asleep(2)  # the 60 s sleep was cut short for the late run's first read
            assert stepper.delays[0] <= 60
            assert stepper.delays[1] <= poller.FIRST_READ_DELAY
            assert glue.calls() == {"GetJobRun": 1}
            stepper.step()
            await stepper.until_asleep(3)
            assert glue.calls() == {"GetJobRun": 2}  # the late run alone
            assert (first.pending, second.pending) == (1, 1)
            assert 0 < stepper.delays[2] <= 5  # back to the cycle, at the shorter interval
            stepper.step()
            await stepper.until_asleep(4)
            assert glue.calls() == {"GetJobRun": 2, "GetJobRuns": 1}
            assert (first.pending, second.pending) == (2, 2)
            (job_poller,) = poller.poller_registry().pollers.values()
            assert [(stats.watched, stats.first_reads) for stats in job_poller.history] == [
                (1, False),
                (1, True),
                (2, False),
            ]
    assert poller.poller_registry().pollers == {}


@pytest.mark.asyncio
async def test_triggers_started_one_by_one_get_their_first_reads_in_batches(
    glue: LocalGlue, stepper: PollStepper
) -> None:
    """Triggers started one at a time, as Airflow's triggerer does, are not left for the next poll: those that
    joined after the first poll began are read together in one first-reads poll (one page for 249 runs)."""
    glue.create_job(JOB, max_concurrent_runs=1000)
    run_ids = start_runs(glue, 250)
    glue.reset_counters()
    tasks = watch_with_triggers(run_ids[:1])
    await stepper.until_asleep(1)
    assert glue.calls() == {"GetJobRun": 1}
    for run_id in run_ids[1:]:
        tasks += watch_with_triggers([run_id])
        await asyncio.sleep(0)
    await stepper.until_asleep(2)
    assert stepper.delays[1] <= poller.FIRST_READ_DELAY
    glue.reset_counters()
    stepper.step()
    await stepper.until_asleep(3)
    (job_poller,) = poller.poller_registry().pollers.values()
    assert job_poller.last_poll.first_reads
    assert job_poller.last_poll.watched == 249
    assert glue.calls() == {"GetJobRuns": 2}  # 249 runs: two pages
    assert stepper.delays[2] > poller.FIRST_READ_DELAY  # nothing fresh left: the next sleep is the cycle's
    await cancel_all(tasks)


@pytest.mark.asyncio
async def test_a_denied_get_job_runs_falls_back_to_get_job_run(glue: LocalGlue, stepper: PollStepper) -> None:
    """A policy without glue:GetJobRuns does not fail the waits: the runs are read one by one from then on."""
    glue.create_job(JOB, max_concurrent_runs=10)
    run_ids = start_runs(glue, 3)
    glue.reset_counters()
    glue.inject_fault("GetJobRuns", "AccessDeniedException", times=1)
    async with watching(run_ids) as watchers:
        await stepper.until_asleep(1)
        assert glue.calls() == {"GetJobRuns": 1, "GetJobRun": 2}  # the refused page counts against the budget
        glue.reset_counters()
        stepper.step()
        await stepper.until_asleep(2)
        assert glue.calls() == {"GetJobRun": 3}
        observations = [await w.next() for w in watchers]
    assert all(isinstance(o, RunRead) for o in observations)


@pytest.mark.asyncio
async def test_a_client_that_cannot_be_built_fails_every_watcher(glue: LocalGlue) -> None:
    """A botocore config the client refuses reaches every trigger of the job as its exception."""
    glue.create_job(JOB, max_concurrent_runs=10)
    run_ids = start_runs(glue, 2)
    key = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config={"bogus": 1})
    async with watching(run_ids, key=key) as watchers:
        async with asyncio.timeout(SAFETY):
            observations = [await w.next() for w in watchers]
    assert all(isinstance(o, PollFailed) for o in observations)
    assert all(isinstance(o, PollFailed) and isinstance(o.error, TypeError) for o in observations)
    assert glue.calls() == {"StartJobRun": 2}


@pytest.mark.asyncio
async def test_a_transient_failure_to_build_the_client_costs_a_poll(
    glue: LocalGlue, stepper: PollStepper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If building the client meets a network fault (say STS unreachable), the watchers skip a poll, then go on."""
    glue.create_job(JOB, max_concurrent_runs=10)
    (run_id,) = start_runs(glue, 1)
    real = shared_client._build_client
    attempts: list[ClientKey] = []

    def flaky_build(key: ClientKey) -> Any:
        attempts.append(key)
        if len(attempts) == 1:
            raise EndpointConnectionError(endpoint_url="https://sts.amazonaws.com")
        return real(key)

    monkeypatch.setattr(shared_client, "_build_client", flaky_build)
    async with watching([run_id]) as (watcher,):
        await stepper.until_asleep(1)
        stepper.step()
        async with asyncio.timeout(SAFETY):
            first, second = await watcher.next(), await watcher.next()
    assert isinstance(first, PollSkipped)
    assert "sts.amazonaws.com" in first.reason
    assert isinstance(second, RunRead)
    assert len(attempts) == 2


@pytest.mark.asyncio
async def test_observations_are_shared_facts_not_verdicts(glue: LocalGlue) -> None:
    """The poller hands each watcher the run as read (a fact); judging it is left to the trigger's RunWatch."""
    glue.create_job(JOB, max_concurrent_runs=10)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    async with watching([run_id], poll_interval=0.01) as (watcher,):
        async with asyncio.timeout(SAFETY):
            observation = await watcher.next()
    assert isinstance(observation, RunRead)
    assert observation.run.id == run_id
    assert observation.run.state == "SUCCEEDED"


def _client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetJobRun")


def _translated(code: str, status: int) -> BaseException:
    error = _client_error(code, status)
    try:
        raise translate_client_error(error, job_name=JOB) from error
    except Exception as translated:
        return translated


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_translated("ThrottlingException", 400), ErrorKind.TRANSIENT),
        (_client_error("Throttling", 400), ErrorKind.TRANSIENT),
        (_client_error("AccessDenied", 403), ErrorKind.DENIED),
        (_translated("InternalServiceException", 500), ErrorKind.TRANSIENT),
        (_translated("ServiceUnavailable", 503), ErrorKind.TRANSIENT),
        (_translated("SomethingNew", 502), ErrorKind.TRANSIENT),
        (EndpointConnectionError(endpoint_url="http://x"), ErrorKind.TRANSIENT),
        (_translated("EntityNotFoundException", 400), ErrorKind.GONE),
        (_translated("AccessDeniedException", 400), ErrorKind.DENIED),
        (_translated("InvalidInputException", 400), ErrorKind.UNEXPECTED),
        (SSLError(endpoint_url="https://x", error="bad certificate"), ErrorKind.UNEXPECTED),
        (KeyError("JobRun"), ErrorKind.UNEXPECTED),
    ],
)
def test_errors_are_classified_once_for_trigger_and_sensor(error: BaseException, kind: str) -> None:
    """Transient faults cost a poll, missing or forbidden runs resolve the wait, anything else propagates."""
    assert classify_error(error) == kind
