"""The triggerer's log reader: one per shared client key, reading the Glue lines of every following trigger.

Triggers that forward logs subscribe a :class:`LogFollower` (:func:`follow_logs`). The reader reads, per cycle
(the smallest poll interval of its followers):

- the driver streams of all followed runs in one log group together: FilterLogEvents with ``logStreamNames``
  (at most :data:`MAX_STREAMS_PER_CALL`), ``startTime`` the oldest position among them (inclusive; the edge is
  de-duplicated by event id), ``endTime`` :data:`~airflow_glue_runs._internal.glue_logs.forwarding.INGEST_LAG` before
  now,
  following ``nextToken`` to the end of that window. N runs in G groups cost ``G x ceil(N/100)`` calls plus
  pagination per cycle.
- executor streams (``forward_logs="all"``) by ``logStreamNamePrefix``, run by run, every
  :data:`~airflow_glue_runs._internal.glue_logs.forwarding.EXECUTOR_EVERY` cycles.
- the final reads that finished runs asked for (:meth:`LogFollower.final_flush`), batched the same way, up to now.

A token bucket caps the reader's calls (:data:`DEFAULT_CALLS_PER_SECOND`, setting
``[glue_runs] log_calls_per_second``, i.e. ``AIRFLOW__GLUE_RUNS__LOG_CALLS_PER_SECOND``). Throttling backs the
whole reader off: the rest of the cycle and the next cycles (1, 2, 4, up to 8) are skipped.

The reader runs in a fresh ``contextvars.Context`` (off every task's log routing) and never logs a line of a run:
it hands lines and warnings to each follower, and the trigger logs them, so they land in that task's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs.client import TokenBucket, build_logs_client
from airflow_glue_runs._internal.glue_logs.forwarding import RunLogs, filter_request, is_backoff_error
from airflow_glue_runs._internal.polling.shared_client import ClientKey, lease_client, off_loop
from airflow_glue_runs.job_run import JobRun

__all__ = ["DEFAULT_CALLS_PER_SECOND", "MAX_STREAMS_PER_CALL", "LogFollower", "LogReader", "follow_logs", "log_readers"]

log = logging.getLogger(__name__)

DEFAULT_CALLS_PER_SECOND = 2.0
"""The reader's default cap on CloudWatch Logs calls per connection and region (FilterLogEvents' lowest
regional quota is 5 per second, account-wide and shared with every other user)."""
MAX_STREAMS_PER_CALL = 100
"""FilterLogEvents takes at most 100 ``logStreamNames``."""
FINAL_FLUSH_TIMEOUT = 30.0
"""Seconds a finished run's final read may wait for the reader (rate limit, back-off) before it is given up."""
_MAX_BACKOFF_CYCLES = 8
PREFIX_MODE_CYCLES = 10
"""Cycles a group is read by stream name prefix after AWS refused a read by stream names."""

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The reader's sleep between cycles; tests replace it to step cycles one at a time."""


def _calls_per_second() -> float:
    try:  # TODO-compat: airflow.sdk.configuration exists from Airflow 3.1
        from airflow.sdk.configuration import conf
    except ImportError:
        from airflow.configuration import conf
    return float(conf.getfloat("glue_runs", "log_calls_per_second", fallback=DEFAULT_CALLS_PER_SECOND))


class LogFollower:
    """One trigger's subscription to its run's lines: the reader fills it, the trigger empties it.

    :param logs: the run's forwarding state.
    :param poll_interval: the trigger's poll interval (the reader reads at the smallest).
    """

    def __init__(self, logs: RunLogs, poll_interval: float) -> None:
        self.logs = logs
        self.poll_interval = poll_interval
        self.run: JobRun | None = None
        self.lines: list[str] = []
        self.notes: list[tuple[int, str]] = []
        self.flush: asyncio.Future[None] | None = None
        self._reader: LogReader | None = None

    def see(self, run: JobRun) -> None:
        """Tell the reader the run as last read (its LogGroupName, Arguments and StartedOn locate the logs)."""
        self.run = run

    def take(self) -> tuple[list[tuple[int, str]], list[str]]:
        """Return and forget the warnings and lines that wait for the trigger."""
        notes, lines = self.notes, self.lines
        self.notes, self.lines = [], []
        return notes, lines

    async def final_flush(self, run: JobRun) -> None:
        """Wait (bounded) for the lines Glue ingests after the run ended, then have the reader read up to now."""
        self.run = run
        if self._reader is None or self.logs.disabled:
            return
        completed = run.completed_on.timestamp() if run.completed_on is not None else time.time()
        grace = log_forwarding.FINAL_FLUSH_GRACE
        delay = min(grace, max(0.0, completed + grace - time.time()))
        if delay > 0:
            await asyncio.sleep(delay)
        self.flush = asyncio.get_running_loop().create_future()
        self._reader.wake()
        try:
            async with asyncio.timeout(FINAL_FLUSH_TIMEOUT):
                await asyncio.shield(self.flush)
        except TimeoutError:
            self.notes.append((logging.WARNING, "Glue's last log lines were not read in time; see CloudWatch."))


