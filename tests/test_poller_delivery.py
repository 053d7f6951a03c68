"""How the poller hands its reads to the watchers: unchanged runs as the same object, a batch per loop step."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from support import PollStepper

from airflow_glue_runs._internal.polling import delivery
from airflow_glue_runs._internal.polling.observations import PollSkipped, RunRead, Watcher
from airflow_glue_runs._internal.polling.poller import poller_registry
from airflow_glue_runs._internal.polling.shared_client import ClientKey
from airflow_glue_runs._internal.polling.watch import WatchedRun, watch_run
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.local_glue import LocalGlue

JOB = "delivery-etl"
SAFETY = 60  # seconds; only guards against a hang, never asserted on
KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)


@contextlib.asynccontextmanager
async def watching(run_ids: list[str]) -> AsyncIterator[list[Watcher]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(watch_run(KEY, JOB, run_id, 60)) for run_id in run_ids]


class LoopSteps:
    """Count the steps of the running loop: a callback that schedules itself runs once per step."""

    def __init__(self) -> None:
        self.step = 0
        self._handle: asyncio.Handle | None = None

    def _tick(self) -> None:
        self.step += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def __enter__(self) -> LoopSteps:
        self._handle = asyncio.get_running_loop().call_soon(self._tick)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.cancel()


@pytest.mark.asyncio
async def test_an_unchanged_run_is_delivered_as_the_same_observation(glue: LocalGlue, stepper: PollStepper) -> None:
    """A run that did not change between two polls reaches its watcher as the very same RunRead object (nothing new
    is kept by the trigger until the next poll); a run that changed gets a new one."""
    glue.create_job(JOB, max_concurrent_runs=10)
    client = glue.client()
    run_ids = [client.start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})["JobRunId"] for _ in "ab"]
    async with watching(run_ids) as watchers:
        async with asyncio.timeout(SAFETY):
            first = [await watcher.next() for watcher in watchers]
            await stepper.until_asleep(1)
            stepper.step()
            await stepper.until_asleep(2)
            second = [await watcher.next() for watcher in watchers]
    assert all(isinstance(read, RunRead) for read in first)
    assert [a is b for a, b in zip(first, second, strict=True)] == [True, True]


def test_last_reads_give_a_new_observation_only_when_the_run_changed() -> None:
    """An equal read (a new object) gets the previous RunRead back; a read with another state gets a new one."""
    reads = delivery.LastReads()
    running = JobRun(id="jr_1", job_name=JOB, state=JobRunState.RUNNING, arguments={"--a": "b"})
    read = reads.of(running)
    assert reads.of(dataclasses.replace(running, arguments={"--a": "b"})) is read
    ended = reads.of(dataclasses.replace(running, state=JobRunState.SUCCEEDED))
    assert ended is not read
    assert ended.run.state is JobRunState.SUCCEEDED
    reads.forget("jr_1")
    assert len(reads) == 0


@pytest.mark.asyncio
async def test_concurrent_deliveries_take_turns_one_batch_per_loop_step() -> None:
    """Two pollers delivering at once hand out at most DELIVERY_BATCH runs per loop step between them, in turns,
    and every run is delivered exactly once."""
    delivered: list[tuple[str, int]] = []
    with LoopSteps() as steps:

        async def poll(name: str, count: int) -> None:
            await delivery.deliver_in_turns(
                [f"{name}-{i}" for i in range(count)], lambda item: delivered.append((item, steps.step))
            )

        await asyncio.gather(poll("a", 45), poll("b", 30))
    per_step = Counter(step for _, step in delivered)
    assert max(per_step.values()) <= delivery.DELIVERY_BATCH
    assert sorted(item for item, _ in delivered) == sorted(
        [f"a-{i}" for i in range(45)] + [f"b-{i}" for i in range(30)]
    )
    batches = [item[0] for item, _ in delivered][:: delivery.DELIVERY_BATCH]
    assert batches == list("abababaa")  # 5 batches of a's 45 runs, 3 of b's 30, in turns


@pytest.mark.asyncio
async def test_watch_run_is_a_plain_context_manager(glue: LocalGlue, stepper: PollStepper) -> None:
    """watch_run subscribes on entry and unsubscribes on exit without a generator kept per waiting trigger."""
    glue.create_job(JOB, max_concurrent_runs=10)
    run_id = glue.client().start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})["JobRunId"]
    watched = watch_run(KEY, JOB, run_id, 60)
    assert isinstance(watched, WatchedRun)
    async with watched as watcher:
        (job_poller,) = poller_registry().pollers.values()
        assert job_poller.watchers == {run_id: [watcher]}
        assert watcher.key is job_poller.key
    assert poller_registry().pollers == {}


def test_a_changes_only_watcher_takes_a_run_again_only_when_it_matters() -> None:
    """With changes_only, the same RunRead put again is dropped, unless the run is queued (its queue time grows) or
    something else (a skipped poll) came in between; without it, every read is taken."""
    reads = delivery.LastReads()
    running = reads.of(JobRun(id="jr_1", state=JobRunState.RUNNING))
    queued = RunRead(JobRun(id="jr_1", state=JobRunState.WAITING))
    skipped = PollSkipped("Rate exceeded")
    watcher = Watcher(KEY, JOB, "jr_1", 60, changes_only=True)
    for observation in (running, running, running, skipped, running, running, queued, queued):
        watcher.put(observation)
    assert watcher.pending == 5  # running, skipped, running, queued, queued
    every_read = Watcher(KEY, JOB, "jr_1", 60)
    for observation in (running, running, running):
        every_read.put(observation)
    assert every_read.pending == 3
