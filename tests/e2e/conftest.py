"""Fixtures of the end-to-end tests: one local Glue and one real Airflow stack per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from airflow_stack import E2E_DAGS, ROOT, AirflowStack, running_stack
from support import load_demo

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def stack_glue() -> Iterator[LocalGlue]:
    """Start a local Glue of the module's own (127.0.0.1, free port) that the stack's processes reach over HTTP."""
    from airflow_glue_runs.local_glue import LocalGlue

    with LocalGlue() as glue:
        # The example DAGs' jobs: the daily DAG is scheduled and starts a run as soon as it is parsed.
        for name, spec in load_demo().DEMO_JOBS.items():
            glue.create_job(name, **spec)
        # dags/e2e_glue_asset_watcher.py watches it from the stack's start; the test starts its runs with boto3.
        glue.create_job("e2e-watched", max_concurrent_runs=5, default_arguments={"--local-glue-duration": "600"})
        yield glue


@pytest.fixture(scope="module")
def stack(stack_glue: LocalGlue, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """Start one Airflow stack for the module with the example DAGs and the e2e DAGs; always stop it."""
    dag_files = [*sorted((ROOT / "example_dags").glob("*.py")), *sorted(E2E_DAGS.glob("*.py"))]
    with running_stack(tmp_path_factory.mktemp("airflow-stack"), dag_files, stack_glue) as stack:
        yield stack


@pytest.fixture
def report_stack_on_failure(request: pytest.FixtureRequest, stack: AirflowStack) -> Iterator[AirflowStack]:
    """Give the test the stack; if the test fails, print the tail of every process's log."""
    yield stack
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(stack.log_tails())
