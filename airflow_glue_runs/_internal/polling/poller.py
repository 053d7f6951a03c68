"""The batched poller: one asyncio task per (client, job) reads every watched run of that job together.

Triggers do not call Glue themselves. Each one subscribes a :class:`Watcher` for its run
(:func:`~airflow_glue_runs._internal.polling.watch.watch_run`) and receives :data:`Observation` values: the run as
read, or what went wrong. Within one poll the poller reads the
job's watched runs with GetJobRuns pages (200 runs a page) and reads with GetJobRun only the runs that the pages
did not show; it remembers those "old" runs and reads them directly from then on. A poll never makes more calls
than there are watched runs: when pages did not pay for themselves, the runs read least recently are read first
and the others wait for the next poll.

For N watched runs of one job the calls per poll are ``ceil(N/200)`` pages (at most one more when unwatched runs
are interleaved) when the runs are among the job's most recent, and never more than N. A page that shows none of the
watched runs ends the search only when few are missing (:data:`SEARCH_RATIO`): runs that joined together may lie
behind younger runs nobody watches yet (triggers started oldest first). Runs taken for old come back to the pages
when a poll's pages show them. The order of GetJobRuns results is not relied on (AWS documents newest first; moto
returns oldest first). Only the watched runs of a page are parsed, the poller yields to the event loop between
pages, and it hands the runs to their watchers a batch per step of the loop, taking turns with the other pollers
(:mod:`~airflow_glue_runs._internal.polling.delivery`), so a poll in which hundreds of runs end does not resolve
them all in one step of the loop.

A run whose watcher joins a running poller is not left waiting for the next poll: within :data:`FIRST_READ_DELAY`
the poller reads the runs that joined since its last poll, and only those, the same way (pages for several, GetJobRun
for one). Airflow's triggerer starts triggers one by one, so a thousand triggers arriving together (a mapped task, a
triggerer restart) get their first reads in a few such batches instead of one poll interval later. Glue's events
(:meth:`JobPoller.hint`) and reads asked for a time take the same path (:mod:`.schedule`).

The poller delivers facts; each trigger applies its own :class:`~airflow_glue_runs._internal.run.waiting.RunWatch`
policy. The poller serves many tasks and knows none of their secrets, so its own log lines name an error by its AWS
code or type only: an AWS error text may quote job arguments. The text goes to the watchers, and each trigger masks
it with its task's secret values before it logs it, raises it or puts it in its event.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable

from airflow_glue_runs._internal.polling.delivery import deliver_in_turns
from airflow_glue_runs._internal.polling.observations import (
    Observation,
    PollSkipped,
    RunDenied,
    RunRead,
    Watcher,
    observation_for,
)
from airflow_glue_runs._internal.polling.per_loop import PerLoop
from airflow_glue_runs._internal.polling.schedule import FIRST_READ_DELAY, ReadSchedule, Wakeup
from airflow_glue_runs._internal.polling.shared_client import ClientKey, SharedClient, lease_client
from airflow_glue_runs._internal.run.secrets import error_code
from airflow_glue_runs._internal.start.request import MAX_PAGE_SIZE
from airflow_glue_runs.job_run import JobRun

__all__ = ["FIRST_READ_DELAY", "JobPoller", "PollStats", "PollerRegistry", "poller_registry"]

log = logging.getLogger(__name__)

# -- the per-job poller ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class PollStats:
    """What one poll of one job did (kept for tests and benchmarks)."""

    watched: int = 0
    pages: int = 0
    run_reads: int = 0
    deferred: int = 0
    skipped: bool = False
    first_reads: bool = False
    """Whether this poll read only the runs that joined since the previous poll."""

    @property
    def calls(self) -> int:
        """Return the Glue API calls this poll made."""
        return self.pages + self.run_reads


_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The poller's sleep between polls; tests replace it to step polls one at a time."""

SEARCH_RATIO = 10
"""Pages go on past a page without watched runs while more than this many runs per page read are missing."""


