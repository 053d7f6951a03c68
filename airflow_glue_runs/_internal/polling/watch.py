"""How a trigger watches its run: ``async with watch_run(...) as watcher``, through the shared poller of its job."""

from __future__ import annotations

from airflow_glue_runs._internal.polling.observations import Watcher
from airflow_glue_runs._internal.polling.poller import poller_registry
from airflow_glue_runs._internal.polling.shared_client import ClientKey

__all__ = ["WatchedRun", "watch_run"]


class WatchedRun:
    """Watch one run through the shared poller of its job for an ``async with`` block (:func:`watch_run`).

    A plain object rather than an ``asynccontextmanager``: it is kept by each waiting trigger for the whole wait,
    and a generator-based one costs a generator, a frame and a context manager object per trigger.
    """

    __slots__ = ("_args", "_watcher")

    def __init__(
        self, key: ClientKey, job_name: str, run_id: str, poll_interval: float, *, changes_only: bool = False
    ) -> None:
        self._args: tuple[ClientKey, str, str, float, bool] | None = (
            key,
            job_name,
            run_id,
            poll_interval,
            changes_only,
        )
        self._watcher: Watcher | None = None

    async def __aenter__(self) -> Watcher:
        if self._args is None:
            raise RuntimeError("A WatchedRun is entered once")
        key, job_name, run_id, poll_interval, changes_only = self._args
        self._args = None  # the watcher holds what it needs
        self._watcher = poller_registry().subscribe(key, job_name, run_id, poll_interval, changes_only=changes_only)
        return self._watcher

    async def __aexit__(self, *exc_info: object) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await poller_registry().unsubscribe(watcher)


def watch_run(
    key: ClientKey, job_name: str, run_id: str, poll_interval: float, *, changes_only: bool = False
) -> WatchedRun:
    """Watch one run through the shared poller of its job for the ``async with`` block (``changes_only``: Watcher)."""
    return WatchedRun(key, job_name, run_id, poll_interval, changes_only=changes_only)
