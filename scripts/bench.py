"""Benchmark: N waiting Glue runs in one event loop: this project's trigger, a do-nothing floor, the Amazon provider's.

``make bench`` runs this. The local Glue runs in its own process, so its CPU and memory are not counted. For each
N, implementation and repetition a fresh Python process (the "child", :mod:`bench_child`) starts N runs over 10
jobs, creates N triggers in one asyncio loop, one at a time as Airflow's triggerer does, lets them wait, then
lets the runs end at random moments over one poll interval (the local Glue scripts that with
``--local-glue-duration``: nothing in the measured process ends them). It reports, per row:

- RSS growth per waiting run in the steady state, and the tracked (GC) objects each adds;
- CPU ms per run over the whole timeline (creation, waiting, the runs ending), and above the floor: the floor is
  a trigger that only sleeps until its run's end (:class:`bench_triggers.FloorTrigger`), so what is left is the
  cost of reading and judging the runs;
- the longest event-loop stall outside CPython's full collections, and with them;
- Glue calls per poll interval in the steady state, TCP connections, the time until the last run's first read;
- detection lag: from a run's scripted end to its trigger's event.

The Amazon provider's trigger (one client and one GetJobRun per run and poll) takes minutes at N=5000: it runs at
N <= ``--amazon-max-n`` (1000) only, with a longer settle time (its first polls alone take ~40 s at N=1000).

``--events`` compares event wake-ups with polling instead (:mod:`bench_events`): at N=1000, this project's trigger
polling every 5 s, the same with the triggerer's SQS consumer of Glue's events (300 s safety net), and with every
event dropped (30 s safety net); a 60 s steady state, and a table of lag, Glue and SQS calls per minute (waiting,
and over the whole timeline), the consumer's counts and CPU.
Figures vary with the machine and its load; the docs' "Performance" page quotes runs on the project's 2-core
reference machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_child import JOBS, StartTooSlow, Timeline, child
from bench_events import EVENT_IMPLEMENTATIONS, local_glue_pid
from bench_triggers import DEFAULT_IMPLEMENTATIONS, FLOOR, IMPLEMENTATIONS

from airflow_glue_runs.local_glue import local_glue_process

SETTLE = 30.0
"""Seconds from creating the triggers to the window in which the runs end (creation, first reads, steady state)."""
EVENTS_STEADY = 60.0
"""The steady state of ``--events`` (seconds): long enough to see the consumer's 20 s long polls."""
EVENTS_ROWS = ("airflow-glue-runs", *EVENT_IMPLEMENTATIONS)


def settle_for(impl: str, n: int, settle: float) -> float:
    """Return the settle time of a row: the Amazon provider's triggers need ~40 ms each to get their first read."""
    return settle + 0.06 * n if impl.startswith("amazon") else settle


COLUMNS = [
    ("N", "n", "{:d}"),
    ("implementation", "impl", "{}"),
    ("KiB/run", "rss_kib_per_run", "{:.1f}"),
    ("CPU ms/run", "cpu_ms_per_run", "{:.2f}"),
    ("above floor", "cpu_above_floor", "{:.2f}"),
    ("stall ms (no full GC)", "stall_ms", "{:.0f}"),
    ("stall ms (with GCs)", "stall_with_gc_ms", "{:.0f}"),
    ("full GCs", "full_gcs", "{:d}"),
    ("GC objects/run", "gc_objects_per_run", "{:.0f}"),
    ("Glue calls/poll", "calls_per_poll", "{:.1f}"),
    ("Logs calls/poll", "logs_calls_per_poll", "{:.1f}"),
    ("TCP conns", "tcp_connections", "{:d}"),
    ("last first read s", "last_first_poll_s", "{:.2f}"),
    ("median lag s", "median_lag_s", "{:.2f}"),
    ("max lag s", "max_lag_s", "{:.2f}"),
    ("resolved", "resolved", "{:d}"),
]


EVENT_COLUMNS = [
    ("implementation", "impl", "{}"),
    ("reads every s", "reads_every_s", "{:g}"),
    ("median lag s", "median_lag_s", "{:.2f}"),
    ("p90 lag s", "p90_lag_s", "{:.2f}"),
    ("max lag s", "max_lag_s", "{:.2f}"),
    ("Glue calls/min waiting", "glue_per_min_steady", "{:.1f}"),
    ("Glue calls/min whole", "glue_per_min_whole", "{:.1f}"),
    ("Glue calls whole", "glue_calls_whole", "{:d}"),
    ("of which at the ends", "glue_calls_ends", "{:d}"),
    ("SQS calls/min waiting", "sqs_per_min_steady", "{:.1f}"),
    ("SQS calls/min whole", "sqs_per_min_whole", "{:.1f}"),
    ("SQS calls whole", "sqs_calls_whole", "{:d}"),
    ("events received", "events_received", "{:d}"),
    ("hints", "hints", "{:d}"),
    ("CPU ms/run", "cpu_ms_per_run", "{:.2f}"),
    ("timeline s", "whole_s", "{:.0f}"),
    ("local Glue CPU % (ends)", "local_glue_cpu_pct_ends", "{:.0f}"),
    ("resolved", "resolved", "{:d}"),
]
"""The ``--events`` table: "waiting" is the steady state, "whole" the timeline from the first trigger to the last
event, "at the ends" from the first scripted end to the last event; "events received" and "hints" are the
consumer's counts (messages, and those naming a watched run)."""