class JobPoller:
    """Poll every watched run of one job through one shared client, at the smallest interval its watchers ask.

    :param key: the shared client's key.
    :param job_name: the job.
    """

    def __init__(self, key: ClientKey, job_name: str) -> None:
        self.key = key
        self.job_name = job_name
        self.watchers: dict[str, list[Watcher]] = {}
        self.old_runs: set[str] = set()
        """Watched runs that the recent pages did not show; read with GetJobRun."""
        self.polls = 0
        self.last_poll = PollStats()
        self.history: list[PollStats] = []
        """Stats of the most recent polls (bounded), newest last."""
        self._last_read: dict[str, int] = {}
        self.pages_denied = False
        """Whether GetJobRuns was refused (AccessDenied); then every run is read with GetJobRun."""
        self.schedule = ReadSchedule()
        """The poll interval, and the runs due a read before the next poll."""
        self.task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        """Return the smallest poll interval among the watchers."""
        return self.schedule.interval

    def add(self, watcher: Watcher) -> None:
        """Subscribe ``watcher``; start polling if this is the first, else read its run soon (first reads)."""
        loop = asyncio.get_running_loop()
        self.watchers.setdefault(watcher.run_id, []).append(watcher)
        self.schedule.count(watcher)
        if self.task is None or self.task.done():
            self.task = loop.create_task(
                self._run(), name=f"glue-poller-{self.job_name}", context=contextvars.Context()
            )
            return
        self.schedule.read_soon(watcher.run_id, loop.time())

    def hint(self, run_id: str) -> bool:
        """Read ``run_id`` within FIRST_READ_DELAY, with the runs due then, if it is watched; return whether.

        A hint (Glue's event says the run changed) is no fact: the run is read and judged as on any poll.
        """
        if run_id not in self.watchers:
            return False
        self.schedule.read_soon(run_id, asyncio.get_running_loop().time())
        return True

    def remove(self, watcher: Watcher) -> bool:
        """Unsubscribe ``watcher``; return whether the poller has no watcher left."""
        watchers = self.watchers.get(watcher.run_id, [])
        if watcher in watchers:
            watchers.remove(watcher)
            self.schedule.uncount(watcher)
            if not watchers:
                del self.watchers[watcher.run_id]
                self.schedule.forget(watcher.run_id)
                self.old_runs.discard(watcher.run_id)
                self._last_read.pop(watcher.run_id, None)
        return not self.watchers

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watchers:
            started = loop.time()
            try:
                async with lease_client(self.key) as shared:
                    while self.watchers:
                        started = loop.time()
                        await self.poll(shared)
                        while await self._wait_for_next_poll(started, first_reads=True):
                            await self.poll(shared, only=list(self.schedule.fresh))
                return
            except Exception as error:
                # Calls in a poll are handled there: this is the client build (connection, STS) or a bug.
                observation = observation_for(error)
                await self._deliver_each(list(self.watchers), observation)
                if not isinstance(observation, PollSkipped):
                    # The traceback goes to each watching trigger, which raises the error (masked) in its task log.
                    log.error("Glue poller for job %s failed (%s)", self.job_name, error_code(error))
                    return
                log.warning(
                    "Could not build the Glue client for job %s; retrying: %s", self.job_name, error_code(error)
                )
            await self._wait_for_next_poll(started)

    async def _wait_for_next_poll(self, started: float, *, first_reads: bool = False) -> bool:
        """Sleep until one interval after ``started``; return True instead when runs are due an early read.

        The sleep is recomputed when it may have become shorter (:attr:`ReadSchedule.wake`).
        """
        loop = asyncio.get_running_loop()
        schedule = self.schedule
        while self.watchers:
            schedule.wake.clear()
            delay, wakeup = schedule.next_delay(started, loop.time(), early_reads=first_reads)
            sleeper = asyncio.ensure_future(_sleep(delay))
            waker = asyncio.ensure_future(schedule.wake.wait())
            try:
                done, _ = await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            if sleeper in done and wakeup is Wakeup.POLL:
                return False
            if sleeper in done and wakeup is Wakeup.EARLY_READS and schedule.fresh:
                return True
            # else woken, a read asked for a time is due, or the early reads were unwatched: recompute the sleep
        return False

    async def poll(self, shared: SharedClient, only: list[str] | None = None) -> PollStats:
        """Read every watched run (or those of ``only``) once and deliver what was seen; return what the poll did."""
        self.polls += 1
        targets = set(self.watchers) if only is None else set(only) & self.watchers.keys()
        self.schedule.read(targets)
        stats = PollStats(watched=len(targets), first_reads=only is not None)
        budget = len(targets)  # never more calls than the naive one GetJobRun per run
        recent = targets - self.old_runs
        old = targets & self.old_runs
        # For a single run a page costs as much as GetJobRun and may not show it.
        paged = len(recent) >= 2 and not self.pages_denied
        if paged:
            try:
                found = await self._read_pages(shared, recent, old, stats)
            except Exception as error:
                observation = observation_for(error)
                if not isinstance(observation, RunDenied):
                    if isinstance(observation, PollSkipped):
                        log.warning("Skipping this poll of job %s: %s", self.job_name, error_code(error))
                        stats.skipped = True
                    await self._deliver_each(list(targets), observation)
                    self._record(stats)
                    return stats
                # An IAM policy may grant glue:GetJobRun without glue:GetJobRuns: read run by run from now on.
                log.warning(
                    "Reading the runs of job %s one by one: GetJobRuns is denied (%s)", self.job_name, error_code(error)
                )
                self.pages_denied = True
                paged = False
            else:
                self.old_runs = (self.old_runs | recent) - found.keys()
                await self._deliver_runs(found)
        direct = sorted(
            (run_id for run_id in targets if run_id in self.old_runs or not paged),
            key=lambda run_id: self._last_read.get(run_id, -1),
        )
        allowed = max(0, budget - stats.pages)
        stats.deferred = max(0, len(direct) - allowed)
        await self._read_runs(shared, direct[:allowed], stats)
        self._record(stats)
        return stats

    async def _read_pages(
        self, shared: SharedClient, recent: set[str], old: set[str], stats: PollStats
    ) -> dict[str, JobRun]:
        """Read GetJobRuns pages until every run of ``recent`` is found or the pages stop paying.

        Runs of ``old`` that the pages show are taken from them too (no GetJobRun for those); pages are read on for
        them only while each page still shows watched runs and enough of them are missing (:data:`SEARCH_RATIO`).
        """
        max_pages = math.ceil(len(recent) / MAX_PAGE_SIZE) + 1
        wanted = recent | old
        found: dict[str, JobRun] = {}
        token: str | None = None
        while True:
            stats.pages += 1
            page = await shared.hook.aget_job_runs_page(
                self.job_name, max_results=MAX_PAGE_SIZE, next_token=token, client=shared.client, run_ids=wanted
            )
            hits = {run.id: run for run in page.runs if run.id not in found}
            found.update(hits)
            missing = len(recent - found.keys())
            search = SEARCH_RATIO * stats.pages
            # One missing run costs the same as a page; a page with no watched run suggests the rest are old, unless
            # many are missing: runs that joined together may lie beyond younger runs nobody watches yet.
            keep_on = (missing > 1 and bool(hits) and stats.pages < max_pages) or missing > search
            # Runs taken for old (read one by one) come back to the pages while the pages keep finding watched runs.
            keep_on = keep_on or (bool(hits) and len(wanted) - len(found) > search)
            if not keep_on or not page.next_token:
                break
            token = page.next_token
            await asyncio.sleep(0)  # a poll of many pages does not hold the loop for all of them
        for run_id in found:
            self._last_read[run_id] = self.polls
        return found

    async def _read_runs(self, shared: SharedClient, run_ids: list[str], stats: PollStats) -> None:
        """Read runs one by one (GetJobRun), at most as many at a time as the client has connections."""
        if not run_ids:
            return
        limit = asyncio.Semaphore(shared.max_pool_connections)
        skipped: list[str] = []

        async def read(run_id: str) -> None:
            async with limit:
                if run_id not in self.watchers:  # its watcher left while we waited for a connection
                    return
                stats.run_reads += 1
                try:
                    run = await shared.hook.aget_job_run(self.job_name, run_id, client=shared.client)
                except Exception as error:
                    observation = observation_for(error)
                    if isinstance(observation, PollSkipped):
                        skipped.append(f"{run_id}: {error_code(error)}")
                    self._deliver(run_id, observation)
                    return
            self._last_read[run_id] = self.polls
            self._deliver_read(run)

        await asyncio.gather(*(read(run_id) for run_id in run_ids))
        if skipped:
            stats.skipped = True
            log.warning("Skipping this poll of %d run(s) of job %s: %s", len(skipped), self.job_name, skipped[0])

    def _deliver(self, run_id: str, observation: Observation) -> None:
        for watcher in self.watchers.get(run_id, ()):
            watcher.put(observation)

    async def _deliver_runs(self, runs: dict[str, JobRun]) -> None:
        """Deliver the runs a poll's pages showed, a batch per step of the loop (:func:`deliver_in_turns`)."""
        await deliver_in_turns(list(runs.values()), self._deliver_read)

    def _deliver_read(self, run: JobRun) -> None:
        if run.id in self.watchers:  # else its watchers left while the poll went on
            self._deliver(run.id, RunRead(run))

    async def _deliver_each(self, run_ids: list[str], observation: Observation) -> None:
        await deliver_in_turns(run_ids, lambda run_id: self._deliver(run_id, observation))

    def _record(self, stats: PollStats) -> None:
        self.last_poll = stats
        self.history.append(stats)
        del self.history[:-100]


