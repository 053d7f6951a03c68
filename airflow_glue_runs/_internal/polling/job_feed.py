"""The job feed: one GetJobRuns read per (client, job) per interval, broadcast to every asset watcher of that job.

Asset watchers (:mod:`airflow_glue_runs.event_triggers`) do not call Glue themselves. Each subscribes to the feed of
its job; the feed polls at the smallest interval its subscribers ask for, through the loop's shared client
(:func:`~airflow_glue_runs._internal.polling.shared_client.lease_client`, the client the run poller uses), and hands
each subscriber the same :class:`~airflow_glue_runs._internal.polling.run_ends.JobRunsSeen`. A poll reads the newest
page and more pages only while a subscriber still needs one (:meth:`FeedCursor.wants_more`: its horizon not yet
crossed, or runs it knows in progress not yet seen), at most :data:`MAX_PAGES`; runs in progress that the pages did
not show are read one by one, at most :data:`MAX_RUN_READS` a poll.

Errors go to the subscribers as the poller's observations (:mod:`~airflow_glue_runs._internal.polling.observations`);
they and the feed's own log lines name an error by its AWS code only (an AWS text may quote job arguments); an
unexpected error goes whole to the watchers, which raise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from airflow_glue_runs._internal.polling.observations import (
    Observation,
    PollSkipped,
    RunDenied,
    RunGone,
    observation_for,
)
from airflow_glue_runs._internal.polling.per_loop import PerLoop
from airflow_glue_runs._internal.polling.run_ends import JobRunsSeen
from airflow_glue_runs._internal.polling.shared_client import ClientKey, SharedClient, lease_client
from airflow_glue_runs._internal.run.secrets import error_code
from airflow_glue_runs._internal.start.request import MAX_PAGE_SIZE
from airflow_glue_runs.job_run import JobRun

__all__ = ["MAX_PAGES", "MAX_RUN_READS", "FeedCursor", "FeedItem", "JobFeed", "Subscription", "subscribe_job_feed"]

log = logging.getLogger(__name__)

MAX_PAGES = 10
"""The most GetJobRuns pages (of 200 runs) one poll reads: 2,000 runs."""
MAX_RUN_READS = 10
"""The most runs in progress one poll reads one by one (GetJobRun) when the pages did not show them."""

FeedItem = JobRunsSeen | Observation
"""What a subscriber receives per poll: the runs seen, or what went wrong (an observation of the poller's kinds)."""

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The feed's sleep between polls; tests replace it to step polls one at a time."""


class FeedCursor(Protocol):
    """What the feed asks a subscriber to decide how much to read (:class:`~.run_ends.EndWatch` implements it)."""

    def wants_more(self, page: Sequence[JobRun], found: Mapping[str, JobRun], pages: int) -> bool:
        """Whether another page is needed after ``pages`` pages that showed ``found`` (``page`` the last one)."""

    def missing(self, found: Mapping[str, JobRun]) -> set[str]:
        """Return the runs to read one by one because the pages did not show them."""


class Subscription:
    """One watcher's place in a feed: its interval, its cursor and its mailbox.

    :param cursor: says how deep the feed reads for this subscriber.
    :param interval: the longest the subscriber wants to wait between polls, in seconds.
    """

    def __init__(self, cursor: FeedCursor, interval: float) -> None:
        self.cursor = cursor
        self.interval = interval
        self._items: asyncio.Queue[FeedItem] = asyncio.Queue()

    def put(self, item: FeedItem) -> None:
        """Hand the subscriber a poll's outcome (never blocks)."""
        self._items.put_nowait(item)

    async def next(self) -> FeedItem:
        """Wait for the next poll's outcome (cancel-safe)."""
        return await self._items.get()


class JobFeed:
    """Poll one job for all its subscribers at the smallest interval they ask for.

    :param key: the shared client's key.
    :param job_name: the job.
    """

    def __init__(self, key: ClientKey, job_name: str) -> None:
        self.key = key
        self.job_name = job_name
        self.subscriptions: list[Subscription] = []
        self.polls = 0
        self.capped_polls = 0
        self.failed_polls = 0
        """Polls in a row that could not read the job (logged once per spell)."""
        self._intervals: Counter[float] = Counter()
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        """Return the smallest interval among the subscribers."""
        return min(self._intervals, default=0.0)

    def add(self, subscription: Subscription) -> None:
        """Subscribe; start polling on the first subscriber, or wake the sleep if this one asks for a shorter one."""
        shorter = bool(self.subscriptions) and subscription.interval < self.interval
        self.subscriptions.append(subscription)
        self._intervals[subscription.interval] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name=f"glue-job-feed-{self.job_name}", context=contextvars.Context()
            )
        elif shorter:
            self._wake.set()

    def remove(self, subscription: Subscription) -> bool:
        """Unsubscribe; return whether no subscriber is left."""
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
            self._intervals[subscription.interval] -= 1
            if not self._intervals[subscription.interval]:
                del self._intervals[subscription.interval]
        return not self.subscriptions

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.subscriptions:
            started = loop.time()
            try:
                async with lease_client(self.key) as shared:
                    while self.subscriptions:
                        started = loop.time()
                        await self.poll(shared)
                        await self._wait_for_next_poll(started)
                return
            except Exception as error:  # building the client (connection, STS): retried at the interval
                self._failed("build the Glue client for", error)
            await self._wait_for_next_poll(started)

    async def _wait_for_next_poll(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        while self.subscriptions:
            self._wake.clear()
            delay = max(0.0, self.interval - (loop.time() - started))
            sleeper = asyncio.ensure_future(_sleep(delay))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                done, _ = await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            if sleeper in done:
                return

    async def poll(self, shared: SharedClient) -> None:
        """Read the pages (and runs) the subscribers need and hand every subscriber what was seen."""
        self.polls += 1
        try:
            seen = await self._read(shared)
        except Exception as error:
            self._failed("read the runs of", error)
            return
        if self.failed_polls:
            log.info("Glue job %s: the feed reads again after %d failed poll(s)", self.job_name, self.failed_polls)
            self.failed_polls = 0
        self._broadcast(seen)

    def _failed(self, what: str, error: Exception) -> None:
        """Hand the subscribers what went wrong; log it at the first poll of a spell only."""
        self.failed_polls += 1
        if self.failed_polls == 1:
            log.warning("Could not %s Glue job %s (retried every poll): %s", what, self.job_name, error_code(error))
        observation = observation_for(error)
        if isinstance(observation, RunGone | RunDenied | PollSkipped):
            # The watchers log it; the AWS code says enough and an AWS text may quote some run's arguments.
            observation = type(observation)(error_code(error))
        self._broadcast(observation)

    async def _read(self, shared: SharedClient) -> JobRunsSeen:
        found: dict[str, JobRun] = {}
        token: str | None = None
        pages = 0
        capped = False
        while True:
            pages += 1
            page = await shared.hook.aget_job_runs_page(
                self.job_name, max_results=MAX_PAGE_SIZE, next_token=token, client=shared.client
            )
            found.update((run.id, run) for run in page.runs)
            wanted = any(s.cursor.wants_more(page.runs, found, pages) for s in self.subscriptions)
            if not wanted or not page.next_token:
                break
            if pages >= MAX_PAGES:
                capped = True
                self.capped_polls += 1
                if self.capped_polls == 1:
                    log.warning(
                        "Glue job %s: a poll read %d pages of runs and stopped; runs started before those are not "
                        "seen until they appear on the newest pages",
                        self.job_name,
                        pages,
                    )
                break
            token = page.next_token
            await asyncio.sleep(0)  # a poll of many pages does not hold the loop for all of them
        missing: set[str] = set()
        for subscription in self.subscriptions:
            missing |= subscription.cursor.missing(found)
        gone = await self._read_runs(shared, sorted(missing)[:MAX_RUN_READS], found)
        return JobRunsSeen(runs=found, gone=frozenset(gone), capped=capped)

    async def _read_runs(self, shared: SharedClient, run_ids: list[str], found: dict[str, JobRun]) -> set[str]:
        """Read runs one by one into ``found``; return those Glue says do not exist. Other faults skip the run."""
        gone: set[str] = set()
        for run_id in run_ids:
            try:
                found[run_id] = await shared.hook.aget_job_run(self.job_name, run_id, client=shared.client)
            except Exception as error:
                observation = observation_for(error)
                if isinstance(observation, RunGone):
                    gone.add(run_id)
                elif not isinstance(observation, PollSkipped):
                    raise
        return gone

    def _broadcast(self, item: FeedItem) -> None:
        for subscription in self.subscriptions:
            subscription.put(item)


class JobFeedRegistry:
    """The job feeds of one event loop, one per (client key, job name)."""

    def __init__(self) -> None:
        self.feeds: dict[tuple[ClientKey, str], JobFeed] = {}

    def subscribe(self, key: ClientKey, job_name: str, cursor: FeedCursor, interval: float) -> Subscription:
        """Return a new subscription to the job's feed, starting the feed if needed."""
        feed = self.feeds.get((key, job_name))
        if feed is None:
            feed = self.feeds[(key, job_name)] = JobFeed(key, job_name)
        subscription = Subscription(cursor, interval)
        feed.add(subscription)
        return subscription

    async def unsubscribe(self, key: ClientKey, job_name: str, subscription: Subscription) -> None:
        """Remove a subscription; stop the feed (and wait for it) when it was the last. Idempotent."""
        feed = self.feeds.get((key, job_name))
        if feed is None or not feed.remove(subscription):
            return
        del self.feeds[(key, job_name)]
        if feed.task is not None and not feed.task.done():
            feed.task.cancel()
            await asyncio.wait([feed.task])  # its client lease is released before the caller goes on


_registries: PerLoop[JobFeedRegistry] = PerLoop(JobFeedRegistry)


def feed_registry() -> JobFeedRegistry:
    """Return the job feed registry of the running event loop."""
    return _registries.get()


@contextlib.asynccontextmanager
async def subscribe_job_feed(
    key: ClientKey, job_name: str, cursor: FeedCursor, interval: float
) -> AsyncIterator[Subscription]:
    """Subscribe to the running loop's feed of ``job_name`` for the block."""
    registry = feed_registry()
    subscription = registry.subscribe(key, job_name, cursor, interval)
    try:
        yield subscription
    finally:
        await registry.unsubscribe(key, job_name, subscription)
