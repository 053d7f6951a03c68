"""Benchmark: N waiting Glue runs in one event loop, this project's trigger beside the Amazon provider's.

``make bench`` runs this. The local Glue runs in its own process, so its CPU and memory are not counted. For each
N and each implementation a fresh Python process (the "child") starts N long runs spread over 10 jobs, creates
N triggers in one asyncio loop, one at a time as Airflow's triggerer does, and measures:

- the fixed cost: RSS growth from one warm-up trigger (imports, the first AWS client) before the measurement;
- RSS growth per waiting trigger after that, once every trigger has polled and the loop is in its steady state;
- CPU ms per trigger, from creating the triggers until every run was read once;
- the time until the last trigger's first poll (the local Glue records when each run was first read);
- the longest event-loop stall (a 10 ms ticker's worst lateness), leaving out the harness's own measurement steps
  (the ``gc.collect()`` before each RSS reading is the benchmark's, not the trigger's);
- the tracked (GC) objects each waiting trigger adds, and how long one full collection of the whole process heap
  takes in the steady state: CPython runs one now and then on the event loop, and its length is the heap's;
- Glue API calls per poll interval in the steady state, and the TCP connections used;
- detection lag: from the moment a run is ended in the local Glue to the moment its trigger's event is yielded
  (runs end one by one at random moments spread over two poll intervals).

Figures vary with the machine; the README quotes a run on the project's 2-core reference machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_glue_runs.local_glue import local_glue_process

JOBS = 10
IMPLEMENTATIONS = ("airflow-glue-runs", "amazon", "airflow-glue-runs+logs", "amazon+verbose")
"""The ``+logs`` rows forward the runs' CloudWatch lines: ``forward_logs=True`` beside the Amazon provider's
``verbose=True``. Not run by default (``--impl`` names them)."""
DEFAULT_IMPLEMENTATIONS = IMPLEMENTATIONS[:2]
LOGS_OPERATIONS = ("FilterLogEvents", "GetLogEvents", "DescribeLogStreams")
LOG_LINES = json.dumps([[0, "driver", "starting\nreading input"], [1, "driver/error", "WARN something"]])


def rss_bytes() -> int:
    """Return this process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def make_trigger(impl: str, job: str, run_id: str, poll: float) -> Any:
    """Build one trigger of the given implementation, as the operator would when deferring."""
    if impl.startswith("amazon"):
        from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

        return GlueJobCompleteTrigger(
            job_name=job,
            run_id=run_id,
            verbose=impl.endswith("+verbose"),
            waiter_delay=int(poll),
            waiter_max_attempts=100_000,
            aws_conn_id="aws_default",
        )
    from airflow_glue_runs.triggers import GlueJobRunTrigger

    forward_logs = impl.endswith("+logs")
    return GlueJobRunTrigger(
        job_name=job, run_id=run_id, poll_interval=poll, aws_conn_id="aws_default", forward_logs=forward_logs
    )


class Heap:
    """The harness's own measurements of the process heap, which the stall ticker must not count."""

    def __init__(self) -> None:
        self.measurements = 0  # bumped before each measurement, so a tick that spans one is left out

    def measure(self) -> tuple[int, int, float]:
        """Collect fully; return (RSS bytes, tracked objects, milliseconds the full collection took)."""
        self.measurements += 1
        before = time.perf_counter()
        gc.collect()
        took_ms = (time.perf_counter() - before) * 1000
        return rss_bytes(), len(gc.get_objects()), took_ms


