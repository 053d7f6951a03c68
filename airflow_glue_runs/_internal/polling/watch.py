"""How a trigger watches its run: ``async with watch_run(...) as watcher``, through the shared poller of its job.

The watch also counts the trigger in its connection's event consumer (:mod:`airflow_glue_runs._internal.events`),
which runs only while a queue is configured for this triggerer and some trigger watches a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_glue_runs._internal.events.registry import event_consumers
from airflow_glue_runs._internal.polling.observations import Watcher
from airflow_glue_runs._internal.polling.poller import poller_registry
from airflow_glue_runs._internal.polling.shared_client import ClientKey

if TYPE_CHECKING:
    from airflow_glue_runs._internal.events.consumer import EventConsumer

__all__ = ["WatchedRun", "watch_run"]


class WatchedRun:
    """Watch one run through the shared poller of its job for an ``async with`` block (:func:`watch_run`).

    A plain object rather than an ``asynccontextmanager``: it is kept by each waiting trigger for the whole wait,
    and a generator-based one costs a generator, a frame and a context manager object per trigger.
    """

    __slots__ = ("_args", "_watcher", "consumer")

    def __init__(
        self,
        key: ClientKey,
        job_name: str,
        run_id: str,
        poll_interval: float,
        *,
        changes_only: bool = False,
        wakeable: bool = False,
    ) -> None:
        self._args: tuple[ClientKey, str, str, float, bool, bool] | None = (
            key,
            job_name,
            run_id,
            poll_interval,
            changes_only,
            wakeable,
        )
        self._watcher: Watcher | None = None
        self.consumer: EventConsumer | None = None
        """The event consumer of the watch's connection while the watch lasts; None: no queue configured."""

    async def __aenter__(self) -> Watcher:
        if self._args is None:
            raise RuntimeError("A WatchedRun is entered once")
        key, job_name, run_id, poll_interval, changes_only, wakeable = self._args
        self._args = None  # the watcher holds what it needs
        self._watcher = poller_registry().subscribe(
            key, job_name, run_id, poll_interval, changes_only=changes_only, wakeable=wakeable
        )
        self.consumer = event_consumers().join(self._watcher.key)
        return self._watcher

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """End the watch (what leaving the block does); idempotent."""
        watcher, self._watcher = self._watcher, None
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            event_consumers().leave(consumer)
        if watcher is not None:
            await poller_registry().unsubscribe(watcher)


def watch_run(
    key: ClientKey,
    job_name: str,
    run_id: str,
    poll_interval: float,
    *,
    changes_only: bool = False,
    wakeable: bool = False,
) -> WatchedRun:
    """Watch one run through the shared poller of its job for the ``async with`` block (the flags: Watcher)."""
    return WatchedRun(key, job_name, run_id, poll_interval, changes_only=changes_only, wakeable=wakeable)
