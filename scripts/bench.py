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

from bench_child import JOBS, StartTooSlow, child
from bench_triggers import DEFAULT_IMPLEMENTATIONS, FLOOR, IMPLEMENTATIONS

from airflow_glue_runs.local_glue import local_glue_process

SETTLE = 30.0
"""Seconds from creating the triggers to the window in which the runs end (creation, first reads, steady state)."""


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


def print_table(rows: list[dict[str, Any]]) -> None:
    """Print the results as a Markdown table."""
    print("| " + " | ".join(title for title, _, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "" for _, key, fmt in COLUMNS]
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--impl", nargs="+", choices=IMPLEMENTATIONS, default=list(DEFAULT_IMPLEMENTATIONS))
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--end-over", type=float, help="seconds over which the runs end (default: one poll)")
    parser.add_argument("--settle", type=float, default=SETTLE, help="seconds from the triggers to the runs' ends")
    parser.add_argument("--repeat", type=int, default=1, help="measure each row this many times")
    parser.add_argument("--amazon-max-n", type=int, default=1000, help="largest N for the Amazon provider's rows")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each row's loop into this folder")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--start-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    end_over = args.end_over if args.end_over is not None else args.poll_interval

    if args.child:
        profile = str(args.profile) if args.profile else None
        impl, n = args.impl[0], args.sizes[0]
        figures = child(impl, n, args.poll_interval, args.endpoint, args.settle, end_over, profile, args.start_scale)
        try:
            args.result.write_text(json.dumps(asyncio.run(figures)))
        except StartTooSlow as error:
            print(error, file=sys.stderr)
            return RETRY
        return 0

    rows: list[dict[str, Any]] = []
    amazon = any(impl.startswith("amazon") for impl in args.impl)
    skipped = sorted(n for n in set(args.sizes) if amazon and n > args.amazon_max_n)
    with local_glue_process() as control:
        for n in args.sizes:
            for impl in args.impl:
                if impl.startswith("amazon") and n > args.amazon_max_n:
                    continue
                for rep in range(args.repeat):
                    cmd = [sys.executable, __file__, "--child", "--impl", impl, "--sizes", str(n)]
                    cmd += ["--poll-interval", str(args.poll_interval), "--end-over", str(end_over)]
                    cmd += ["--settle", str(settle_for(impl, n, args.settle)), "--endpoint", control.endpoint_url]
                    if args.profile:
                        args.profile.mkdir(parents=True, exist_ok=True)
                        cmd += ["--profile", str(args.profile / f"{impl}-{n}-{rep}.prof")]
                    print(f"N={n} {impl} #{rep + 1} ({os.getloadavg()[0]:.2f} load) ...", file=sys.stderr, flush=True)
                    row = run_child(cmd)
                    if row is None:
                        return 1
                    rows.append(row)
    add_floor_shares(rows)
    print(
        f"\nPoll interval {args.poll_interval:g} s, {JOBS} jobs, runs ending at random moments over {end_over:g} s, "
        f"{args.settle:g} s after the triggers are created; load average {os.getloadavg()[0]:.2f}:\n"
    )
    print_table(rows)
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
