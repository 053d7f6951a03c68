"""The main job: run an example DAG through real Airflow against the local Glue and print what happened.

``make demo`` runs this after setting up the virtualenv. It starts the local Glue (moto server on 127.0.0.1,
a free port) in its own process, creates the demo's Glue jobs, runs ``airflow dags test`` (tasks defer and their
triggers run inline) in a private ``AIRFLOW_HOME``, prints one line per Glue run with its task, state, duration,
DPU-seconds and console link, and stops everything it started. Exit status 0 means every check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_glue_runs.local_glue import local_glue_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Job definitions of the local Glue; the --local-glue-* default arguments script how their runs behave.
DEMO_JOBS: dict[str, dict[str, Any]] = {
    "demo-daily-etl": {
        "default_arguments": {
            "--local-glue-duration": "3",
            # What the script prints (the task forwards it with forward_logs=True): [seconds, stream, text].
            "--local-glue-log-lines": json.dumps(
                [
                    [0.5, "driver", "Reading the day's partition from s3://example-bucket/raw"],
                    [1.5, "driver", "Transformed 12345 rows\nWriting to s3://example-bucket/curated"],
                    [2.0, "driver/error", "WARN GlueContext: 3 malformed rows skipped"],
                    [3.5, "driver", "Done: 12342 rows written"],  # ingested after the run's end
                ]
            ),
        }
    },
    "demo-partition-etl": {
        "max_concurrent_runs": 50,
        "default_arguments": {"--local-glue-duration": "3", "--enable-auto-scaling": "true"},
    },
    "demo-sensor-etl": {"default_arguments": {"--local-glue-duration": "4"}},
    # Long enough that the slot is still taken when a loaded scheduler gets to the next task (8 s was not, at times).
    "demo-queued-etl": {"max_concurrent_runs": 1, "default_arguments": {"--local-glue-duration": "15"}},
    # Watched by example_glue_asset_watcher (its asset watcher polls it in a triggerer; `dags test` starts none).
    "demo-orders-etl": {"default_arguments": {"--local-glue-duration": "2"}},
    # A streaming job: its runs stay RUNNING for a day, until the DAG stops them.
    "demo-clicks-stream": {"command": "gluestreaming", "default_arguments": {"--local-glue-duration": "86400"}},
}
# S3 buckets of the local Glue (the job-definition DAGs upload their scripts to the first; the job-result DAG reads
# its CSV from the second and writes its result under the third, its job's --TempDir).
DEMO_BUCKETS: tuple[str, ...] = ("demo-glue-scripts", "demo-glue-data", "demo-glue-temp")
# Objects the demo puts in the local S3: (bucket, key, file). The job-result DAG's CSV and the job-side helper.
DEMO_OBJECTS: tuple[tuple[str, str, Path], ...] = (
    ("demo-glue-data", "orders.csv", ROOT / "example_dags" / "glue_data" / "orders.csv"),
    ("demo-glue-scripts", "libs/glue_job_result.py", ROOT / "airflow_glue_runs" / "glue_job_result.py"),
)
# IAM roles of the local Glue (the Amazon-migration DAG names its job's role).
DEMO_ROLES: tuple[str, ...] = ("GlueJobRole",)
# What each example DAG is expected to end as, and which tasks may fail (the queuing DAG fails on purpose).
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "example_glue_daily": ("success", set()),
    "example_glue_fanout": ("success", set()),
    "example_glue_sensor": ("success", set()),
    "example_glue_queuing": ("success", {"impatient"}),  # the leaf task succeeds; impatient fails on purpose
    "example_glue_job_definition": ("success", set()),
    "example_glue_amazon_migration": ("success", set()),
    "example_glue_job_result": ("success", set()),
    "example_glue_streaming": ("success", set()),
}
# Example DAGs that `airflow dags test` cannot run as they are meant to: parsed by the tests and the demo, never run
# by them. The asset-scheduled DAG starts from its asset watcher's events, which only a triggerer fires; the watcher
# and the DAG's task logic are run against the local Glue by tests/test_asset_watcher.py.
PARSED_ONLY: dict[str, str] = {"example_glue_asset_watcher": "scheduled on an asset that a Glue-run watcher updates"}
# Tasks that succeed with their run left RUNNING (wait_until="running"): their summary says RUNNING, and a later
# task of the DAG stops the run.
LEFT_RUNNING: dict[str, set[str]] = {"example_glue_streaming": {"start_stream"}}
# Tasks a branch skips on purpose (the job-result DAG counts rows, so it loads them).
SKIPPED: dict[str, set[str]] = {"example_glue_job_result": {"nothing_to_load"}}
LOGICAL_DATE = "2026-01-01"


def prepare_local_glue(glue: Any) -> None:
    """Create the demo's Glue jobs, S3 buckets and IAM roles in a local Glue (``LocalGlue`` or ``LocalGlueControl``)."""
    import boto3

    for name, spec in DEMO_JOBS.items():
        glue.create_job(name, **spec)
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=glue.endpoint_url, region_name=glue.region_name, **credentials)
    for bucket in DEMO_BUCKETS:
        s3.create_bucket(Bucket=bucket)
    for bucket, key, path in DEMO_OBJECTS:
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    iam = boto3.client("iam", endpoint_url=glue.endpoint_url, region_name=glue.region_name, **credentials)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    for role in DEMO_ROLES:
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))


