"""What users install: the wheel in a clean venv beside Airflow, the sdist's contents, and the ``local`` extra hint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from support import cli_json

import airflow_glue_runs
from airflow_glue_runs._internal.compat import AIRFLOW_VERSION

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SDK_MODULES = ("aiobotocore", "boto3", "botocore", "moto")


def test_local_glue_without_the_local_extra_names_the_install_command() -> None:
    """LocalGlue().start() without moto installed fails with a message naming pip install 'airflow-glue-runs[local]'."""
    code = (
        "import sys; sys.modules['moto'] = None\n"
        "from airflow_glue_runs.local_glue import LocalGlue\n"
        "try:\n    LocalGlue().start()\nexcept RuntimeError as error:\n    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert "pip install 'airflow-glue-runs[local]'" in out.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist and the wheel from this tree, as a release would."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True, capture_output=True, timeout=600
    )
    return out


@pytest.mark.slow
def test_sdist_holds_what_the_tests_need(dist: Path) -> None:
    """The sdist carries LICENSE, the tests with conftest and support modules, the e2e and example DAGs, the docs."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {
        "LICENSE",
        "Makefile",
        "setup.cfg",
        "tests/conftest.py",
        "tests/support.py",
        "tests/operator_fakes.py",
        "tests/airflow_versions.py",
        "tests/e2e/conftest.py",
        "tests/e2e/airflow_stack.py",
        "tests/e2e/postgres_server.py",
        "tests/e2e/scenarios.py",
        "constraints/airflow-3.3.txt",
        "scripts/demo.py",
        "scripts/docs_hooks.py",
        "mkdocs.yml",
        "docs/index.md",
        "docs/snippets/first_dag.py",
        "docs/snippets/testing/glue/export.py",
    }
    expected |= {str(path.relative_to(ROOT)) for path in (ROOT / "tests" / "e2e" / "dags").glob("*.py")}
    expected |= {str(path.relative_to(ROOT)) for path in (ROOT / "example_dags").glob("*.py")}
    assert expected <= names
    assert not [name for name in names if "__pycache__" in name]


@pytest.mark.slow
def test_wheel_carries_the_files_glue_jobs_use(dist: Path) -> None:
    """The wheel holds the job-side result helper users ship to Glue, the local Glue's getResolvedOptions stand-in
    for real Python shell runs, and py.typed; the sdist holds the job-result example's script and CSV."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {
        "airflow_glue_runs/glue_job_result.py",
        "airflow_glue_runs/local_glue/_job_runtime/awsglue/__init__.py",
        "airflow_glue_runs/local_glue/_job_runtime/awsglue/utils.py",
        "airflow_glue_runs/py.typed",
    } <= names
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        inside = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"example_dags/glue_scripts/count_rows.py", "example_dags/glue_data/orders.csv"} <= inside


@pytest.mark.slow
def test_wheel_in_a_clean_venv_registers_and_imports_light(dist: Path, tmp_path: Path) -> None:
    """The wheel, installed (not editable) with Airflow in a fresh venv: listed by `airflow providers list`, its
    public modules import no AWS SDK, get_provider_info() matches the installed metadata, LICENSE is in it."""
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    constraints = ROOT / "constraints" / f"airflow-{AIRFLOW_VERSION[0]}.{AIRFLOW_VERSION[1]}.txt"
    uv = str(BIN / "uv")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel), "-c", str(constraints)],
        check=True,
        timeout=900,
    )
    python = str(venv / "bin" / "python")
    check = (
        "import importlib.metadata as m, json, sys\n"
        "import airflow_glue_runs, airflow_glue_runs.operators, airflow_glue_runs.sensors, airflow_glue_runs.triggers\n"
        "dist = m.distribution('airflow-glue-runs')\n"
        "points = [ep.value for ep in dist.entry_points if ep.group == 'apache_airflow_provider']\n"
        "print(json.dumps({'sdks': sorted(n for n in sys.modules if n.split('.')[0] in sys.argv[1].split(',')),\n"
        "    'info': airflow_glue_runs.get_provider_info(), 'name': dist.metadata['Name'], 'version': dist.version,\n"
        "    'points': points, 'location': airflow_glue_runs.__file__,\n"
        "    'files': [str(f) for f in dist.files or [] if f.name == 'LICENSE']}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home")}
    report = json.loads(
        subprocess.run(
            [python, "-c", check, ",".join(SDK_MODULES)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=tmp_path,  # not this source tree, which would shadow the installed wheel
            timeout=300,
        ).stdout
    )
    assert report["sdks"] == []
    assert report["location"].startswith(str(venv))  # the installed wheel, not this source tree
    assert report["points"] == ["airflow_glue_runs:get_provider_info"]
    assert report["info"]["package-name"] == report["name"] == "airflow-glue-runs"
    assert report["info"]["versions"] == [report["version"]] == [airflow_glue_runs.__version__]
    assert report["files"], "LICENSE is not in the wheel's metadata"
    listed = subprocess.run(
        [str(venv / "bin" / "airflow"), "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    ).stdout
    providers = {p["package_name"]: p["version"] for p in cli_json(listed)}
    assert providers["airflow-glue-runs"] == report["version"]