def print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]] = COLUMNS) -> None:
    """Print the results as a Markdown table."""
    print("| " + " | ".join(title for title, _, _ in columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "" for _, key, fmt in columns]
        print("| " + " | ".join(cells) + (" |" if row["valid"] else " | (not valid: see resolved / settle)"))


def add_floor_shares(rows: list[dict[str, Any]]) -> None:
    """Set each row's CPU above the floor: its CPU less the mean of the floor rows of the same N."""
    for row in rows:
        floors = [r["cpu_ms_per_run"] for r in rows if r["impl"] == FLOOR and r["n"] == row["n"]]
        if row["impl"] != FLOOR and floors:
            row["cpu_above_floor"] = row["cpu_ms_per_run"] - statistics.mean(floors)


RETRY = 3
"""The child's exit code when starting the runs overran its budget (a busy machine): the row is run again."""


def run_child(cmd: list[str]) -> dict[str, Any] | None:
    """Run one row's child, again with a doubled start budget if it overran; return its figures (None: failed)."""
    for scale in (1, 2, 4):
        # The triggers' log lines (Airflow's structlog writes them to stdout) go to a file, as a triggerer's do: a
        # pipe to this process would charge the child a context switch per line on a busy machine.
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            log, result = Path(tmp) / "log", Path(tmp) / "result.json"
            with log.open("w") as out:
                command = [*cmd, "--start-scale", str(scale), "--result", str(result)]
                code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
            if code == 0:
                return dict(json.loads(result.read_text()))
            print(log.read_text()[-3000:], file=sys.stderr)
        if code != RETRY:
            return None
    return None


def main() -> int:
    """Run every (N, implementation, repetition) in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", action="store_true", help="compare event wake-ups with polling (N=1000)")
    parser.add_argument("--sizes", type=int, nargs="+", help="numbers of runs (default 1000 5000; --events: 1000)")
    parser.add_argument("--impl", nargs="+", choices=IMPLEMENTATIONS, help="implementations (default: by mode)")
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--end-over", type=float, help="seconds over which the runs end (default: one poll)")
    parser.add_argument("--steady", type=float, help="seconds of steady state (default 3 polls; --events: 60)")
    parser.add_argument("--settle", type=float, help="seconds from the triggers to the runs' ends (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each row this many times")
    parser.add_argument("--amazon-max-n", type=int, default=1000, help="largest N for the Amazon provider's rows")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each row's loop into this folder")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--start-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--local-glue-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    end_over = args.end_over if args.end_over is not None else args.poll_interval
    sizes = args.sizes or ([1000] if args.events else [1000, 5000])
    impls = args.impl or list(EVENTS_ROWS if args.events else DEFAULT_IMPLEMENTATIONS)
    steady = args.steady or (EVENTS_STEADY if args.events else 3 * args.poll_interval)
    settle = args.settle or (max(SETTLE, steady + 20) if args.events else SETTLE)

    if args.child:
        timeline = Timeline(
            poll=args.poll_interval,
            settle=settle,
            end_over=end_over,
            steady=steady,
            endpoint=args.endpoint,
            local_glue_pid=args.local_glue_pid,
            profile=str(args.profile) if args.profile else None,
            scale=args.start_scale,
        )
        figures = child(impls[0], sizes[0], timeline)
        try:
            args.result.write_text(json.dumps(asyncio.run(figures)))
        except StartTooSlow as error:
            print(error, file=sys.stderr)
            return RETRY
        return 0

    rows: list[dict[str, Any]] = []
    amazon = any(impl.startswith("amazon") for impl in impls)
    skipped = sorted(n for n in set(sizes) if amazon and n > args.amazon_max_n)
    loads: list[float] = []
    with local_glue_process() as control:
        glue_pid = local_glue_pid()
        for n in sizes:
            for impl in impls:
                if impl.startswith("amazon") and n > args.amazon_max_n:
                    continue
                for rep in range(args.repeat):
                    cmd = [sys.executable, __file__, "--child", "--impl", impl, "--sizes", str(n)]
                    cmd += ["--poll-interval", str(args.poll_interval), "--end-over", str(end_over)]
                    cmd += ["--settle", str(settle_for(impl, n, settle)), "--endpoint", control.endpoint_url]
                    cmd += ["--steady", str(steady)]
                    if glue_pid is not None:
                        cmd += ["--local-glue-pid", str(glue_pid)]
                    if args.profile:
                        args.profile.mkdir(parents=True, exist_ok=True)
                        cmd += ["--profile", str(args.profile / f"{impl}-{n}-{rep}.prof")]
                    loads.append(os.getloadavg()[0])
                    print(f"N={n} {impl} #{rep + 1} ({loads[-1]:.2f} load) ...", file=sys.stderr, flush=True)
                    row = run_child(cmd)
                    if row is None:
                        return 1
                    row["load_before"] = loads[-1]
                    rows.append(row)
    loads.append(os.getloadavg()[0])
    add_floor_shares(rows)
    print(
        f"\nPoll interval {args.poll_interval:g} s, {JOBS} jobs, runs ending at random moments over {end_over:g} s, "
        f"{settle:g} s after the triggers are created, steady state {steady:g} s; load average "
        f"{min(loads):.2f}-{max(loads):.2f} (1 min, before each row and at the end):\n"
    )
    print_table(rows, EVENT_COLUMNS if args.events else COLUMNS)
    if skipped:
        print(
            f"\nThe Amazon provider's rows ran at N <= {args.amazon_max_n} only (skipped at N="
            f"{', '.join(map(str, skipped))}:"
            " one client and one GetJobRun per trigger take many minutes there; --amazon-max-n to run them)."
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