def airflow_env(home: Path, connection: str) -> dict[str, str]:
    """Environment for the Airflow CLI: private home and SQLite DB, the example DAGs, the local Glue connection."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_AWS_DEFAULT": connection,
    }


def run_dag(dag_id: str, env: dict[str, str], workdir: Path) -> tuple[int, Path]:
    """Run ``airflow dags test`` for one DAG; return its exit code and the path of its log."""
    log_path = workdir / f"{dag_id}.log"
    with log_path.open("wb") as log:
        proc = subprocess.run(
            [str(BIN / "airflow"), "dags", "test", dag_id, LOGICAL_DATE],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    return proc.returncode, log_path


def read_results(home: Path, dag_id: str) -> tuple[str, list[dict[str, Any]]]:
    """Read the latest run of ``dag_id`` from Airflow's SQLite DB: its state and every task with its summary."""
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        if row is None:
            return "missing", []
        run_id, state = row
        tasks = db.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? "
            "ORDER BY task_id, map_index",
            (dag_id, run_id),
        ).fetchall()
        xcoms = {
            (task_id, map_index, key): value
            for task_id, map_index, key, value in db.execute(
                "SELECT task_id, map_index, key, value FROM xcom WHERE dag_id = ? AND run_id = ? "
                "AND key IN ('glue_job_run', 'return_value')",
                (dag_id, run_id),
            )
        }
    results = []
    for task_id, map_index, task_state in tasks:
        summary = _decoded(xcoms.get((task_id, map_index, "glue_job_run")))
        returned = None if summary else _decoded(xcoms.get((task_id, map_index, "return_value")))
        results.append(
            {
                "task": task_id,
                "map_index": map_index,
                "state": task_state,
                "summary": summary or {},
                "returned": returned,
            }
        )
    return state, results


def _decoded(raw: Any) -> Any:
    """Decode an XCom value as stored in the metadata database (JSON text, sometimes twice)."""
    value = raw
    while isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:  # plain text, e.g. a run id
            break
    return value


def print_report(dag_id: str, dag_state: str, results: list[dict[str, Any]]) -> None:
    """Print one line per task: its state and its Glue run's state, duration, DPU-seconds and console link.

    A task without a Glue run shows what it returned instead (e.g. the fan-out DAG's summary).
    """
    print(f"\n=== {dag_id}: DAG run {dag_state} ===")
    print(f"{'task':<28} {'task state':<14} {'glue run':<10} {'duration':>9} {'DPU-s':>8}  console link")
    for item in results:
        task = item["task"] + (f"[{item['map_index']}]" if item["map_index"] >= 0 else "")
        s = item["summary"]
        duration = f"{s['execution_time']} s" if s.get("execution_time") is not None else "-"
        dpu = f"{s['dpu_seconds']:.1f}" if s.get("dpu_seconds") is not None else "-"
        print(
            f"{task:<28} {item['state'] or '-':<14} {s.get('state', '-'):<10} {duration:>9} {dpu:>8}  "
            f"{s.get('console_url') or _returned(item['returned'])}"
        )
        if s.get("job_result") is not None:
            print(f"{'':<28} what the job computed (XCom glue_job_result): {json.dumps(s['job_result'])}")


