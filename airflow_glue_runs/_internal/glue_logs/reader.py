"""The triggerer's log reader: one per shared client key and event loop, reading the lines of every follower.

Triggers that forward logs subscribe a :class:`~airflow_glue_runs._internal.glue_logs.follower.LogFollower`
(:func:`follow_logs`). This module holds the reader's life: its task, its cycle (the smallest poll interval of
its followers), which runs each cycle reads, and the registry of readers. What one cycle's reads are, and how
they are batched, paged, rate-limited and backed off, is in :mod:`~airflow_glue_runs._internal.glue_logs.batched_reads`.

Per cycle the reader reads:

- the driver streams of all followed runs, batched per log group;
- executor streams (``forward_logs="all"``) every
  :data:`~airflow_glue_runs._internal.glue_logs.forwarding.EXECUTOR_EVERY` cycles;
- the final reads that finished runs asked for (:meth:`LogFollower.final_flush`), batched the same way, up to now.

Regular windows end :data:`~airflow_glue_runs._internal.glue_logs.forwarding.INGEST_LAG` before now. A token
bucket caps the reader's calls (:data:`DEFAULT_CALLS_PER_SECOND`, setting ``[glue_runs] log_calls_per_second``,
i.e. ``AIRFLOW__GLUE_RUNS__LOG_CALLS_PER_SECOND``).

The reader runs in a fresh ``contextvars.Context`` (off every task's log routing) and never logs a line of a run:
it hands lines and warnings to each follower, and the trigger logs them, so they land in that task's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs.batched_reads import BatchedReads, CycleStats
from airflow_glue_runs._internal.glue_logs.client import TokenBucket, build_logs_client
from airflow_glue_runs._internal.glue_logs.follower import LogFollower
from airflow_glue_runs._internal.glue_logs.forwarding import RunLogs
from airflow_glue_runs._internal.polling.job_defaults import job_defaults_cache
from airflow_glue_runs._internal.polling.per_loop import PerLoop
from airflow_glue_runs._internal.polling.shared_client import ClientKey, off_loop
from airflow_glue_runs._internal.run.secrets import describe_error

__all__ = ["DEFAULT_CALLS_PER_SECOND", "LogFollower", "LogReader", "follow_logs", "log_readers"]

log = logging.getLogger(__name__)

DEFAULT_CALLS_PER_SECOND = 2.0
"""The reader's default cap on CloudWatch Logs calls per connection and region (FilterLogEvents' lowest
regional quota is 5 per second, account-wide and shared with every other user)."""

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The reader's sleep between cycles; tests replace it to step cycles one at a time."""


def _calls_per_second() -> float:
    try:  # TODO-compat: airflow.sdk.configuration exists from Airflow 3.1
        from airflow.sdk.configuration import conf
    except ImportError:
        from airflow.configuration import conf
    return float(conf.getfloat("glue_runs", "log_calls_per_second", fallback=DEFAULT_CALLS_PER_SECOND))


