"""When a job's poller reads: its interval (the smallest its watchers ask) and the runs due a read before the next poll.

A run whose watcher joins a running poller is read within :data:`FIRST_READ_DELAY`, with the others that joined
meanwhile (an "early read"), not one interval later; so is a run that Glue's events say changed (a hint, see
:mod:`airflow_glue_runs._internal.events`), and a run whose trigger asked for a read at a given time (a deadline that
no event signals, such as ``max_queue_wait``). The poller sleeps for :meth:`ReadSchedule.next_delay` and is woken
(:attr:`ReadSchedule.wake`) when that delay may have become shorter.

While an event consumer serves the poller's connection, watchers that opted in (``wakeable``) are polled at the
*safety-net* interval (``[glue_runs] event_safety_interval``) when it is longer than their own: events bring their
reads forward, and the slow polls catch what no event says (ERROR and EXPIRED ends, lost events). The poller polls
at the smallest interval among its watchers, each counted at its effective interval.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_glue_runs._internal.polling.observations import Watcher

__all__ = ["FIRST_READ_DELAY", "ReadSchedule", "Wakeup"]

FIRST_READ_DELAY = 0.2
"""Seconds a newly watched run waits for its first read, so the runs that join together are read together."""


class Wakeup(Enum):
    """What ends the poller's sleep."""

    POLL = "poll"
    """The interval is over: poll every watched run."""
    EARLY_READS = "early_reads"
    """Runs are due an early read: read those only."""
    DUE = "due"
    """A read asked for a given time is due: it becomes an early read."""


class ReadSchedule:
    """The poll interval of one job's watchers and the runs due an early read, in loop time."""

    def __init__(self) -> None:
        self.fresh: dict[str, float] = {}
        """Runs due an early read (a watcher joined after the last poll began, a hint) -> since when, oldest first."""
        self.due: dict[str, float] = {}
        """Runs whose watcher asked for a read at a given loop time -> that time (the earliest asked)."""
        self.wake = asyncio.Event()
        """Set when the poller's sleep may have become shorter: it recomputes it."""
        self.safety_interval: float | None = None
        """The safety net's interval while an event consumer serves this poller; None: no consumer, or it is down."""
        self._intervals: Counter[float] = Counter()  # poll interval -> watchers asking for it
        self._wakeable: Counter[float] = Counter()  # the same, for watchers that events may wake

    @property
    def interval(self) -> float:
        """Return the smallest effective poll interval among the watchers (0.0 without watchers)."""
        fixed = min(self._intervals, default=None)
        wakeable = min(self._wakeable, default=None)
        if wakeable is not None and self.safety_interval is not None:
            wakeable = max(wakeable, self.safety_interval)
        return min((i for i in (fixed, wakeable) if i is not None), default=0.0)

    def count(self, watcher: Watcher) -> None:
        """Count ``watcher``'s poll interval; a shorter one than the poller's wakes it."""
        before = self.interval
        counter = self._wakeable if watcher.wakeable else self._intervals
        counter[watcher.poll_interval] += 1
        if before and self.interval < before:
            self.wake.set()

    def uncount(self, watcher: Watcher) -> None:
        """Stop counting ``watcher``'s poll interval."""
        counter = self._wakeable if watcher.wakeable else self._intervals
        counter[watcher.poll_interval] -= 1
        if not counter[watcher.poll_interval]:
            del counter[watcher.poll_interval]

    def set_safety_interval(self, seconds: float | None) -> None:
        """Poll opted-in watchers at ``seconds`` at least (None: at their own interval), from the current sleep on."""
        before = self.interval
        self.safety_interval = seconds
        if self.interval != before:
            self.wake.set()

    def read_soon(self, run_id: str, now: float) -> None:
        """Have ``run_id`` read within :data:`FIRST_READ_DELAY` of ``now``, with the other runs due then."""
        if not self.fresh:
            self.wake.set()
        self.fresh.setdefault(run_id, now)

    def read_at(self, run_id: str, at: float, now: float) -> None:
        """Have ``run_id`` read at loop time ``at`` (within :data:`FIRST_READ_DELAY`), whatever the interval."""
        if at <= now:
            self.read_soon(run_id, now)
            return
        earliest = min(self.due.values(), default=None)
        if at < self.due.get(run_id, at + 1):
            self.due[run_id] = at
        if earliest is None or at < earliest:
            self.wake.set()

    def forget(self, run_id: str) -> None:
        """Drop what is due for ``run_id`` (its last watcher left)."""
        self.fresh.pop(run_id, None)
        self.due.pop(run_id, None)

    def read(self, run_ids: set[str]) -> None:
        """Note that a poll is reading ``run_ids``: their early reads are done."""
        self.fresh = {run_id: at for run_id, at in self.fresh.items() if run_id not in run_ids}

    def next_delay(self, started: float, now: float, *, early_reads: bool) -> tuple[float, Wakeup]:
        """Return how long to sleep after a poll that began at ``started``, and what is due when the sleep ends.

        Reads asked for a time now past become early reads.

        :param early_reads: whether early and asked-for reads count (else only the interval does).
        """
        delay, wakeup = max(0.0, self.interval - (now - started)), Wakeup.POLL
        if not early_reads:
            return delay, wakeup
        for run_id, at in list(self.due.items()):
            if at <= now:
                del self.due[run_id]
                self.fresh.setdefault(run_id, now)
        if self.fresh:
            early = max(0.0, next(iter(self.fresh.values())) + FIRST_READ_DELAY - now)
            if early < delay:
                delay, wakeup = early, Wakeup.EARLY_READS
        if self.due:
            asked = max(0.0, min(self.due.values()) - now)
            if asked < delay:
                delay, wakeup = asked, Wakeup.DUE
        return delay, wakeup
