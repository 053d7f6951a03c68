"""The pytest plugin of airflow-glue-runs: a ``local_glue`` fixture for users' own DAG tests.

pytest loads it through the ``pytest11`` entry point wherever airflow-glue-runs is installed, so this module
imports nothing but pytest and the standard library; the fixture needs the ``local`` extra (moto's server) and
says so when it is missing::

    def test_nightly(local_glue):
        local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "1"})
        assert dag.test().state == "success"
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

__all__ = ["LOCAL_EXTRA_MISSING", "local_glue"]

LOCAL_EXTRA_MISSING = (
    "The local_glue fixture needs moto's server, which is not installed (missing: {missing}). "
    "Install the local extra: pip install 'airflow-glue-runs[local]'"
)
_LOCAL_EXTRA_MODULES = ("moto", "werkzeug", "flask")


def require_local_extra() -> None:
    """Fail the test with a clear message when the ``local`` extra (moto's server) is not installed."""
    missing = [name for name in _LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(LOCAL_EXTRA_MISSING.format(missing=", ".join(missing)), pytrace=False)


@pytest.fixture
def local_glue(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalGlue]:
    """Start a local Glue for one test, point Airflow's ``aws_default`` connection at it, and stop it after.

    The connection is set as ``AIRFLOW_CONN_AWS_DEFAULT`` (and ``AWS_DEFAULT_REGION``) for the test only. The
    local Glue starts empty: create the jobs the DAG uses with ``local_glue.create_job(...)``. A ``pythonshell``
    job runs its real script: ``uri = local_glue.upload_script(bucket, key, Path("job.py"))``, then
    ``local_glue.create_job(name, command="pythonshell", script_location=uri)`` (docs: "Running your Python
    shell job locally"); scripts still running when the test ends are killed. Run ends go to EventBridge as
    "Glue Job State Change" events: ``local_glue.create_event_queue()`` returns an SQS queue that receives them,
    ``local_glue.set_event_faults(...)`` drops, duplicates or delays them (docs/local-glue-events.md).
    """
    require_local_extra()
    from airflow_glue_runs.local_glue import LocalGlue

    with LocalGlue() as glue:
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", glue.airflow_connection())
        monkeypatch.setenv("AWS_DEFAULT_REGION", glue.region_name)
        yield glue
