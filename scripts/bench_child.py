"""One measured row of ``make bench``: N waiting runs of one implementation in one event loop (a fresh process).

The timeline, the same for every implementation at a given N and settle time:

1. N runs start over 10 jobs, each scripted (``--local-glue-duration``) to end at a random moment of one window
   of ``--end-over`` seconds (default: one poll interval) that opens ``settle`` seconds after the triggers are
   created; the local Glue ends them on its own, so the measured process makes no call to end them.
2. The triggers are created one at a time, as Airflow's triggerer does; the runs are read, the loop settles; the
   steady state is measured over ``steady`` seconds (default three poll intervals: Glue calls, RSS, tracked objects).
3. The runs end; every trigger fires its event.

Calls are counted by service over the steady state and over the whole timeline (from the first trigger created to
the last event). An events row (:mod:`bench_events`) configures the process as a triggerer with a queue of Glue's
events first, and reports its consumer's counters too.

CPU is the process's from the first trigger created to the last event, less the harness's own ``gc.collect()``
before each RSS reading. The stall is the worst lateness of a 10 ms ticker on the loop, leaving out the harness's
measurements; "outside full GCs" leaves out too the ticks during which CPython ran a full (generation 2)
collection, which it does now and then on its own, taking as long as the whole heap needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_events import (
    calls_by_service,
    consumer_counts,
    counts_since,
    event_wakeups,
    process_cpu_seconds,
)
from bench_triggers import FLOOR, make_trigger

JOBS = 10
LOG_LINES = json.dumps([[0, "driver", "starting\nreading input"], [1, "driver/error", "WARN something"]])


def rss_bytes() -> int:
    """Return this process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Heap:
    """The harness's own measurements of the process heap, which the stall ticker and the CPU must not count."""

    def __init__(self) -> None:
        self.measurements = 0  # bumped before each measurement, so a tick that spans one is left out
        self.cpu = 0.0  # process CPU seconds the measurements took

    def measure(self) -> tuple[int, int, float]:
        """Collect fully; return (RSS bytes, tracked objects, milliseconds the full collection took)."""
        self.measurements += 1
        cpu, before = time.process_time(), time.perf_counter()
        gc.collect()
        took_ms = (time.perf_counter() - before) * 1000
        result = rss_bytes(), len(gc.get_objects()), took_ms
        self.cpu += time.process_time() - cpu
        return result


class FullCollections:
    """Count CPython's own full (generation 2) collections and the time they take, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.count = 0
        self.longest_ms = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._started) * 1000)

    @contextlib.contextmanager
    def installed(self) -> Iterator[FullCollections]:
        """Count for the block."""
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)


class Ticker:
    """A 10 ms ticker on the loop: its worst lateness, with and without the ticks that spanned a full collection."""

    def __init__(self, heap: Heap, collections: FullCollections) -> None:
        self.heap, self.collections = heap, collections
        self.outside_gc = 0.0
        self.with_gc = 0.0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Tick until :attr:`stop` is set."""
        while not self.stop.is_set():
            measurements, full, before = self.heap.measurements, self.collections.count, time.perf_counter()
            await asyncio.sleep(0.01)
            if self.heap.measurements != measurements:
                continue
            late = time.perf_counter() - before - 0.01
            self.with_gc = max(self.with_gc, late)
            if self.collections.count == full:
                self.outside_gc = max(self.outside_gc, late)


class StartTooSlow(RuntimeError):
    """Starting the runs overran its budget: the runs' scripted ends are too early; run the row again."""


def start_budget(n: int, scale: float) -> float:
    """Seconds allowed for starting the N runs before the triggers are created (the local Glue slows as jobs grow)."""
    return (10.0 + 0.006 * n) * scale


@dataclasses.dataclass(frozen=True)
class Timeline:
    """One row's timeline (seconds) and what else the child needs beside the implementation and N."""

    poll: float
    settle: float
    end_over: float
    steady: float
    endpoint: str
    local_glue_pid: int | None = None
    profile: str | None = None
    scale: float = 1.0


async def child(impl: str, n: int, timeline: Timeline) -> dict[str, Any]:
    """Measure one implementation with ``n`` waiting runs; return the figures."""
    from airflow_glue_runs.local_glue import LocalGlueControl

    control = LocalGlueControl(timeline.endpoint)
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = control.airflow_connection()
    with event_wakeups(control, impl, f"bench-events-{os.getpid()}") as queue_url:
        figures = await _measure(impl, n, timeline, control)
        if queue_url is not None:
            from airflow_glue_runs._internal.events.registry import event_consumers

            await event_consumers().aclose_all()  # before its queue goes
    figures["event_queue"] = queue_url is not None
    return figures


