"""Fakes of the Airflow task context for operator tests that do not run a DAG (the DAG tests use real Airflow)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any


class FakeStateStore:
    """The task state store's get/set, in memory, shared between the 'tries' of a test."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        assert value is not None
        self.values[key] = value


@dataclasses.dataclass
class FakeTI:
    """The few task instance attributes the operator reads, and a record of its XCom pushes."""

    dag_id: str = "dag"
    run_id: str = "manual__2026-01-01"
    task_id: str = "glue"
    map_index: int = -1
    try_number: int = 1
    max_tries: int = 0
    pushed: list[tuple[str, Any]] = dataclasses.field(default_factory=list)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))

    def xcom(self, key: str) -> Any:
        values = [value for pushed_key, value in self.pushed if pushed_key == key]
        assert len(values) == 1, f"XCom {key!r} pushed {len(values)} times"
        return values[0]


@dataclasses.dataclass
class FakeDagRun:
    run_after: datetime = datetime(2026, 1, 1, tzinfo=UTC)


def task_context(
    ti: FakeTI | None = None, store: FakeStateStore | None = None, *, with_store: bool = True
) -> dict[str, Any]:
    """Return a context with a task instance, its DAG run and (unless ``with_store=False``) a state store."""
    context: dict[str, Any] = {"ti": ti or FakeTI(), "dag_run": FakeDagRun()}
    if with_store:
        context["task_state_store"] = store if store is not None else FakeStateStore()
    return context