async def child(impl: str, n: int, poll: float, endpoint: str) -> dict[str, Any]:
    """Measure one implementation with ``n`` waiting runs; return the figures."""
    from airflow_glue_runs.local_glue import LocalGlueControl

    control = LocalGlueControl(endpoint)
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = control.airflow_connection()
    prefix = f"bench-{impl}-{n}-{os.getpid()}"
    jobs = [f"{prefix}-{j}" for j in range(JOBS)]
    for job in jobs:
        defaults = {"--local-glue-duration": "86400", "--local-glue-log-lines": LOG_LINES}
        control.create_job(job, max_concurrent_runs=n, default_arguments=defaults)
    glue = control.client()
    runs = [(jobs[i % JOBS], glue.start_job_run(JobName=jobs[i % JOBS])["JobRunId"]) for i in range(n)]
    # Warm-up: one trigger waits on a run of its own until it resolves, so the imports and the first AWS client
    # are paid before the baseline; they are reported as the fixed cost (Airflow's own import is not in it).
    make_trigger(impl, jobs[0], runs[0][1], poll)  # imports Airflow and the trigger's module
    heap = Heap()
    rss_start, _, _ = heap.measure()
    warm_run = glue.start_job_run(JobName=jobs[0], Arguments={"--local-glue-duration": "0"})["JobRunId"]
    async for _event in make_trigger(impl, jobs[0], warm_run, poll).run():
        break
    rss0, objects0, _ = heap.measure()
    fixed_mib = (rss0 - rss_start) / 2**20

    cpu0 = time.process_time()
    stall = 0.0
    stop_ticker = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        while not stop_ticker.is_set():
            measurements, before = heap.measurements, time.perf_counter()
            await asyncio.sleep(0.01)
            if heap.measurements == measurements:
                stall = max(stall, time.perf_counter() - before - 0.01)

    events: dict[str, float] = {}

    async def consume(trigger: Any, run_id: str) -> None:
        async for _event in trigger.run():
            events[run_id] = time.time()
            return

    await asyncio.to_thread(control.reset_counters)
    ticker_task = asyncio.create_task(ticker())
    t0 = time.time()
    triggers, tasks = [], []
    for job, run_id in runs:  # one at a time, yielding in between, as Airflow's TriggerRunner.create_triggers does
        await asyncio.sleep(0)
        triggers.append(make_trigger(impl, job, run_id, poll))
        tasks.append(asyncio.create_task(consume(triggers[-1], run_id)))

    deadline = time.monotonic() + max(600.0, 4 * poll)
    first: dict[str, float] = {}
    watched = {run_id for _, run_id in runs}
    while len(first) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        reads = await asyncio.gather(*(asyncio.to_thread(control.first_reads, job) for job in jobs))
        first = {run_id: at for per_job in reads for run_id, at in per_job.items() if run_id in watched}
    last_first_poll = max(first.values()) - t0 if len(first) == n else float("nan")
    cpu_ms = (time.process_time() - cpu0) * 1000 / n

    # Steady state: three poll intervals with every trigger waiting.
    await asyncio.to_thread(control.reset_counters)
    await asyncio.sleep(3 * poll)
    calls = await asyncio.to_thread(control.calls)
    rss1, objects1, full_gc_ms = heap.measure()
    rss_per_trigger = (rss1 - rss0) / n
    connections_used = await asyncio.to_thread(control.connections)

    # Runs end one by one at random moments over two poll intervals, so the lag samples every phase of the poll.
    ended: dict[str, float] = {}
    rng = random.Random(n)
    schedule = sorted((rng.uniform(0, 2 * poll), job, run_id) for job, run_id in runs)

    def end_on_schedule() -> None:
        start = time.time()
        for offset, job, run_id in schedule:
            time.sleep(max(0.0, start + offset - time.time()))
            ended[run_id] = time.time()
            control.set_run_state(job, run_id, "SUCCEEDED")

    await asyncio.to_thread(end_on_schedule)
    _, pending = await asyncio.wait(tasks, timeout=3 * poll + 60)
    for task in pending:
        task.cancel()
    for trigger in triggers:
        cleanup = getattr(trigger, "cleanup", None)
        if cleanup is not None:
            await cleanup()
    stop_ticker.set()
    await ticker_task
    lags = [events[r] - ended[r] for r in events]
    return {
        "impl": impl,
        "n": n,
        "poll_interval": poll,
        "fixed_mib": fixed_mib,
        "rss_kib_per_trigger": rss_per_trigger / 1024,
        "cpu_ms_per_trigger": cpu_ms,
        "last_first_poll_s": last_first_poll,
        "max_stall_ms": stall * 1000,
        "gc_objects_per_trigger": (objects1 - objects0) / n,
        "full_gc_ms": full_gc_ms,
        "calls_per_poll": sum(v for k, v in calls.items() if k not in LOGS_OPERATIONS) / 3,
        "logs_calls_per_poll": sum(v for k, v in calls.items() if k in LOGS_OPERATIONS) / 3,
        "tcp_connections": connections_used,
        "median_lag_s": statistics.median(lags) if lags else float("nan"),
        "max_lag_s": max(lags) if lags else float("nan"),
        "resolved": len(events),
    }


COLUMNS = [
    ("N", "n", "{:d}"),
    ("implementation", "impl", "{}"),
    ("fixed MiB", "fixed_mib", "{:.1f}"),
    ("RSS KiB/trigger", "rss_kib_per_trigger", "{:.1f}"),
    ("CPU ms/trigger", "cpu_ms_per_trigger", "{:.2f}"),
    ("last first poll s", "last_first_poll_s", "{:.2f}"),
    ("max stall ms", "max_stall_ms", "{:.0f}"),
    ("GC objects/trigger", "gc_objects_per_trigger", "{:.0f}"),
    ("full GC ms", "full_gc_ms", "{:.0f}"),
    ("Glue calls/poll", "calls_per_poll", "{:.1f}"),
    ("Logs calls/poll", "logs_calls_per_poll", "{:.1f}"),
    ("TCP conns", "tcp_connections", "{:d}"),
    ("median lag s", "median_lag_s", "{:.2f}"),
    ("max lag s", "max_lag_s", "{:.2f}"),
    ("resolved", "resolved", "{:d}"),
]


def print_table(rows: list[dict[str, Any]]) -> None:
    """Print the results as a Markdown table."""
    print("| " + " | ".join(title for title, _, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(fmt.format(row[key]) for _, key, fmt in COLUMNS) + " |")


def main() -> int:
    """Run every (N, implementation) pair in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500, 1000])
    parser.add_argument("--impl", nargs="+", choices=IMPLEMENTATIONS, default=list(DEFAULT_IMPLEMENTATIONS))
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = asyncio.run(child(args.impl[0], args.sizes[0], args.poll_interval, args.endpoint))
        print(json.dumps(result))
        return 0

    rows = []
    with local_glue_process() as control:
        for n in args.sizes:
            for impl in args.impl:
                cmd = [sys.executable, __file__, "--child", "--impl", impl, "--sizes", str(n)]
                cmd += ["--poll-interval", str(args.poll_interval), "--endpoint", control.endpoint_url]
                print(f"N={n} {impl} ...", file=sys.stderr, flush=True)
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
                if out.returncode != 0:
                    print(out.stderr[-3000:], file=sys.stderr)
                    return 1
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\nPoll interval {args.poll_interval:g} s, {JOBS} jobs, runs spread evenly; `make bench`:\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
