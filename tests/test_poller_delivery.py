"""How the poller hands its reads to the watchers: a trigger's watcher wakes on state changes, a batch per loop step."""

from __future__ import annotations

import asyncio
import contextlib
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
async def test_a_changes_only_watcher_is_not_woken_while_its_run_keeps_its_state(
    glue: LocalGlue, stepper: PollStepper
) -> None:
    """Over three polls of a RUNNING run (whose ExecutionTime grows), a changes_only watcher takes one read and a
    plain watcher three; the run's end reaches both."""
    glue.create_job(JOB, max_concurrent_runs=10)
    run_id = glue.client().start_job_run(JobName=JOB, Arguments={"--local-glue-duration": "600"})["JobRunId"]
    await asyncio.sleep(0.6)  # past STARTING
    async with watch_run(KEY, JOB, run_id, 60, changes_only=True) as quiet, watch_run(KEY, JOB, run_id, 60) as every:
        for poll in (1, 2, 3):
            await stepper.until_asleep(poll)
            stepper.step()
        await stepper.until_asleep(4)
        assert (quiet.pending, every.pending) == (1, 4)
        glue.set_run_state(JOB, run_id, "SUCCEEDED")
        stepper.step()
        await stepper.until_asleep(5)
        assert (quiet.pending, every.pending) == (2, 5)
        states = [(await quiet.next()).run.state for _ in range(2)]  # type: ignore[union-attr]
    assert states == [JobRunState.RUNNING, JobRunState.SUCCEEDED]


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
    """With changes_only, a read in the state last taken is dropped, unless the run is queued (its queue time grows)
    or something else (a skipped poll) came in between; without it, every read is taken."""

    def read(state: JobRunState, execution_time: int = 0) -> RunRead:
        return RunRead(JobRun(id="jr_1", state=state, execution_time=execution_time))

    reads = [read(JobRunState.RUNNING, seconds) for seconds in (1, 2, 3)]
    skipped = PollSkipped("Rate exceeded")
    watcher = Watcher(KEY, JOB, "jr_1", 60, changes_only=True)
    for observation in (*reads, skipped, *reads, read(JobRunState.WAITING), read(JobRunState.WAITING)):
        watcher.put(observation)
    assert watcher.pending == 5  # running, skipped, running, waiting, waiting
    every_read = Watcher(KEY, JOB, "jr_1", 60)
    for observation in reads:
        every_read.put(observation)
    assert every_read.pending == 3
