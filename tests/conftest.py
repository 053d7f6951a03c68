"""Shared fixtures: one local Glue server per test session, reset before each test that uses it.

Also a throwaway ``AIRFLOW_HOME`` for the whole session (set before any test module imports Airflow), and
``airflow_db``: an initialised Airflow metadata database (SQLite) for tests that run real DAGs (``dag.test()``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import PollStepper

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue


@pytest.fixture(scope="session")
def local_glue_server() -> Iterator[LocalGlue]:
    """Start one local Glue (moto server on 127.0.0.1, free port) for the session and always stop it."""
    from airflow_glue_runs.local_glue import LocalGlue

    server = LocalGlue().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def glue(local_glue_server: LocalGlue, monkeypatch: pytest.MonkeyPatch) -> LocalGlue:
    """Give a test an empty local Glue and point Airflow's ``aws_default`` connection at it."""
    local_glue_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_glue_server.airflow_connection())
    monkeypatch.setenv("AWS_DEFAULT_REGION", local_glue_server.region_name)
    return local_glue_server


_AIRFLOW_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Give Airflow an empty home (config, SQLite database, dags folder, logs) for this test session."""
    home = Path(tempfile.mkdtemp(prefix="airflow-glue-runs-home-"))
    (home / "dags").mkdir()
    config.stash[_AIRFLOW_HOME] = home
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(home / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's Airflow home."""
    home = config.stash.get(_AIRFLOW_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the Airflow metadata database of the session (``airflow db migrate``, once) and return AIRFLOW_HOME."""
    home = Path(os.environ["AIRFLOW_HOME"])
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return home


@pytest.fixture
def stepper(monkeypatch: pytest.MonkeyPatch) -> PollStepper:
    """Replace the poller's sleep so the test decides when each poll runs."""
    from airflow_glue_runs._internal.polling import poller

    stepper = PollStepper()
    monkeypatch.setattr(poller, "_sleep", stepper.sleep)
    return stepper


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Collect log events before Airflow's processors (its masker among them) see them."""
    from airflow_versions import capture_logs  # imports Airflow: only after pytest_configure set AIRFLOW_HOME

    with capture_logs() as captured:
        yield captured