def _glue_cpu(timeline: Timeline) -> float:
    return process_cpu_seconds(timeline.local_glue_pid) if timeline.local_glue_pid else float("nan")


async def _measure(impl: str, n: int, timeline: Timeline, control: Any) -> dict[str, Any]:
    poll, settle, end_over, steady = timeline.poll, timeline.settle, timeline.end_over, timeline.steady
    prefix = f"bench-{impl}-{n}-{os.getpid()}"
    jobs = [f"{prefix}-{j}" for j in range(JOBS)]
    for job in jobs:
        defaults = {"--local-glue-duration": "86400", "--local-glue-log-lines": LOG_LINES}
        control.create_job(job, max_concurrent_runs=n + 1, default_arguments=defaults)
    glue = control.client()

    # Warm-up: one trigger waits on a run of its own until it resolves, so the imports and the first AWS client
    # are paid before the baseline; they are reported as the fixed cost (Airflow's own import is not in it).
    make_trigger(impl, jobs[0], "warm-up", poll, time.time())  # imports Airflow and the trigger's module
    heap = Heap()
    rss_start, _, _ = heap.measure()
    warm_run = glue.start_job_run(JobName=jobs[0], Arguments={"--local-glue-duration": "0"})["JobRunId"]
    async for _event in make_trigger(impl, jobs[0], warm_run, poll, time.time()).run():
        break
    fixed_mib = (heap.measure()[0] - rss_start) / 2**20

    # The runs, each scripted to end at a random moment of the window [end_at, end_at + end_over).
    create_at = time.time() + start_budget(n, timeline.scale)
    end_at = create_at + settle
    rng = random.Random(n)
    runs: list[tuple[str, str]] = []
    ends: dict[str, float] = {}
    for i in range(n):
        job, ends_at = jobs[i % JOBS], end_at + rng.uniform(0, end_over)
        duration = f"{ends_at - time.time():.3f}"
        run_id = glue.start_job_run(JobName=job, Arguments={"--local-glue-duration": duration})["JobRunId"]
        runs.append((job, run_id))
        ends[run_id] = ends_at
    if time.time() > create_at:
        raise StartTooSlow(f"starting {n} runs took longer than {start_budget(n, timeline.scale):.0f} s")
    await asyncio.sleep(create_at - time.time())

    rss0, objects0, _ = heap.measure()
    await asyncio.to_thread(control.reset_counters)
    collections = FullCollections()
    ticker = Ticker(heap, collections)
    events: dict[str, float] = {}

    async def consume(trigger: Any, run_id: str) -> None:
        async for _event in trigger.run():
            events[run_id] = time.time()
            return

    profiler = None
    if timeline.profile:
        import cProfile

        # The loop thread's CPU time, not wall time: on a busy machine a wall-time profile charges a function for
        # the moments the loop waited for a core (and the local Glue's process competes for them).
        profiler = cProfile.Profile(time.thread_time)
    with collections.installed():
        ticker_task = asyncio.create_task(ticker.run())
        if profiler is not None:
            profiler.enable()
        cpu0, heap_cpu0, t0 = time.process_time(), heap.cpu, time.time()
        consumer0 = consumer_counts()
        triggers, tasks = [], []
        for job, run_id in runs:  # one at a time, yielding in between, as Airflow's TriggerRunner.create_triggers does
            await asyncio.sleep(0)
            triggers.append(make_trigger(impl, job, run_id, poll, ends[run_id]))
            tasks.append(asyncio.create_task(consume(triggers[-1], run_id)))
        created_s = time.time() - t0

        first: dict[str, float] = {}
        if impl != FLOOR:  # the floor reads nothing
            watched = {run_id for _, run_id in runs}
            while len(first) < n and time.time() < end_at - steady:
                await asyncio.sleep(0.5)
                reads = await asyncio.gather(*(asyncio.to_thread(control.first_reads, job) for job in jobs))
                first = {run_id: at for per_job in reads for run_id, at in per_job.items() if run_id in watched}
        last_first_poll = max(first.values()) - t0 if first and len(first) == n else float("nan")

        # Steady state: ``steady`` seconds with every trigger waiting.
        calls_before = await asyncio.to_thread(control.calls)
        await asyncio.to_thread(control.reset_counters)
        consumer_steady0 = consumer_counts()
        await asyncio.sleep(steady)
        calls = await asyncio.to_thread(control.calls)
        consumer_steady = counts_since(consumer_steady0, consumer_counts())
        rss1, objects1, full_gc_ms = heap.measure()
        steady_in_time = time.time() < end_at
        connections_used = await asyncio.to_thread(control.connections)
        cpu_waiting = time.process_time() - cpu0 - (heap.cpu - heap_cpu0)

        await asyncio.sleep(max(0.0, end_at - time.time()))  # the runs start to end: the local Glue's busy time
        glue_cpu_ends0 = _glue_cpu(timeline)
        calls_at_ends = await asyncio.to_thread(control.calls)
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, end_at + end_over - time.time()) + 3 * poll + 60)
        cpu_total = time.process_time() - cpu0 - (heap.cpu - heap_cpu0)
        glue_cpu_ends = _glue_cpu(timeline) - glue_cpu_ends0
        calls_after, t1 = await asyncio.to_thread(control.calls), time.time()
        consumer_whole = counts_since(consumer0, consumer_counts())
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(timeline.profile)
        for task in pending:
            task.cancel()
        for trigger in triggers:
            cleanup = getattr(trigger, "cleanup", None)
            if cleanup is not None:
                await cleanup()
        ticker.stop.set()
        await ticker_task
    lags = sorted(events[r] - ends[r] for r in events)
    steady_calls = calls_by_service(calls)
    whole_calls = calls_by_service(
        {op: calls_before.get(op, 0) + calls_after.get(op, 0) for op in {*calls_before, *calls_after}}
    )
    whole_s = t1 - t0
    ends_s = (max(events.values()) if events else t1) - end_at
    return {
        "impl": impl,
        "n": n,
        "poll_interval": poll,
        "settle_s": settle,
        "fixed_mib": fixed_mib,
        "created_s": created_s,
        "rss_kib_per_run": (rss1 - rss0) / n / 1024,
        "cpu_ms_per_run": cpu_total * 1000 / n,
        "cpu_ms_per_run_waiting": cpu_waiting * 1000 / n,
        "cpu_ms_per_run_ending": (cpu_total - cpu_waiting) * 1000 / n,
        "last_first_poll_s": last_first_poll,
        "stall_ms": ticker.outside_gc * 1000,
        "stall_with_gc_ms": ticker.with_gc * 1000,
        "full_gcs": collections.count,
        "longest_full_gc_ms": collections.longest_ms,
        "gc_objects_per_run": (objects1 - objects0) / n,
        "full_gc_ms": full_gc_ms,
        "calls_per_poll": steady_calls["glue"] * poll / steady,
        "logs_calls_per_poll": steady_calls["logs"] * poll / steady,
        "steady_s": steady,
        "whole_s": whole_s,
        "steady_calls": steady_calls,
        "whole_calls": whole_calls,
        "glue_per_min_steady": steady_calls["glue"] * 60 / steady,
        "glue_per_min_whole": whole_calls["glue"] * 60 / whole_s,
        "glue_calls_whole": whole_calls["glue"],
        "glue_calls_ends": whole_calls["glue"]
        - calls_by_service(calls_before)["glue"]
        - calls_by_service(calls_at_ends)["glue"],
        "sqs_per_min_steady": steady_calls["sqs"] * 60 / steady,
        "sqs_per_min_whole": whole_calls["sqs"] * 60 / whole_s,
        "sqs_calls_whole": whole_calls["sqs"],
        "consumer_steady": consumer_steady,
        "consumer_whole": consumer_whole,
        "events_received": consumer_whole["messages"],
        "hints": consumer_whole["hints"],
        "reads_every_s": _reads_every(poll),
        "local_glue_cpu_pct_ends": glue_cpu_ends * 100 / ends_s if ends_s > 0 else float("nan"),
        "tcp_connections": connections_used,
        "median_lag_s": statistics.median(lags) if lags else float("nan"),
        "max_lag_s": max(lags) if lags else float("nan"),
        "p90_lag_s": lags[int(0.9 * (len(lags) - 1))] if lags else float("nan"),
        "resolved": len(events),
        "valid": steady_in_time and len(events) == n,
    }


def _reads_every(poll: float) -> float:
    """Return the seconds between a waiting run's reads: the poll interval, or the safety net while events flow."""
    from airflow_glue_runs._internal.events.registry import event_consumers

    settings = event_consumers().settings
    return poll if settings.queue_url is None else max(poll, settings.safety_interval)
