"""Packaging: the provider registers with Airflow and stays cheap to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest
from support import cli_json

import airflow_glue_runs


def test_provider_info_passes_airflow_schema() -> None:
    """get_provider_info() validates against Airflow's provider_info.schema.json and names the distribution."""
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = airflow_glue_runs.get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-glue-runs"


def test_entry_point_is_registered() -> None:
    """The installed distribution exposes get_provider_info under the apache_airflow_provider group."""
    points = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_glue_runs")]
    assert len(points) == 1
    assert points[0].load() is airflow_glue_runs.get_provider_info


def test_public_modules_import_without_aws_sdks() -> None:
    """Importing the operator, sensor, trigger and Amazon-compatible modules loads no AWS SDK.

    DAG files import the operator at parse time, and the triggerer imports the trigger class on its event loop,
    where a 0.5 s botocore import would stall every other trigger.
    """
    code = (
        "import sys, airflow_glue_runs.operators, airflow_glue_runs.sensors, airflow_glue_runs.triggers,"
        " airflow_glue_runs.event_triggers, airflow_glue_runs.amazon;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aiobotocore', 'aiohttp', 'moto', 'boto3', 'botocore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_airflow_providers_list_shows_provider(tmp_path: Path) -> None:
    """`airflow providers list` (real CLI) lists airflow-glue-runs with its version."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow_bin = Path(sys.executable).parent / "airflow"
    out = subprocess.run(
        [str(airflow_bin), "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    listed = {p["package_name"]: p["version"] for p in cli_json(out.stdout)}
    assert listed["airflow-glue-runs"] == airflow_glue_runs.__version__


def test_no_plain_threads_from_the_event_loop() -> None:
    """The package leaves the event loop only through shared_client.off_loop (asgiref), never asyncio.to_thread.

    A hook built in a plain worker thread reads its connection through the triggerer's channel from a foreign
    thread: on Airflow 3.0 that fails and takes the triggerer down (seen on the real stack).
    """
    package = Path(airflow_glue_runs.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "asyncio.to_thread(" in path.read_text() or "run_in_executor(" in path.read_text()
    ]
    assert offenders == []