@dataclasses.dataclass
class CycleStats:
    """What one reader cycle did (for tests and benchmarks)."""

    calls: int = 0
    driver_calls: int = 0
    executor_calls: int = 0
    flush_calls: int = 0
    skipped: bool = False


class LogReader:
    """Read the lines of every follower of one client key through one CloudWatch Logs client.

    :param key: the shared client key (connection, region...).
    :param rate: calls per second at most.
    """

    def __init__(self, key: ClientKey, rate: float) -> None:
        self.key = key
        self.bucket = TokenBucket(rate)
        self.followers: list[LogFollower] = []
        self.history: list[CycleStats] = []
        self.cycles = 0
        self.client: Any = None
        self._defaults: dict[str, dict[str, str]] = {}
        self._backoff = 0
        self._skip = 0
        self._prefix_groups: dict[str, int] = {}
        """Groups read by stream name prefix until this cycle, because a read by names was refused."""
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
        follower._reader = self
        self.followers.append(follower)
        if self.task is None or self.task.done():
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self._run(), name="glue-log-reader", context=contextvars.Context())

    def remove(self, follower: LogFollower) -> bool:
        """Unsubscribe ``follower``; return whether none is left."""
        if follower in self.followers:
            self.followers.remove(follower)
        follower._reader = None
        return not self.followers

    def wake(self) -> None:
        """Start the next cycle now (a final read was asked for)."""
        self._wake.set()

    async def _run(self) -> None:
        try:
            self.client = await off_loop(build_logs_client, self.key)
        except Exception as error:
            for follower in self.followers:
                follower.logs.disabled = True
                follower.notes.append(
                    (logging.WARNING, f"Not forwarding Glue logs: no CloudWatch Logs client ({error})")
                )
                if follower.flush is not None and not follower.flush.done():
                    follower.flush.set_result(None)
            return
        try:
            while self.followers:
                await self.cycle()
                await self._wait()
        finally:
            await self.client.__aexit__(None, None, None)

    async def _wait(self) -> None:
        self._wake.clear()
        if not self._skip and any(f.flush is not None and not f.flush.done() for f in self.followers):
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
        stats = CycleStats()
        try:
            await self._locate()
            flushing = [f for f in self.followers if f.flush is not None and not f.flush.done()]
            now = asyncio.get_running_loop().time()
            regular = now >= self._regular_due or not flushing
            if regular:
                self._regular_due = now + self.interval
            if self._skip:
                self._skip -= 1
                stats.skipped = True
                return stats
            flushed = set(flushing)
            active = [f for f in self.followers if regular and f.logs.ready and f not in flushed]
            end = int((time.time() - log_forwarding.INGEST_LAG) * 1000)
            if await self._read_drivers(active, end, stats, "driver_calls"):
                await self._read_executors([f for f in active if f.logs.executors_due()], end, stats)
            if flushing and not self._skip:
                ready = [f for f in flushing if f.logs.ready]
                if await self._read_drivers(ready, None, stats, "flush_calls"):
                    await self._read_executors([f for f in ready if f.logs.mode == "all"], None, stats, flush=True)
                for follower in flushing:
                    follower.lines += follower.logs.drain()
            for follower in flushing:
                if not self._skip and follower.flush is not None and not follower.flush.done():
                    follower.flush.set_result(None)
            for follower in active:
                follower.logs.reads += 1
        finally:
            self.history.append(stats)
            del self.history[:-100]
        return stats

    async def _locate(self) -> None:
        """Find the streams of followers whose run was read (one GetJob per job, cached)."""
        waiting = [f for f in self.followers if f.logs.location is None and f.run is not None and not f.logs.disabled]
        for job_name in {f.logs.job_name for f in waiting} - self._defaults.keys():
            try:
                async with lease_client(self.key) as shared:
                    self._defaults[job_name] = await shared.hook.aget_job_default_arguments(
                        job_name, client=shared.client
                    )
            except Exception as error:  # the run's own arguments still locate its logs
                self._defaults[job_name] = {}
                for follower in waiting:
                    if follower.logs.job_name == job_name:
                        follower.notes.append(
                            (logging.WARNING, f"Could not read job {job_name}'s DefaultArguments: {error}")
                        )
        for follower in waiting:
            assert follower.run is not None
            follower.logs.locate(follower.run, self._defaults.get(follower.logs.job_name))

    async def _read_drivers(self, followers: list[LogFollower], end: int | None, stats: CycleStats, kind: str) -> bool:
        """Read the driver streams of ``followers``, 100 to a call per group; return False when throttled."""
        by_group: dict[str, dict[str, LogFollower]] = {}
        for follower in followers:
            for group, stream in follower.logs.driver_keys():
                by_group.setdefault(group, {})[stream] = follower
        for group in sorted(by_group):
            streams = by_group[group]
            names = sorted(streams)
            for i in range(0, len(names), MAX_STREAMS_PER_CALL):
                by_prefix = self._prefix_groups.get(group, 0) >= self.cycles
                chunk = names[i:] if by_prefix else names[i : i + MAX_STREAMS_PER_CALL]
                events = await self._read_streams(group, chunk, streams, end, stats, kind, by_prefix=by_prefix)
                if events is None and not by_prefix and self._prefix_groups.get(group, 0) >= self.cycles:
                    by_prefix, chunk = True, names[i:]  # the names were refused: one prefix read for the rest
                    events = await self._read_streams(group, chunk, streams, end, stats, kind, by_prefix=True)
                if events is None:
                    if self._skip:
                        return False
                    continue
                per_stream: dict[str, list[dict[str, Any]]] = {}
                for event in events:
                    per_stream.setdefault(event.get("logStreamName", ""), []).append(event)
                for name in chunk:
                    streams[name].lines += streams[name].logs.take(group, per_stream.get(name, ()))
                if by_prefix:
                    break
        return True

    async def _read_streams(
        self,
        group: str,
        names: list[str],
        streams: dict[str, LogFollower],
        end: int | None,
        stats: CycleStats,
        kind: str,
        *,
        by_prefix: bool,
    ) -> list[dict[str, Any]] | None:
        """Read some driver streams of one group, by their names or by their common prefix (other runs' skipped)."""
        start = min(streams[name].logs.window_start(group, name) for name in names)
        if by_prefix:
            request = filter_request(group, start, end, prefix=_common_prefix(names))
        else:
            request = filter_request(group, start, end, names=names)
        return await self._read(request, [streams[name] for name in names], group, stats, kind, by_names=not by_prefix)

    async def _read_executors(
        self, followers: list[LogFollower], end: int | None, stats: CycleStats, *, flush: bool = False
    ) -> None:
        for follower in followers:
            assert follower.logs.location is not None
            for group, prefix in follower.logs.location.executors:
                if not follower.logs.ready:
                    break
                request = filter_request(group, follower.logs.window_start(group, "", prefix), end, prefix=prefix)
                events = await self._read(
                    request, [follower], group, stats, "flush_calls" if flush else "executor_calls"
                )
                if events is None and self._skip:
                    return
                if events is not None:
                    follower.lines += follower.logs.take(group, events, prefix_read=True)

    async def _read(
        self,
        request: dict[str, Any],
        followers: list[LogFollower],
        group: str,
        stats: CycleStats,
        kind: str,
        *,
        by_names: bool = False,
    ) -> list[dict[str, Any]] | None:
        """Read one window to its end (all pages); on an error, judge it for each follower and return None.

        AWS is reported to refuse ``logStreamNames`` naming a stream that does not exist yet (moto skips it):
        such a refusal of a read by names switches the group to prefix reads for :data:`PREFIX_MODE_CYCLES`.
        """
        events: list[dict[str, Any]] = []
        token: str | None = None
        try:
            while True:
                await self.bucket.take()
                stats.calls += 1
                setattr(stats, kind, getattr(stats, kind) + 1)
                page = await self.client.filter_log_events(**request, **({"nextToken": token} if token else {}))
                events += page.get("events", ())
                token = page.get("nextToken")
                if not token:
                    break
        except Exception as error:
            if by_names and len(request.get("logStreamNames", ())) > 1 and _not_found(error):
                self._prefix_groups[group] = self.cycles + PREFIX_MODE_CYCLES
                return None
            region = self.key.region_name or getattr(self.client.meta, "region_name", None)
            for follower in followers:
                if (verdict := follower.logs.failed(error, group, region)) is not None:
                    follower.notes.append(verdict)
                follower.logs.skip = 0  # the reader backs off as a whole
            if is_backoff_error(error):
                self._backoff = min(_MAX_BACKOFF_CYCLES, max(1, self._backoff * 2))
                self._skip = self._backoff
            return None
        self._backoff = 0
        for follower in followers:
            follower.logs.succeeded()
        return events


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:size]


def _not_found(error: BaseException) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ResourceNotFoundException"


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


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LogReaderRegistry] = weakref.WeakKeyDictionary()


def log_readers() -> LogReaderRegistry:
    """Return the log reader registry of the running event loop."""
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = LogReaderRegistry()
    return registry


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
