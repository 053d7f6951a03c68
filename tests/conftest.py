"""Shared fixtures: one local Glue server per test session, reset before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

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
