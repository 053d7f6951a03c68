"""What the tests need from Airflow that moved between 3.0 and 3.3, in one place, and the 3.3-only marker.

The provider's own imports that differ are in ``airflow_glue_runs._internal.compat``; these are the test harness's
(Airflow
internals the tests drive: DAG parsing, the triggerer's runner, dotted-path import).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog.testing

from airflow_glue_runs._internal.compat import AIRFLOW_VERSION

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.0, 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

try:  # Airflow 3.2+
    from airflow._shared.module_loading import import_string
except ImportError:  # Airflow 3.0, 3.1
    from airflow.utils.module_loading import import_string  # type: ignore[no-redef]

try:  # Airflow 3.1+
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # Airflow 3.0
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]

__all__ = [
    "TaskDeferred",
    "airflow_redact",
    "capture_logs",
    "dag_bag",
    "deserialize",
    "import_string",
    "needs_airflow_3_1",
    "needs_airflow_3_3",
    "serialize",
    "update_dag_parsing_results",
]

needs_airflow_3_1 = pytest.mark.skipif(
    AIRFLOW_VERSION < (3, 1),
    reason="needs Airflow 3.1+: Airflow 3.0 fails a task whose process was killed without retrying it",
)
"""Mark a test that needs a killed task process to be retried (Airflow 3.1 added that)."""

needs_airflow_3_3 = pytest.mark.skipif(
    AIRFLOW_VERSION < (3, 3), reason="needs Airflow 3.3+ (BaseTrigger.on_kill on a user's clear or mark)"
)
"""Mark a test of a feature Airflow added in 3.3; it is skipped, with this reason, on 3.0-3.2."""


class _Collect(logging.Handler):
    def __init__(self, captured: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.captured = captured

    def emit(self, record: logging.LogRecord) -> None:
        self.captured.append({"event": record.getMessage(), "log_level": record.levelname.lower()})


@contextlib.contextmanager
def capture_logs() -> Iterator[list[dict[str, Any]]]:
    """Collect what the provider logs, as structlog events: Airflow 3.1+ loggers are structlog's (out of caplog's
    reach), Airflow 3.0's task and trigger loggers are stdlib ones (collected from the root logger)."""
    handler = _Collect([])
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with structlog.testing.capture_logs() as captured:
            handler.captured = captured
            yield captured
    finally:
        root.removeHandler(handler)


def log_messages(captured: list[dict[str, Any]], level: str | None = None) -> list[str]:
    """Return the messages of captured log events, %-formatted as the logger would, optionally of one level."""
    out = []
    for entry in captured:
        if level is None or entry.get("log_level") == level:
            args = entry.get("positional_args")
            out.append(entry["event"] % args if args else str(entry["event"]))
    return out


def airflow_redact() -> Any:
    """Return Airflow's ``redact`` (``airflow.sdk._shared`` from 3.2, the execution-time masker before)."""
    try:
        from airflow.sdk._shared.secrets_masker import redact
    except ImportError:  # Airflow 3.0, 3.1
        from airflow.sdk.execution_time.secrets_masker import redact  # type: ignore[no-redef]
    return redact


def dag_bag(folder: Any) -> Any:
    """Parse ``folder`` as the DAG processor would (``DagBag`` moved to ``airflow.dag_processing`` in 3.1)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=folder, safe_mode=False)


def update_dag_parsing_results(dags: list[Any], session: Any) -> None:
    """Store parsed DAGs as the DAG processor would (3.1 added ``parse_duration`` to the call)."""
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db

    arguments: dict[str, Any] = {
        "bundle_name": "dags-folder",
        "bundle_version": None,
        "dags": dags,
        "import_errors": {},
        "warnings": set(),
        "session": session,
    }
    if "parse_duration" in inspect.signature(update_dag_parsing_results_in_db).parameters:
        arguments["parse_duration"] = None
    update_dag_parsing_results_in_db(**arguments)
