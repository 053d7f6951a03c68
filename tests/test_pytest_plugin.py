"""The ``local_glue`` pytest fixture users get through the ``pytest11`` entry point."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from airflow_glue_runs import pytest_plugin


def run_pytest(directory: Path, test_code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run pytest in a fresh process on one test file, as a user's project would (plugins auto-loaded)."""
    (directory / "test_user.py").write_text(textwrap.dedent(test_code))
    environment = {key: value for key, value in os.environ.items() if key != "AIRFLOW_CONN_AWS_DEFAULT"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=directory,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plugin_is_registered_for_pytest() -> None:
    """The distribution registers the plugin module under pytest's pytest11 entry point group."""
    plugins = {ep.value for ep in entry_points(group="pytest11")}
    assert "airflow_glue_runs.pytest_plugin" in plugins


def test_plugin_import_is_light() -> None:
    """Importing the plugin (which pytest does in every session) loads no moto, botocore, boto3 or Airflow."""
    code = (
        "import sys, airflow_glue_runs.pytest_plugin\n"
        "heavy = [m for m in ('moto', 'botocore', 'boto3', 'airflow', 'werkzeug', 'airflow_glue_runs.local_glue')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_local_extra_fails_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without moto the fixture fails the test naming what is missing and the extra to install."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real_find_spec(name, *a)
    )
    with pytest.raises(pytest.fail.Exception, match=r"missing: moto\).*pip install 'airflow-glue-runs\[local\]'"):
        pytest_plugin.require_local_extra()


def test_fixture_starts_connects_and_stops(tmp_path: Path) -> None:
    """In a user's session the fixture gives a started local Glue, sets aws_default to it, and stops it after."""
    result = run_pytest(
        tmp_path,
        """
        import json, os
        import pytest

        seen = {}

        def test_uses_it(local_glue):
            connection = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
            assert connection["extra"]["endpoint_url"] == local_glue.endpoint_url
            local_glue.create_job("nightly")
            run_id = local_glue.client().start_job_run(JobName="nightly")["JobRunId"]
            assert local_glue.client().get_job_run(JobName="nightly", RunId=run_id)["JobRun"]["JobRunState"]
            seen["glue"] = local_glue

        def test_after():
            assert "AIRFLOW_CONN_AWS_DEFAULT" not in os.environ
            with pytest.raises(RuntimeError, match="not started"):
                seen["glue"].endpoint_url
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


README_DAG = """
from airflow.sdk import DAG
from airflow_glue_runs.operators import GlueJobRunOperator

with DAG("nightly_etl", schedule=None) as dag:
    GlueJobRunOperator(task_id="etl", job_name="nightly", arguments={"--day": "{{ ds }}"}, poll_interval=0.5)
"""


@pytest.mark.slow
def test_users_dag_test_with_the_fixture(tmp_path: Path, airflow_db: Path) -> None:
    """The README's example: a user's DAG from their dags folder runs to success on the fixture with dag.test()."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "nightly_etl.py").write_text(README_DAG)
    result = run_pytest(
        tmp_path,
        """
        import sys

        def test_nightly_etl(local_glue):
            local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "1"})
            sys.path.insert(0, "dags")
            from nightly_etl import dag

            dag_run = dag.test()
            assert dag_run.state == "success"
            assert local_glue.calls()["StartJobRun"] == 1
        """,
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
