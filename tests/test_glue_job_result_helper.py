"""The job-side helper ``glue_job_result``: a single file that runs outside Airflow, as a Glue job would run it."""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import s3_client

from airflow_glue_runs import glue_job_result
from airflow_glue_runs.glue_job_result import (
    MAX_RESULT_BYTES,
    RESULT_URI_ARGUMENT,
    GlueJobResultError,
    result_uri,
    write_result,
)

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

BUCKET = "results"
URI = f"s3://{BUCKET}/airflow-glue-runs/dag/task/-1/abc.json"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--day", "2026-01-01", RESULT_URI_ARGUMENT, URI], URI),
        ([f"{RESULT_URI_ARGUMENT}={URI}", "--other=x"], URI),
        (["--JOB_ID", "j_1", RESULT_URI_ARGUMENT], None),  # a dangling name: nothing to write to
        (["--day", "2026-01-01"], None),
        ([], None),
        ([RESULT_URI_ARGUMENT, "s3://a/old.json", f"{RESULT_URI_ARGUMENT}={URI}"], URI),
    ],
)
def test_result_uri_reads_both_argument_forms(argv: list[str], expected: str | None) -> None:
    """``--name value`` and ``--name=value`` both give the URI, unrelated arguments are ignored, absence is None."""
    assert result_uri(argv) == expected


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ([1, 2], "must be a dict"),
        ("rows=3", "must be a dict"),
        ({"when": object()}, "not JSON data"),
        ({"ratio": math.nan}, "not JSON data"),
        ({"blob": "x" * MAX_RESULT_BYTES}, f"over the limit of {MAX_RESULT_BYTES} bytes"),
    ],
)
def test_write_result_refuses_what_the_task_could_not_take_before_sending(
    glue: LocalGlue, result: Any, match: str
) -> None:
    """A result that is not a JSON object, not JSON data or over 256 KiB fails with a clear error; nothing is sent."""
    client = s3_client(glue)
    with pytest.raises(GlueJobResultError, match=match):
        write_result(result, argv=[RESULT_URI_ARGUMENT, URI], client=client)
    assert glue.calls() == {}


def test_write_result_overwrites_last_write_wins(glue: LocalGlue) -> None:
    """A second call replaces the first object: the task reads what the job wrote last, as application/json."""
    client = s3_client(glue)
    client.create_bucket(Bucket=BUCKET)
    assert write_result({"rows": 1}, argv=[RESULT_URI_ARGUMENT, URI], client=client) == URI
    write_result({"rows": 2, "name": "été"}, argv=[f"{RESULT_URI_ARGUMENT}={URI}"], client=client)
    stored = client.get_object(Bucket=BUCKET, Key=URI.split("/", 3)[3])
    assert json.loads(stored["Body"].read()) == {"rows": 2, "name": "été"}
    assert stored["ContentType"] == "application/json"
    assert glue.calls()["PutObject"] == 2


def test_the_helper_imports_only_the_standard_library_and_boto3() -> None:
    """The file can be shipped alone: every import is of the standard library or boto3, none of Airflow or ours."""
    tree = ast.parse(Path(glue_job_result.__file__).read_text())
    nodes = list(ast.walk(tree))
    imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"boto3"} <= set(sys.stdlib_module_names)
    assert "boto3" in imported


def test_the_helper_parses_as_python_3_9() -> None:
    """Glue's oldest Python shell runtime is 3.9: the file uses no newer syntax, and defers its annotations."""
    text = Path(glue_job_result.__file__).read_text()
    tree = ast.parse(text, feature_version=(3, 9))
    future = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    assert [alias.name for node in future for alias in node.names] == ["annotations"]


def run_alone(tmp_path: Path, glue: LocalGlue, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter with only a copy of the helper file on its path (as --extra-py-files
    would give a Glue job), against the local Glue's S3 through ``AWS_ENDPOINT_URL``."""
    shutil.copy(glue_job_result.__file__, tmp_path / "glue_job_result.py")
    (tmp_path / "job.py").write_text(script)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(tmp_path),
        "AWS_ENDPOINT_URL": glue.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": glue.region_name,
    }
    return subprocess.run(
        [sys.executable, str(tmp_path / "job.py"), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )


JOB_SCRIPT = """
import sys
from glue_job_result import write_result
write_result({"rows": 1234, "output": "s3://out/part-0.csv"})
print("airflow imported:", any(name.split(".")[0] in ("airflow", "airflow_glue_runs") for name in sys.modules))
"""


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_a_script_writes_its_result_outside_airflow(tmp_path: Path, glue: LocalGlue, form: str) -> None:
    """A plain Python process with the single file writes the result to the URI of its argument (both forms), at
    the endpoint of AWS_ENDPOINT_URL, without importing Airflow or this package."""
    s3_client(glue).create_bucket(Bucket=BUCKET)
    glue.reset_counters()
    args = [RESULT_URI_ARGUMENT, URI] if form == "separate" else [f"{RESULT_URI_ARGUMENT}={URI}"]
    done = run_alone(tmp_path, glue, JOB_SCRIPT, "--day", "2026-01-01", *args)
    assert f"wrote 44 bytes to {URI}" in done.stdout
    assert "airflow imported: False" in done.stdout
    stored = s3_client(glue).get_object(Bucket=BUCKET, Key=URI.split("/", 3)[3])
    assert json.loads(stored["Body"].read()) == {"rows": 1234, "output": "s3://out/part-0.csv"}
    assert glue.calls()["PutObject"] == 1


def test_a_script_without_the_argument_prints_one_line_and_writes_nothing(tmp_path: Path, glue: LocalGlue) -> None:
    """Run by hand (no result URI argument), the script goes on: one line printed, no S3 call."""
    done = run_alone(tmp_path, glue, JOB_SCRIPT, "--day", "2026-01-01")
    lines = [line for line in done.stdout.splitlines() if line.startswith("glue_job_result:")]
    assert lines == [f"glue_job_result: no {RESULT_URI_ARGUMENT} argument; the result was not written."]
    assert glue.calls() == {}
