"""When a job's poller reads: its interval (the smallest its watchers ask) and the runs due a read before the next poll.

A run whose watcher joins a running poller is read within :data:`FIRST_READ_DELAY`, with the others that joined
meanwhile (a "first read"), not one interval later. The poller sleeps for :meth:`ReadSchedule.next_delay` and is
woken (:attr:`ReadSchedule.wake`) when that delay may have become shorter.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_glue_runs._internal.polling.observations import Watcher

__all__ = ["FIRST_READ_DELAY", "ReadSchedule"]

FIRST_READ_DELAY = 0.2
"""Seconds a newly watched run waits for its first read, so the runs that join together are read together."""


class ReadSchedule:
    """The poll interval of one job's watchers and the runs due an early read, in loop time."""

    def __init__(self) -> None:
        self.fresh: dict[str, float] = {}
        """Runs due an early read (a watcher joined after the last poll began) -> since when, oldest first."""
        self.wake = asyncio.Event()
        """Set when the poller's sleep may have become shorter: it recomputes it."""
        self._intervals: Counter[float] = Counter()  # poll interval -> watchers asking for it

    @property
    def interval(self) -> float:
        """Return the smallest poll interval among the watchers."""
        return min(self._intervals, default=0.0)

    def count(self, watcher: Watcher) -> None:
        """Count ``watcher``'s poll interval; a shorter one than the poller's wakes it."""
        if self._intervals and watcher.poll_interval < self.interval:
            self.wake.set()
        self._intervals[watcher.poll_interval] += 1

    def uncount(self, watcher: Watcher) -> None:
        """Stop counting ``watcher``'s poll interval."""
        self._intervals[watcher.poll_interval] -= 1
        if not self._intervals[watcher.poll_interval]:
            del self._intervals[watcher.poll_interval]

    def read_soon(self, run_id: str, now: float) -> None:
        """Have ``run_id`` read within :data:`FIRST_READ_DELAY` of ``now``, with the other runs due then."""
        if not self.fresh:
            self.wake.set()
        self.fresh.setdefault(run_id, now)

    def forget(self, run_id: str) -> None:
        """Drop what is due for ``run_id`` (its last watcher left)."""
        self.fresh.pop(run_id, None)

    def read(self, run_ids: set[str]) -> None:
        """Note that a poll is reading ``run_ids``: their early reads are done."""
        self.fresh = {run_id: at for run_id, at in self.fresh.items() if run_id not in run_ids}

    def next_delay(self, started: float, now: float, *, first_reads: bool) -> tuple[float, bool]:
        """Return how long to sleep before the next poll that began at ``started``, and whether early reads end it.

        :param first_reads: whether runs due an early read count (else only the interval does).
        """
        delay = max(0.0, self.interval - (now - started))
        if not (first_reads and self.fresh):
            return delay, False
        first_read_delay = max(0.0, next(iter(self.fresh.values())) + FIRST_READ_DELAY - now)
        return min(delay, first_read_delay), first_read_delay < delay