class LogReader:
    """Read the lines of every follower of one client key through one CloudWatch Logs client.

    :param key: the shared client key (connection, region...).
    :param rate: calls per second at most.
    """

    def __init__(self, key: ClientKey, rate: float) -> None:
        self.key = key
        self.reads = BatchedReads(TokenBucket(rate), key.region_name)
        self.followers: list[LogFollower] = []
        self.history: list[CycleStats] = []
        self.cycles = 0
        self._wake = asyncio.Event()
        self._regular_due = 0.0
        """Loop time of the next regular read; a cycle woken earlier for final reads does only those."""
        self.task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        """Return the smallest poll interval among the followers."""
        return min((f.poll_interval for f in self.followers), default=0.0)

    def add(self, follower: LogFollower) -> None:
        """Subscribe ``follower``; start reading if it is the first."""
        follower.wake_reader = self.wake
        self.followers.append(follower)
        if self.task is None or self.task.done():
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self._run(), name="glue-log-reader", context=contextvars.Context())

    def remove(self, follower: LogFollower) -> bool:
        """Unsubscribe ``follower``; return whether none is left."""
        if follower in self.followers:
            self.followers.remove(follower)
        follower.wake_reader = None
        return not self.followers

    def wake(self) -> None:
        """Start the next cycle now (a final read was asked for)."""
        self._wake.set()

    async def _run(self) -> None:
        try:
            client = await off_loop(build_logs_client, self.key)
        except Exception as error:
            for follower in self.followers:
                follower.logs.disabled = True
                text = follower.logs.redact(str(error))
                follower.notes.append(
                    (logging.WARNING, f"Not forwarding Glue logs: no CloudWatch Logs client ({text})")
                )
                follower.end_flush()
            return
        self.reads.client = client
        try:
            while self.followers:
                await self.cycle()
                await self._wait()
        finally:
            await client.__aexit__(None, None, None)

    async def _wait(self) -> None:
        self._wake.clear()
        if not self.reads.skip and any(f.flush_pending for f in self.followers):
            return  # a final read is due now (unless backing off: skipped cycles take their time)
        delay = max(0.0, self._regular_due - asyncio.get_running_loop().time())
        sleeper = asyncio.ensure_future(_sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def cycle(self) -> CycleStats:
        """Read once: driver streams batched by group, executors when due, final reads asked for."""
        self.cycles += 1
        reads = self.reads
        reads.cycle = self.cycles
        stats = CycleStats()
        try:
            await self._locate()
            flushing = [f for f in self.followers if f.flush_pending]
            now = asyncio.get_running_loop().time()
            regular = now >= self._regular_due or not flushing
            if regular:
                self._regular_due = now + self.interval
            if reads.skip:
                reads.skip -= 1
                stats.skipped = True
                return stats
            flushed = set(flushing)
            active = [f for f in self.followers if regular and f.logs.ready and f not in flushed]
            end = int((time.time() - log_forwarding.INGEST_LAG) * 1000)
            if await reads.read_drivers(active, end, stats, "driver_calls"):
                await reads.read_executors([f for f in active if f.logs.executors_due()], end, stats)
            if flushing and not reads.skip:
                ready = [f for f in flushing if f.logs.ready]
                if await reads.read_drivers(ready, None, stats, "flush_calls"):
                    await reads.read_executors([f for f in ready if f.logs.mode == "all"], None, stats, flush=True)
                for follower in flushing:
                    follower.lines += follower.logs.drain()
            if not reads.skip:
                for follower in flushing:
                    follower.end_flush()
            for follower in active:
                follower.logs.reads += 1
        finally:
            self.history.append(stats)
            del self.history[:-100]
        return stats

    async def _locate(self) -> None:
        """Find the streams of followers whose run was read (job defaults: one GetJob per job and loop, shared)."""
        waiting = [f for f in self.followers if f.logs.location is None and f.run is not None and not f.logs.disabled]
        defaults: dict[str, Mapping[str, str]] = {}
        for job_name in {f.logs.job_name for f in waiting}:
            read = await job_defaults_cache().get(self.key, job_name)
            defaults[job_name] = read.arguments or {}
            if read.error is not None:  # the run's own arguments still locate its logs
                message = f"Could not read job {job_name}'s DefaultArguments: {describe_error(read.error)}"
                for follower in waiting:
                    if follower.logs.job_name == job_name:
                        follower.logs.notes.append((logging.WARNING, message))  # masked when the trigger takes it
        for follower in waiting:
            assert follower.run is not None
            follower.logs.locate(follower.run, defaults[follower.logs.job_name])


class LogReaderRegistry:
    """The log readers of one event loop, one per client key."""

    def __init__(self) -> None:
        self.readers: dict[ClientKey, LogReader] = {}

    async def subscribe(self, key: ClientKey, follower: LogFollower) -> None:
        reader = self.readers.get(key)
        if reader is None:
            reader = self.readers[key] = LogReader(key, _calls_per_second())
        reader.add(follower)

    async def unsubscribe(self, key: ClientKey, follower: LogFollower) -> None:
        reader = self.readers.get(key)
        if reader is None or not reader.remove(follower):
            return
        del self.readers[key]
        if reader.task is not None and not reader.task.done():
            reader.task.cancel()
            await asyncio.wait([reader.task])


_registries: PerLoop[LogReaderRegistry] = PerLoop(LogReaderRegistry)


def log_readers() -> LogReaderRegistry:
    """Return the log reader registry of the running event loop."""
    return _registries.get()


@contextlib.asynccontextmanager
async def follow_logs(key: ClientKey, logs: RunLogs, poll_interval: float) -> AsyncIterator[LogFollower]:
    """Follow one run's lines through the shared reader of ``key`` for the block."""
    follower = LogFollower(logs, poll_interval)
    registry = log_readers()
    await registry.subscribe(key, follower)
    try:
        yield follower
    finally:
        await registry.unsubscribe(key, follower)