def _returned(value: Any) -> str:
    """Show what a task without a Glue run returned; a job definition's result as its action and changes."""
    if isinstance(value, dict) and "action" in value and "changes" in value:
        fields = ", ".join(change["field"] for change in value["changes"][:4])
        more = ", ..." if len(value["changes"]) > 4 else ""
        return f"job {value['job_name']} {value['action']} ({len(value['changes'])} change(s): {fields}{more})"
    return str(value or "-")


def print_forwarded_lines(log_path: Path, limit: int = 6) -> None:
    """Print the first Glue log lines that tasks forwarded into their logs (``forward_logs=True``)."""
    text = log_path.read_text(errors="replace")
    lines = re.findall(r"(\[glue [^\]]+\] .*?) +\[[\w.]+\] loc=", text)
    if lines:
        print(f"Glue log lines forwarded into the task log ({min(limit, len(lines))} of {len(lines)}):")
        for line in lines[:limit]:
            print(f"  {line}")


def check(dag_id: str, code: int, dag_state: str, results: list[dict[str, Any]]) -> list[str]:
    """Return what went differently from what the example DAG is expected to do."""
    expected_state, may_fail = EXPECTED[dag_id]
    problems = []
    if dag_state != expected_state:
        problems.append(f"{dag_id}: DAG run ended {dag_state}, expected {expected_state} (airflow exit code {code})")
    skipped = SKIPPED.get(dag_id, set())
    for item in results:
        if (item["state"] == "skipped") != (item["task"] in skipped):
            problems.append(f"{dag_id}: task {item['task']} ended {item['state']}")
            continue
        failed = item["state"] not in ("success", "skipped")
        if failed != (item["task"] in may_fail):
            problems.append(f"{dag_id}: task {item['task']} ended {item['state']}")
    return problems


def main() -> int:
    """Run the demo; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dags",
        nargs="*",
        default=[
            "example_glue_fanout",
            "example_glue_daily",
            "example_glue_job_definition",
            "example_glue_job_result",
            "example_glue_streaming",
        ],
        metavar="DAG_ID",
        help=", ".join(EXPECTED),
    )
    parser.add_argument("--home", type=Path, default=ROOT / ".airflow" / "demo", help="AIRFLOW_HOME to use")
    args = parser.parse_args()
    unknown = sorted(set(args.dags) - set(EXPECTED))
    if unknown:
        parser.error(f"unknown DAG id(s) {', '.join(unknown)}; choose from {', '.join(EXPECTED)}")

    args.home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="glue-demo-") as tmp:
        workdir = Path(tmp)
        with local_glue_process(log_path=workdir / "local-glue.log") as control:
            prepare_local_glue(control)
            env = airflow_env(args.home, control.airflow_connection())
            print(f"Local Glue at {control.endpoint_url}; Airflow home {args.home}")
            subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
            for dag_id in args.dags:
                print(f"Running {dag_id} with `airflow dags test` (tasks defer; triggers run inline) ...")
                code, log_path = run_dag(dag_id, env, workdir)
                dag_state, results = read_results(args.home, dag_id)
                print_report(dag_id, dag_state, results)
                print_forwarded_lines(log_path)
                found = check(dag_id, code, dag_state, results)
                if found:
                    print(f"--- last lines of {log_path.name} ---")
                    print("\n".join(log_path.read_text(errors="replace").splitlines()[-40:]))
                problems += found
    elapsed = time.monotonic() - started
    if problems:
        print("\n".join(["", *problems, f"DEMO FAILED ({len(problems)} problem(s), {elapsed:.0f} s)"]))
        return 1
    print(f"\nDEMO PASSED: {', '.join(args.dags)} ran as expected against the local Glue in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
