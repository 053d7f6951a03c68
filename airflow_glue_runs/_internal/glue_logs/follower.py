"""One trigger's subscription to the triggerer's shared log reader: the reader fills it, the trigger empties it.

The follower knows nothing of the reader but how to wake it (a callable the reader hands it when it subscribes),
so that this module and :mod:`~airflow_glue_runs._internal.glue_logs.reader` do not import each other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from airflow_glue_runs._internal.glue_logs import forwarding as log_forwarding
from airflow_glue_runs._internal.glue_logs.forwarding import RunLogs
from airflow_glue_runs.job_run import JobRun

__all__ = ["FINAL_FLUSH_TIMEOUT", "LogFollower"]

FINAL_FLUSH_TIMEOUT = 30.0
"""Seconds a finished run's final read may wait for the reader (rate limit, back-off) before it is given up."""


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
        self.wake_reader: Callable[[], None] | None = None
        """Starts the reader's next cycle now; set while subscribed."""

    @property
    def flush_pending(self) -> bool:
        """Whether the trigger waits for a final read."""
        return self.flush is not None and not self.flush.done()

    def end_flush(self) -> None:
        """Tell a trigger waiting for its final read that the read is over (or will not happen)."""
        if self.flush_pending:
            assert self.flush is not None
            self.flush.set_result(None)

    def see(self, run: JobRun) -> None:
        """Tell the reader the run as last read (its LogGroupName, Arguments and StartedOn locate the logs)."""
        self.run = run

    def take(self) -> tuple[list[tuple[int, str]], list[str]]:
        """Return and forget the notes (the reader's and the reads') and lines that wait for the trigger."""
        notes, lines = self.notes + self.logs.pop_notes(), self.lines
        self.notes, self.lines = [], []
        return notes, lines

    async def final_flush(self, run: JobRun) -> None:
        """Wait (bounded) for the lines Glue ingests after the run ended, then have the reader read up to now."""
        self.run = run
        if self.wake_reader is None or self.logs.disabled:
            return
        completed = run.completed_on.timestamp() if run.completed_on is not None else time.time()
        grace = log_forwarding.FINAL_FLUSH_GRACE
        delay = min(grace, max(0.0, completed + grace - time.time()))
        if delay > 0:
            await asyncio.sleep(delay)
        self.flush = asyncio.get_running_loop().create_future()
        if self.wake_reader is not None:  # still subscribed after the sleep
            self.wake_reader()
        try:
            async with asyncio.timeout(FINAL_FLUSH_TIMEOUT):
                await asyncio.shield(self.flush)
        except TimeoutError:
            self.notes.append((logging.WARNING, "Glue's last log lines were not read in time; see CloudWatch."))
