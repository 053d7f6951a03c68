"""The local Glue's EventBridge events: a "Glue Job State Change" into moto's default bus when a run ends.

Glue documents the event for SUCCEEDED, FAILED, TIMEOUT and STOPPED only (not ERROR, EXPIRED, nor any WAITING or
running state), so those are the ones sent; every rule of the bus that matches routes it (moto delivers to SQS
targets, among others). ``detail`` is ``jobName``, ``severity``, ``state``, ``jobRunId`` and ``message``, in that
order as in AWS's examples; ``time`` is the run's end by the local Glue's clock; ``resources`` is empty.

A run's end is known in advance for a scripted run (its timeline) and when its process exits for a real one;
it moves when the run is stopped, forced into a state, or waits for a slot. So the emitter checks a run when
something may have changed it (start, stop, forced state, process exit, a peer's end) and at the next final
step its timeline shows; a check that finds the run final sends its event once, for the first final step.
Checks are kept in a heap by due time (epoch seconds, the local Glue's clock): a daemon thread wakes for the
earliest, every :data:`TICK_SECONDS` at most (the clock may be a test's fake one), and takes the service lock
only when one is due. Before each SQS or EventBridge request the service calls :meth:`EventEmitter.catch_up`,
so a test that moves a fake clock sees the events at once.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from airflow_glue_runs.local_glue._event_faults import EventFaults
from airflow_glue_runs.local_glue._moto import current_job, job_and_run
from airflow_glue_runs.local_glue._rules import _FINAL, _admit_queued, _Run, _Step

__all__ = ["EVENT_COUNTERS", "EVENT_PATTERN", "EVENT_STATES", "TICK_SECONDS", "EventEmitter"]

log = logging.getLogger(__name__)

SOURCE = "aws.glue"
DETAIL_TYPE = "Glue Job State Change"
EVENT_PATTERN = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
"""The EventBridge pattern of a rule that matches every run end Glue reports."""
# (severity, message when GetJobRun shows no ErrorMessage), as in AWS's examples of these events.
EVENT_STATES = {
    "SUCCEEDED": ("INFO", "Job run succeeded"),
    "FAILED": ("ERROR", "Job run failed"),
    "TIMEOUT": ("WARN", "Job run timed out"),
    "STOPPED": ("INFO", "Job run stopped"),
}
EVENT_COUNTERS = ("emitted", "dropped", "duplicated", "delayed", "failed")
TICK_SECONDS = 0.05
"""How often the emitter thread looks at the clock while a check is pending (a fake clock may jump)."""


@dataclasses.dataclass(eq=False)
class _Watch:
    """One run the emitter follows until its end is sent."""

    region: str
    job: Any  # moto's job object: a job replaced or deleted since is another object (or none)
    job_name: str
    run_id: str
    script: _Run
    done: bool = False


@dataclasses.dataclass(eq=False)
class _Delivery:
    """An event held back by the delay switches."""

    region: str
    job_name: str
    entry: dict[str, Any]


class EventEmitter:
    """Sends each run's end to moto's EventBridge, from a thread of its own and before SQS and Events requests.

    :param lock: the service lock (moto's backends are not thread-safe); every method but :meth:`close` is
        called with it held.
    :param clock: the local Glue's clock.
    :param account: returns the local Glue's moto account.
    """

    def __init__(self, *, lock: Any, clock: Callable[[], float], account: Callable[[], str]) -> None:
        self.lock, self.clock, self.account = lock, clock, account
        self.counts: Counter[str] = Counter()
        self.faults = EventFaults()
        self._due: list[tuple[float, int, _Watch | _Delivery]] = []
        self._order = itertools.count()
        self._watches: dict[tuple[str, str, str], _Watch] = {}
        self._queued: set[_Watch] = set()  # runs without a slot when last checked: a peer's end may admit them
        self._cond = threading.Condition()  # guards the heap; taken after the service lock, never before
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, region: str, job_name: str, run_id: str) -> None:
        """Check a run now: it was started, stopped, forced into a state, or its process ended."""
        key = (region, job_name, run_id)
        found = self._watches.get(key)
        if found is None:
            pair = job_and_run(self.account(), region, job_name, run_id)
            if pair is None:
                return
            found = self._watches[key] = _Watch(region, pair[0], job_name, run_id, pair[1].script)
        self._check(found, self.clock())

    def catch_up(self) -> None:
        """Run every check and send every delivery due by the clock (before an SQS or EventBridge request)."""
        now = self.clock()
        while True:
            with self._cond:
                if not self._due or self._due[0][0] > now:
                    return
                _, _, item = heapq.heappop(self._due)
            try:
                if isinstance(item, _Watch):
                    self._check(item, now)
                else:
                    self._put(item)
            except Exception:  # one broken run must not stop the others' events
                log.exception("local Glue: could not emit the event of a run")

    def set_faults(self, faults: EventFaults) -> None:
        """Replace the fault switches."""
        self.faults = faults

    def reset(self) -> None:
        """Forget every run, pending event and switch (the local Glue was reset); counters are reset apart."""
        with self._cond:
            self._due.clear()
        self._watches.clear()
        self._queued.clear()
        self.faults = EventFaults()

    def close(self) -> None:
        """Stop the thread and wait for it; nothing is scheduled afterwards. Call without the service lock."""
        with self._cond:
            self._closed = True
            self._due.clear()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # Checks and sends, with the service lock held.

    def _check(self, watch: _Watch, now: float) -> None:
        if watch.done:
            return
        if current_job(self.account(), watch.region, watch.job_name) is not watch.job:
            watch.done = True  # the job was deleted or replaced with its runs: nothing to tell
            self._queued.discard(watch)
            return
        script = watch.script
        steps = script.timeline(now)  # gives a queued run the slot that freed up, as a read does
        end = next((step for step in steps if step.state in _FINAL), None)
        if end is not None:
            watch.done = True
            self._queued.discard(watch)
            if end.state in EVENT_STATES:
                self._send(watch, end, now)
            if self._queued:  # its slot is free: a queued run of the job may start
                _admit_queued(*script.peers(), now)
            for queued in [q for q in self._queued if q.script.admitted_at is not None]:
                self._queued.discard(queued)
                self._schedule(now, queued)  # due at once: the running catch-up or the thread checks it
            return
        if script.admitted_at is None:
            self._queued.add(watch)
        upcoming = [step.at for step in script.steps() if step.at > now and step.state in _FINAL]
        if script.admitted_at is None and script.ready_at > now:
            upcoming.append(script.ready_at)
        if upcoming:
            self._schedule(min(upcoming), watch)

    def _send(self, watch: _Watch, end: _Step, now: float) -> None:
        severity, default_message = EVENT_STATES[end.state]
        detail = {
            "jobName": watch.job_name,
            "severity": severity,
            "state": end.state,
            "jobRunId": watch.run_id,
            "message": end.message or default_message,  # the ErrorMessage GetJobRun shows, if any
        }
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "Resources": [],
            "Time": end.at,
        }
        delays = self.faults.delays(watch.job_name)
        if not delays:
            self.counts["dropped"] += 1
        self.counts["duplicated"] += max(len(delays) - 1, 0)
        for delay in delays:
            delivery = _Delivery(watch.region, watch.job_name, entry)
            if end.at + delay <= now:
                self._put(delivery)
            else:
                self.counts["delayed"] += 1
                self._schedule(end.at + delay, delivery)

    def _put(self, delivery: _Delivery) -> None:
        from moto.events.models import events_backends

        try:
            answer = events_backends[self.account()][delivery.region].put_events([delivery.entry])
        except Exception as error:  # e.g. a rule with a target moto cannot deliver to (SNS: NotImplementedError)
            self.counts["failed"] += 1
            log.warning("local Glue: EventBridge refused the event of job %s: %r", delivery.job_name, error)
            return
        self.counts["failed" if answer and "ErrorCode" in answer[0] else "emitted"] += 1

    # The heap and the thread.

    def _schedule(self, at: float, item: _Watch | _Delivery) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._due, (at, next(self._order), item))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="local-glue-events", daemon=True)
                self._thread.start()
            if self._due[0][2] is item:  # the earliest now: the thread must wake sooner than it planned
                self._cond.notify()

    def _serve(self) -> None:
        """Wake when the earliest check is due (by the clock) and run what is due, until closed."""
        while True:
            with self._cond:
                if self._closed:
                    return
                if not self._due:
                    self._cond.wait()
                    continue
                wait = self._due[0][0] - self.clock()
                if wait > 0:
                    self._cond.wait(min(wait, TICK_SECONDS))
                    continue
            with self.lock:
                self.catch_up()