class PollerRegistry:
    """The pollers of one event loop, one per (client key, job name)."""

    def __init__(self) -> None:
        self.pollers: dict[tuple[ClientKey, str], JobPoller] = {}
        self._safety_intervals: dict[ClientKey, float] = {}  # client key -> the safety net while its events flow

    def subscribe(
        self,
        key: ClientKey,
        job_name: str,
        run_id: str,
        poll_interval: float,
        *,
        changes_only: bool = False,
        wakeable: bool = False,
    ) -> Watcher:
        """Return a new watcher of ``run_id``, starting the job's poller if needed (the flags: see Watcher)."""
        poller = self.pollers.get((key, job_name))
        if poller is None:
            poller = self.pollers[(key, job_name)] = JobPoller(key, job_name)
            poller.schedule.safety_interval = self._safety_intervals.get(key)
        # The poller's key: one object per job, not one per trigger.
        watcher = Watcher(poller.key, job_name, run_id, poll_interval, changes_only=changes_only, wakeable=wakeable)
        poller.add(watcher)
        return watcher

    def hint(self, key: ClientKey, job_name: str, run_id: str) -> bool:
        """Have the run read soon if a poller of ``key`` watches it (:meth:`JobPoller.hint`); return whether."""
        poller = self.pollers.get((key, job_name))
        return poller is not None and poller.hint(run_id)

    def read_at(self, watcher: Watcher, at: float) -> None:
        """Have ``watcher``'s run read at loop time ``at`` (a deadline no event signals), whatever the interval."""
        poller = self.pollers.get((watcher.key, watcher.job_name))
        if poller is not None and watcher.run_id in poller.watchers:
            poller.schedule.read_at(watcher.run_id, at, asyncio.get_running_loop().time())

    def set_safety_interval(self, key: ClientKey, seconds: float | None) -> None:
        """Poll the opted-in watchers of ``key`` at ``seconds`` at least (None: at their own poll_interval)."""
        if seconds is None:
            self._safety_intervals.pop(key, None)
        else:
            self._safety_intervals[key] = seconds
        for (poller_key, _), poller in self.pollers.items():
            if poller_key == key:
                poller.schedule.set_safety_interval(seconds)

    async def unsubscribe(self, watcher: Watcher) -> None:
        """Remove ``watcher``; stop its poller (and wait for it) when it was the last. Idempotent."""
        poller = self.pollers.get((watcher.key, watcher.job_name))
        if poller is None or not poller.remove(watcher):
            return
        del self.pollers[(watcher.key, watcher.job_name)]
        task = poller.task
        if task is not None and not task.done():
            task.cancel()
            # Wait so the poller's client lease is released before the caller goes on (a loop that closes
            # right after, as ``dag.test()``'s does, then still closes the client).
            await asyncio.wait([task])


_registries: PerLoop[PollerRegistry] = PerLoop(PollerRegistry)


def poller_registry() -> PollerRegistry:
    """Return the poller registry of the running event loop."""
    return _registries.get()
